"""`pixseek roots`: a moved root keeps every vector, a vanished one is offline (not missing), a removed one is gone."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import indexer.pipeline.run
import indexer.sources.reader
from indexer.library import library_roots, library_status, move_library_root, remove_library_root
from indexer.pipeline import IndexSettings, index
from indexer.sources import synthetic
from search import Searcher
from ui.cli.main import app

SETTINGS = IndexSettings(workers=1, batch_size=64)
QUERIES = ("a red circle", "a blue square", "a green triangle")


def make_folder(folder: Path, n: int, seed: int = 11) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        synthetic.write(synthetic.sample(i, seed), folder, i)
    return folder


def results(library: Path, root: Path) -> list[list[tuple[str, float]]]:
    """Each query's hits as (path relative to root, score)."""
    searcher = Searcher(library)
    return [
        [(str(Path(h.path).relative_to(root)), round(h.score, 6)) for h in searcher.search(q, k=25).hits]
        for q in QUERIES
    ]


def forbid_model_and_decoder(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the model or the decoder was used")

    monkeypatch.setattr(indexer.pipeline.run, "load_encoder", forbidden)
    monkeypatch.setattr(indexer.sources.reader, "decode_bytes", forbidden)


def test_a_moved_1000_image_root_reindexes_with_no_model_call_and_no_decode(tmp_path, micro_model, monkeypatch):
    old, lib = make_folder(tmp_path / "photos", 1000), tmp_path / "lib"
    assert index([old], lib, str(micro_model), SETTINGS).indexed == 1000
    before = results(lib, old)
    new = tmp_path / "drive" / "holiday-pictures"
    new.parent.mkdir()
    old.rename(new)  # the drive mounted elsewhere

    moved = move_library_root(lib, old, new)
    assert (moved.files, moved.found) == (1000, 1000)
    forbid_model_and_decoder(monkeypatch)
    summary = index([new], lib, None, SETTINGS)
    assert (summary.unchanged, summary.indexed, summary.moved, summary.missing) == (1000, 0, 0, 0)
    assert results(lib, new) == before
    assert [r.path for r in library_roots(lib)] == [str(new)]
    # The keyword index follows the root: the new folder's name finds its files.
    hits = Searcher(lib).search(keywords="holiday", k=5).hits
    assert len(hits) == 5 and all(h.path.startswith(str(new)) for h in hits)


def test_a_vanished_root_is_offline_not_missing_until_it_is_back(tmp_path, micro_model):
    folder, lib = make_folder(tmp_path / "photos", 6), tmp_path / "lib"
    index([folder], lib, str(micro_model), SETTINGS)
    folder.rename(tmp_path / "unplugged")
    folder.mkdir()  # the empty mount point of a drive that is not plugged in
    summary = index([folder], lib, None, SETTINGS)
    assert summary.missing == 0 and any("offline" in w for w in summary.warnings)
    info = library_status(lib)
    assert info["counts"]["files"] == {"ok": 6, "failed": 0, "missing": 0}
    assert info["offline"] == [{"path": str(folder), "files": 6}]
    out = CliRunner().invoke(app, ["status", "-l", str(lib)]).output
    assert f"offline  {folder}: cannot be reached; its 6 files are kept" in out
    folder.rmdir()
    (tmp_path / "unplugged").rename(folder)
    assert library_status(lib)["offline"] == []
    assert index([folder], lib, None, SETTINGS).unchanged == 6


def test_a_removed_root_leaves_the_catalog_and_the_searches(tmp_path, micro_model):
    keep, drop, lib = make_folder(tmp_path / "keep", 4), make_folder(tmp_path / "drop", 5, seed=12), tmp_path / "lib"
    index([keep, drop], lib, str(micro_model), SETTINGS)
    removed = remove_library_root(lib, drop)
    assert (removed.files, removed.images) == (5, 5)
    paths = {h.path for h in Searcher(lib).search("a red circle", k=50).hits}
    assert paths == {str(p) for p in keep.iterdir()}
    assert library_status(lib)["roots"] == [str(keep)] and all(p.exists() for p in drop.iterdir())


def test_roots_commands_list_move_and_refuse_with_one_line(tmp_path, micro_model):
    folder, lib = make_folder(tmp_path / "photos", 3), tmp_path / "lib"
    index([folder], lib, str(micro_model), SETTINGS)
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["roots", "list", "-l", str(lib), "--json"]).output)
    assert listed == [{"path": str(folder), "online": True, "ok": 3, "failed": 0, "missing": 0}]
    wrong = runner.invoke(app, ["roots", "move", str(tmp_path / "nope"), str(folder), "-l", str(lib)])
    assert wrong.exit_code == 2
    assert wrong.output.strip() == (
        f"error: {tmp_path / 'nope'} is not a root of this library (its roots: {folder}); see pixseek roots list"
    )
    not_there = runner.invoke(app, ["roots", "move", str(folder), str(tmp_path / "absent"), "-l", str(lib)])
    assert not_there.exit_code == 2 and "not a folder" in not_there.output
    folder.rename(tmp_path / "moved")
    ok = runner.invoke(app, ["roots", "move", str(folder), str(tmp_path / "moved"), "-l", str(lib)])
    assert ok.exit_code == 0 and "3 files kept, 3 found there" in ok.output
    gone = runner.invoke(app, ["roots", "remove", str(tmp_path / "moved"), "-l", str(lib)])
    assert gone.exit_code == 0 and "3 files and 3 images forgotten" in gone.output
