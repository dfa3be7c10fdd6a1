"""`pixseek index --engine ray`: the read/decode and encode stages on Ray Data, in resumable parts.

The driver (this process) scans and plans exactly as the single-process path does, then cuts the files
to index into parts. Each part runs through a Ray Data pipeline: a pool of reader actors reads,
hashes and decodes (indexer.sources.reader.read_one: the same code, limits and one-line reasons as on one
machine), then a pool of encoder actors (one model load each; on a GPU when asked and Ray has one)
embeds the decoded crops. The part's rows (file, content hash, metadata, vector) land as one Parquet
file under <library>/ray-parts/, written atomically; the driver writes them into the catalog through
the usual writer, then deletes the file. A run killed in between leaves complete part files behind;
the next run ingests them first, so no finished part is read or embedded twice. Members of WebDataset
tar shards travel as files do (relpath `<tar>::<member>`, with their offset, caption and metadata in the
`member` column), each read by offset from its tar by the reader actor that gets it.

Ray is an optional dependency (`pip install pixseek[ray]`), imported only here.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import numpy as np

from indexer.errors import RuntimeUnavailable
from indexer.library import get_or_add_root, session
from indexer.sources import Decoded, FoundFile, ImageMeta, Member, Outcome, ReadSettings, reader_for

from .batch_size import given as given_batch_size
from .run import IndexRun

PART_DIR = "ray-parts"
PART_FILES = 2000  # files per part: the unit of resumption
WRITE_BATCH = 256  # rows per catalog transaction when ingesting a part


@dataclasses.dataclass(frozen=True)
class RaySettings:
    address: str | None = None  # a running cluster ("auto", "ray://host:10001"); None starts a local one
    readers: int = 2  # reader actors (CPU)
    encoders: int = 1  # encoder actors (each loads the model once)
    gpus_per_encoder: float = 0.0


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise RuntimeUnavailable("ray", "install pixseek[ray]") from exc
    return ray


class _Reader:
    """A Ray actor: read_one over a batch of files, with the run's known hashes and read settings."""

    def __init__(self, known: frozenset[str], settings: ReadSettings):
        self.read_one, self.size = reader_for(known, settings), settings.size

    def __call__(self, batch: dict) -> dict:
        outcomes = [self.read_one(_file(batch, i)) for i in range(len(batch["relpath"]))]
        return _outcome_columns(outcomes, self.size)


class _Encoder:
    """A Ray actor: the model, loaded once, embedding the decoded crops of each batch."""

    def __init__(self, model_path: str, runtime: str, device: str, dtype: str, batch_size: int):
        from indexer.model import load_encoder

        self.encoder = load_encoder(model_path, runtime=runtime, device=device, dtype=dtype, batch_size=batch_size)

    def __call__(self, batch: dict) -> dict:
        has = batch.pop("has_crop").astype(bool)
        crops = batch.pop("crop")
        vectors = np.zeros((len(has), self.encoder.dim), np.float32)
        if has.any():
            vectors[has] = self.encoder.encode_pixels(np.ascontiguousarray(crops[has]))
        batch["vector"] = vectors
        return batch


def _file(batch: dict, i: int) -> FoundFile:
    problem = str(batch["problem"][i]) or None
    root, relpath = Path(str(batch["root"][i])), str(batch["relpath"][i])
    member = _member(str(batch["member"][i]))
    return FoundFile(root, relpath, int(batch["size"][i]), int(batch["mtime_ns"][i]), problem, member)


def _member_json(member: Member | None) -> str:
    """A tar member's offset, size, caption and metadata as one string column ("" for a plain file)."""
    return json.dumps(dataclasses.asdict(member)) if member is not None else ""


def _member(text: str) -> Member | None:
    return Member(**json.loads(text)) if text else None


def _outcome_columns(outcomes: list[Outcome], size: int) -> dict:
    crops = np.zeros((len(outcomes), size, size, 3), np.uint8)
    for i, o in enumerate(outcomes):
        if o.decoded is not None:
            crops[i] = o.decoded.crop
    return {
        "root": np.array([str(o.file.root) for o in outcomes], object),
        "relpath": np.array([o.file.relpath for o in outcomes], object),
        "size": np.array([o.file.size for o in outcomes], np.int64),
        "mtime_ns": np.array([o.file.mtime_ns for o in outcomes], np.int64),
        "member": np.array([_member_json(o.file.member) for o in outcomes], object),
        "content_hash": np.array([o.content_hash or "" for o in outcomes], object),
        "error": np.array([o.error or "" for o in outcomes], object),
        "meta": np.array([_meta_json(o.decoded) for o in outcomes], object),
        "has_crop": np.array([o.decoded is not None for o in outcomes]),
        "crop": crops,
    }


def _meta_json(decoded: Decoded | None) -> str:
    if decoded is None:
        return ""
    meta = dataclasses.asdict(decoded.meta)
    meta["taken_at"] = meta["taken_at"].isoformat() if meta["taken_at"] else None
    return json.dumps({"size": decoded.size, **meta})


def _file_records(files: list[FoundFile]) -> list[dict]:
    return [
        {
            **{"root": str(f.root), "relpath": f.relpath, "size": f.size, "mtime_ns": f.mtime_ns},
            **{"problem": f.problem or "", "member": _member_json(f.member)},
        }
        for f in files
    ]


def run_part(ray, files: list[FoundFile], known: frozenset[str], read: ReadSettings, encode: tuple, rs: RaySettings):
    """One part through Ray Data; returns its rows as a pyarrow Table (vectors as fixed-size lists)."""
    import pyarrow as pa

    ds = ray.data.from_items(_file_records(files))
    ds = ds.map_batches(_Reader, fn_constructor_args=(known, read), batch_size=32, concurrency=rs.readers)
    ds = ds.map_batches(
        _Encoder, fn_constructor_args=encode, batch_size=64, concurrency=rs.encoders, num_gpus=rs.gpus_per_encoder
    )
    table = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
    flat = pa.array(vectors.reshape(-1))
    return table.set_column(
        table.schema.get_field_index("vector"), "vector", pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    )


def write_part(table, path: Path) -> Path:
    """Write atomically: a part file exists only once complete."""
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def read_part(path: Path) -> list[tuple[Outcome, np.ndarray | None]]:
    """The (outcome, vector) items a part file holds, as the writer takes them."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows, dim = table.to_pydict(), table.schema.field("vector").type.list_size
    vectors = np.asarray(table.column("vector").combine_chunks().flatten(), np.float32).reshape(-1, dim)
    return [_item(rows, i, vectors[i]) for i in range(table.num_rows)]


def _item(rows: dict, i: int, vector: np.ndarray) -> tuple[Outcome, np.ndarray | None]:
    member = _member(rows["member"][i]) if "member" in rows else None  # parts written before tar input had none
    file = FoundFile(Path(rows["root"][i]), rows["relpath"][i], rows["size"][i], rows["mtime_ns"][i], member=member)
    decoded = None
    if rows["meta"][i]:
        meta = json.loads(rows["meta"][i])
        size = meta.pop("size")
        meta["taken_at"] = datetime.fromisoformat(meta["taken_at"]) if meta["taken_at"] else None
        decoded = Decoded(rows["content_hash"][i], size, ImageMeta(**meta), np.zeros((0, 0, 3), np.uint8))
    outcome = Outcome(file, rows["content_hash"][i] or None, decoded, rows["error"][i] or None)
    return outcome, (vector if decoded is not None else None)


def ingest(run: IndexRun, path: Path, root_ids: dict[str, int]) -> set[tuple[str, str]]:
    """Write a part file's rows into the catalog (batch by batch), then delete it; returns their (root, relpath)."""

    items = read_part(path)
    for root in {str(o.file.root) for o, _ in items} - set(root_ids):
        with session(run.db, write=True) as s:  # a leftover part of a root this run did not name
            root_ids[root] = get_or_add_root(s, root).id
            s.commit()
    for start in range(0, len(items), WRITE_BATCH):
        run.write(root_ids, items[start : start + WRITE_BATCH])
    run.state.images += sum(v is not None for _, v in items)
    path.unlink()
    return {(str(o.file.root), o.file.relpath) for o, _ in items}


def ray_run(
    run: IndexRun, todo: list[FoundFile], root_ids: dict[str, int], read: ReadSettings, rs: RaySettings
) -> None:
    """The Ray path of an index run (indexer.pipeline): leftover parts first, then the todo in parts."""
    ray = _ray()
    part_dir = run.library / PART_DIR
    part_dir.mkdir(exist_ok=True)
    done = set()
    for leftover in sorted(part_dir.glob("*.parquet")):
        with run.timed("write"):
            done |= ingest(run, leftover, root_ids)
    todo = [f for f in todo if (str(f.root), f.relpath) not in done]
    run.state.total = len(todo)
    if not todo:
        return
    s = run.settings
    encode = (str(run.ref.path), s.runtime, s.device, s.dtype, given_batch_size(s.batch_size))
    started = not ray.is_initialized()
    if started:
        ray.init(address=rs.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        known = run.known_hashes()
        for number, start in enumerate(range(0, len(todo), PART_FILES)):
            files = todo[start : start + PART_FILES]
            with run.timed("ray"):
                table = run_part(ray, files, known, read, encode, rs)
            path = write_part(table, part_dir / f"{run.run_id:06d}-{number:05d}.parquet")
            with run.timed("write"):
                ingest(run, path, root_ids)
            run.state.done += len(files)
            run.report()
    finally:
        if started:
            ray.shutdown()
