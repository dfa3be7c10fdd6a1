"""`pixseek merge`: two libraries of overlapping folders become the library indexing all of them would make."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

import indexer.pipeline.run
import indexer.sources.reader
from indexer.library import library_status, merge, move_library_root, use_database
from indexer.pipeline import IndexSettings, index
from indexer.sources import synthetic
from search import Searcher
from ui.cli.main import app

SETTINGS = IndexSettings(workers=0, batch_size=16)
QUERIES = ("a red circle", "a small blue square", "two green triangles")


def make_folder(folder: Path, start: int, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        synthetic.write(synthetic.sample(i, 21), folder, i)
    return folder


def shape(library: Path) -> dict:
    """What a user sees of a library: roots, counts (files by status, images, photos, copies, vectors), searches."""
    info = library_status(library)
    searcher = Searcher(library)
    searches = [[(h.path, round(h.score, 5)) for h in searcher.search(q, k=30).hits] for q in QUERIES]
    return {"roots": info["roots"], "counts": info["counts"], "searches": searches}


def test_two_overlapping_libraries_merge_into_the_library_made_from_scratch(tmp_path, micro_model, monkeypatch):
    x, y, z = (make_folder(tmp_path / name, start, 12) for name, start in (("x", 0), ("y", 100), ("z", 200)))
    shutil.copy(next(x.iterdir()), z / "copy-of-x.png")  # the same bytes in both libraries: joined
    (y / "broken.jpg").write_bytes(b"not an image")
    model = str(micro_model)
    index([x, y], tmp_path / "a", model, SETTINGS)
    index([y, z], tmp_path / "b", model, SETTINGS)
    index([x, y, z], tmp_path / "scratch", model, SETTINGS)

    def forbidden(*args, **kwargs):
        raise AssertionError("the model or the decoder was used")

    monkeypatch.setattr(indexer.pipeline.run, "load_encoder", forbidden)
    monkeypatch.setattr(indexer.sources.reader, "decode_bytes", forbidden)
    summary = merge(tmp_path / "a", tmp_path / "b")
    assert (summary.roots, summary.files, summary.images) == (1, 13, 12)
    assert summary.joined == 13  # y's 12 images, and x's image that z holds a copy of
    merged, scratch = shape(tmp_path / "a"), shape(tmp_path / "scratch")
    assert merged["counts"]["files"] == {"ok": 37, "failed": 1, "missing": 0}
    assert merged == scratch
    assert index([x, y, z], tmp_path / "a", None, SETTINGS).unchanged == 37  # nothing to do after a merge


def test_merge_refuses_libraries_of_different_models_with_one_line(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 0, 2)
    index([folder], tmp_path / "micro", str(micro_model), SETTINGS)
    index([folder], tmp_path / "tiny", "tiny-shapes", SETTINGS)
    before = library_status(tmp_path / "micro")["counts"]
    result = CliRunner().invoke(app, ["merge", str(tmp_path / "tiny"), "-l", str(tmp_path / "micro")])
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith(f"error: {tmp_path / 'tiny'} was indexed with tiny-shapes (") and "\n" not in line
    assert "vectors of two models cannot be mixed" in line
    assert library_status(tmp_path / "micro")["counts"] == before  # nothing was written
    itself = CliRunner().invoke(app, ["merge", str(tmp_path / "micro"), "-l", str(tmp_path / "micro")])
    assert itself.exit_code == 2 and "is this library" in itself.output


def test_merge_into_a_new_library_takes_the_others_model_and_prints_json(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 0, 3)
    index([folder], tmp_path / "old", str(micro_model), SETTINGS)
    result = CliRunner().invoke(app, ["merge", str(tmp_path / "old"), "-l", str(tmp_path / "new"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"roots": 1, "files": 3, "updated": 0, "images": 3, "joined": 0, "vectors": 3}
    assert shape(tmp_path / "new") == shape(tmp_path / "old")


def test_a_sqlite_library_merges_into_a_postgresql_one_whose_root_then_moves(tmp_path, micro_model, postgres_url):
    folder = make_folder(tmp_path / "photos", 0, 4)
    index([folder], tmp_path / "old", str(micro_model), SETTINGS)
    use_database(tmp_path / "pg", postgres_url)
    assert merge(tmp_path / "pg", tmp_path / "old").vectors == 4
    assert shape(tmp_path / "pg") == shape(tmp_path / "old")
    moved = tmp_path / "summer-trip"
    folder.rename(moved)
    assert move_library_root(tmp_path / "pg", folder, moved).found == 4
    hits = Searcher(tmp_path / "pg").search(keywords="summer", k=10).hits
    assert sorted(h.path for h in hits) == sorted(str(p) for p in moved.iterdir())
