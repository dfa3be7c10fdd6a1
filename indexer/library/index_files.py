"""A saved vector index on disk: manifest, index file and refine store, read and verified, written atomically.

In `vectors/<model-key>/`:
    index.faiss            the FAISS index; the ids it holds are row numbers of the refine store
    refine-<gen>.bf16      (rows, d) bfloat16 copy of every vector, memory-mapped
    refine_ids-<gen>.i64   (rows,) int64 catalog image id of each row
    manifest.json          parameters, counts, catalog_version, size and sha256 of index.faiss

Why a memory-mapped store rather than a `fetch(ids)` callback into the catalog: re-ranking reads
k * refine_factor scattered vectors per query, which a page-cached memmap serves in microseconds and a
database in milliseconds; retraining, filtered exact search and range search need the vectors too, and
the index stays self-contained. It lives in the page cache, not in the index's RAM. bfloat16 rather
than float16: widening it to float32 is a 16-bit shift, 10x faster than numpy's float16 conversion
(0.11 vs 1.1 ms for 640 x 1024, which was most of a query's time at 1M), for cosines within ~1e-4 at
d=1024 (8-bit mantissa; errors average out over d). FAISS ids are store rows, so a hit addresses its
exact vector with no id lookup.

Nothing touches the files before save() (a reader may catch up in memory beside the writer). save()
appends new rows past the saved ones, or, when rows were removed, writes a compacted new generation;
then index.faiss, then manifest.json (rows, generation, index size and sha256), each through a temp
file, fsync and rename. A crash leaves either the old pair, which ignores any torn tail past its row
count, or a manifest that disagrees with index.faiss, which open() reports as IndexCorrupt.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import faiss
import numpy as np

from indexer.errors import IndexCorrupt

from .index_params import IndexParams
from .refine_store import RefineStore
from .topk import Rows

INDEX_FILE, MANIFEST_FILE = "index.faiss", "manifest.json"


FORMAT = 2  # 2: bfloat16 refine store


def read_manifest(path: Path) -> dict | None:
    try:
        return json.loads((path / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(str(path / MANIFEST_FILE), f"unreadable manifest ({exc})") from exc


def parse_manifest(m: dict, d: int, path: Path) -> tuple[IndexParams, dict]:
    try:
        params = IndexParams(**{f: m[f] for f in IndexParams.__dataclass_fields__})
        meta = {f: m[f] for f in ("trained_on", "created", "updated", "catalog_version", "flat_threshold")}
        ok = m["format"] == FORMAT and m["d"] == d
    except (KeyError, TypeError) as exc:
        raise IndexCorrupt(str(path / MANIFEST_FILE), f"manifest lacks {exc}") from exc
    if not ok:
        raise IndexCorrupt(str(path), f"manifest format {m['format']}, d={m['d']}; expected {FORMAT}, d={d}")
    return params, meta


def read_saved(path: Path, d: int, manifest: dict) -> tuple[RefineStore, faiss.Index]:
    index = read_index(path, manifest)
    store = RefineStore.open(path, d, manifest["store_generation"], manifest["store_rows"])
    if index.ntotal != manifest["ntotal"] or store.rows != index.ntotal:
        raise IndexCorrupt(str(path), f"index has {index.ntotal} vectors, store {store.rows}")
    return store, index


def read_index(path: Path, manifest: dict) -> faiss.Index:
    try:
        blob = (path / INDEX_FILE).read_bytes()
    except OSError as exc:
        raise IndexCorrupt(str(path / INDEX_FILE), f"unreadable ({exc})") from exc
    if len(blob) != manifest.get("index_bytes") or hashlib.sha256(blob).hexdigest() != manifest.get("index_sha256"):
        raise IndexCorrupt(str(path / INDEX_FILE), "does not match the manifest (a save was interrupted)")
    return faiss.deserialize_index(np.frombuffer(blob, np.uint8))


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync, rename over path, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also keep a half-written copy
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def renumber_rows(index: faiss.Index, remap: Rows) -> None:
    """Rewrite the row ids FAISS holds after compaction (remap[old] = new), in place."""
    if isinstance(index, faiss.IndexIDMap):
        faiss.copy_array_to_vector(remap[faiss.vector_to_array(index.id_map)], index.id_map)
        return
    invlists = faiss.extract_index_ivf(index).invlists
    for lst in range(invlists.nlist):
        n = invlists.list_size(lst)
        if n:
            ids = faiss.rev_swig_ptr(invlists.get_ids(lst), n)
            ids[:] = remap[ids]
