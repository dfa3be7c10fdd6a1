"""`pixseek index --engine ray` on a local Ray cluster: the same catalog and vectors as the single-process path."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from indexer.library.catalog import open_catalog, session
from indexer.library.sync import fetch_vectors
from indexer.library.tables import Embedding, File, Image
from indexer.pipeline import ray_engine
from indexer.sources import synthetic
from ui.cli.main import app

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


def make_folder(folder, n: int):
    folder.mkdir()
    for i in range(n):
        synthetic.write(synthetic.sample(i, 21), folder, i)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    first = sorted(folder.glob("00000.*"))[0]
    (folder / f"copy{first.suffix}").write_bytes(first.read_bytes())  # same content under a second name
    return folder


def index_with(engine: str, folder, library, model) -> dict:
    args = ["index", str(folder), "-l", str(library), "-m", str(model), "--workers", "1", "--engine", engine, "--json"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_hash(library, dim: int) -> dict[str, np.ndarray]:
    engine = open_catalog(library)
    with session(engine) as s:
        rows = s.execute(select(Image.content_hash, Embedding.image_id).join(Embedding)).all()
    vectors = fetch_vectors(engine, 1, dim)(np.array([i for _, i in rows]))
    return {h: v for (h, _), v in zip(rows, vectors, strict=True)}


def files(library) -> set[tuple[str, str, str | None]]:
    with session(open_catalog(library)) as s:
        return set(s.execute(select(File.relpath, File.status, File.error)).all())


def test_ray_engine_gives_the_same_catalog_and_vectors_as_the_single_process_path(tmp_path, micro_model, local_ray):
    folder = make_folder(tmp_path / "photos", 40)
    ray_summary = index_with("ray", folder, tmp_path / "ray-lib", micro_model)
    local_summary = index_with("local", folder, tmp_path / "local-lib", micro_model)
    for key in ("indexed", "duplicates", "failed", "unchanged"):
        assert ray_summary[key] == local_summary[key], key
    assert ray_summary["failed"] == 1 and ray_summary["duplicates"] == 1
    assert files(tmp_path / "ray-lib") == files(tmp_path / "local-lib")
    dim = json.loads(CliRunner().invoke(app, ["status", "-l", str(tmp_path / "ray-lib"), "--json"]).stdout)["model"]
    a, b = by_hash(tmp_path / "ray-lib", dim["dim"]), by_hash(tmp_path / "local-lib", dim["dim"])
    assert a.keys() == b.keys() and len(a) == 40
    cosines = [float(a[h] @ b[h]) for h in a]
    assert min(cosines) >= 0.9999
    assert not list((tmp_path / "ray-lib" / ray_engine.PART_DIR).glob("*"))  # every part ingested
    again = index_with("ray", folder, tmp_path / "ray-lib", micro_model)
    assert (again["indexed"], again["unchanged"] + again["unreadable"]) == (0, len(list(folder.iterdir())))
    assert again["unreadable"] == 1


def test_a_part_left_by_a_killed_run_is_ingested_first_and_not_embedded_again(
    tmp_path, micro_model, local_ray, monkeypatch
):
    folder = make_folder(tmp_path / "photos", 12)
    library = tmp_path / "lib"
    real_ingest = ray_engine.ingest

    def killed(run, path, root_ids):
        raise KeyboardInterrupt  # the run dies after the part file is written, before it is ingested

    monkeypatch.setattr(ray_engine, "ingest", killed)
    with pytest.raises(KeyboardInterrupt):
        from indexer.pipeline.indexing import index
        from indexer.pipeline.run import IndexSettings

        index([folder], library, str(micro_model), IndexSettings(workers=1, engine="ray"))
    parts = list((library / ray_engine.PART_DIR).glob("*.parquet"))
    assert len(parts) == 1
    monkeypatch.setattr(ray_engine, "ingest", real_ingest)
    monkeypatch.setattr(ray_engine, "run_part", lambda *a, **k: pytest.fail("a finished part was embedded again"))
    summary = index_with("ray", folder, library, micro_model)
    assert summary["indexed"] == 12 and not list((library / ray_engine.PART_DIR).glob("*"))


def make_shard(tmp_path, n: int):
    """A WebDataset shard of make_folder's files (a broken one and a copy included), each with a .txt caption."""
    folder = make_folder(tmp_path / "photos", n)
    shard = tmp_path / "shard-00000.tar"
    with tarfile.open(shard, "w") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
            caption = f"caption of {path.stem}".encode()
            info = tarfile.TarInfo(f"{path.stem}.txt")
            info.size = len(caption)
            tar.addfile(info, io.BytesIO(caption))
    return shard


def samples(library) -> set[tuple[str, str | None]]:
    with session(open_catalog(library)) as s:
        return set(s.execute(select(File.relpath, File.caption)).all())


def test_ray_engine_indexes_a_tar_shard_as_the_single_process_path_does(tmp_path, micro_model, local_ray):
    shard = make_shard(tmp_path, 16)
    ray_summary = index_with("ray", shard, tmp_path / "ray-lib", micro_model)
    local_summary = index_with("local", shard, tmp_path / "local-lib", micro_model)
    assert (ray_summary["indexed"], ray_summary["duplicates"], ray_summary["failed"]) == (16, 1, 1)
    assert (local_summary["indexed"], local_summary["duplicates"], local_summary["failed"]) == (16, 1, 1)
    assert files(tmp_path / "ray-lib") == files(tmp_path / "local-lib")
    assert samples(tmp_path / "ray-lib") == samples(tmp_path / "local-lib")
    for relpath, caption in samples(tmp_path / "ray-lib"):
        assert caption == "caption of " + Path(relpath.split("::")[1]).stem
    a, b = by_hash(tmp_path / "ray-lib", 16), by_hash(tmp_path / "local-lib", 16)
    assert a.keys() == b.keys() and len(a) == 16
    assert min(float(a[h] @ b[h]) for h in a) >= 0.9999
    again = index_with("ray", shard, tmp_path / "ray-lib", micro_model)
    assert (again["indexed"], again["unchanged"], again["unreadable"]) == (0, 17, 1)
