"""`pixseek dedup --apply/--undo/--delete` and search.actions on real files, and path safety."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from indexer.library.catalog import open_catalog, session
from indexer.library.tables import Action, File
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources.synthetic import photo, write_copies
from search.actions import DeleteNotConfirmed, apply, undo
from search.dedup import find_groups
from search.safe_paths import UnsafePath, inside
from ui.cli.main import app

runner = CliRunner()


@pytest.fixture
def library(tmp_path, micro_model):
    """Two photos, each with a q30 JPEG and a half-size copy, one in a sub-folder."""
    root = tmp_path / "photos"
    for name in ("astronaut", "coffee"):
        write_copies(photo(name), root / name, name, ("resize",))
        photo(name).convert("RGB").save(root / name / f"{name}_q30.jpg", quality=30)
    index([root], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    return tmp_path / "lib", root


def _dedup(lib: Path, *args: str):
    return runner.invoke(app, ["dedup", "--library", str(lib), *args])


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dry_run_lists_each_group_with_tier_and_keeper_and_changes_nothing(library):
    lib, root = library
    before = _files(root)
    result = _dedup(lib)
    assert result.exit_code == 0, result.output
    assert "group 1 near-identical" in result.output and "keep " in result.output
    assert "2 groups; 6 files could go" in result.output and "dry run" in result.output
    assert _files(root) == before


def test_json_and_csv_reports_name_every_member_and_the_keeper(library, tmp_path):
    lib, root = library
    result = _dedup(lib, "--json", "--csv", str(tmp_path / "groups.csv"))
    groups = json.loads(result.output)
    assert [g["tier"] for g in groups] == ["near-identical"] * 2
    assert groups[0]["keep"]["path"] == str(root / "astronaut" / "astronaut.png")
    assert {len(g["members"]) for g in groups} == {4}
    rows = list(csv.DictReader(open(tmp_path / "groups.csv")))
    assert len(rows) == 8 and sum(r["role"] == "keep" for r in rows) == 2


def test_quarantine_moves_the_others_keeping_their_paths_and_undo_puts_them_back(library):
    lib, root = library
    before = _files(root)
    result = _dedup(lib, "--apply", "quarantine")
    assert "quarantined 6 files (batch 1)" in result.output, result.output
    assert sorted(_files(root)) == ["astronaut/astronaut.png", "coffee/coffee.png"]
    moved = lib / "quarantine" / Path(*root.parts[1:]) / "coffee" / "coffee_q30.jpg"
    assert moved.read_bytes() == before["coffee/coffee_q30.jpg"]
    assert "restored 6 files" in _dedup(lib, "--undo").output
    assert _files(root) == before and not any(p.is_file() for p in (lib / "quarantine").rglob("*"))


def test_every_action_is_logged_in_the_catalog_and_marked_undone(library):
    lib, root = library
    apply(lib, find_groups(lib), "quarantine")
    engine = open_catalog(lib)
    with session(engine) as s:
        rows = s.scalars(select(Action)).all()
        assert len(rows) == 6 and {r.kind for r in rows} == {"quarantine"} and all(r.undone_at is None for r in rows)
        statuses = {s.get(File, r.file_id).status for r in rows}
    assert statuses == {"missing"}
    undo(lib)
    with session(engine) as s:
        assert all(r.undone_at is not None for r in s.scalars(select(Action)))
        assert {s.get(File, r.file_id).status for r in s.scalars(select(Action))} == {"ok"}


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_links_replace_the_others_and_undo_restores_their_own_bytes(library, kind):
    lib, root = library
    before = _files(root)
    record = apply(lib, find_groups(lib), kind)
    assert len(record.done) == 6 and not record.skipped
    copy, keeper = root / "coffee" / "coffee_q30.jpg", root / "coffee" / "coffee.png"
    assert copy.is_symlink() if kind == "symlink" else os.path.samefile(copy, keeper)
    assert copy.read_bytes() == keeper.read_bytes()
    assert len(undo(lib).done) == 6
    assert _files(root) == before and not copy.is_symlink() and not os.path.samefile(copy, keeper)


def test_undo_leaves_a_file_that_came_back_in_the_meantime_alone(library):
    lib, root = library
    apply(lib, find_groups(lib), "quarantine")
    (root / "coffee" / "coffee_q30.jpg").write_bytes(b"new")
    record = undo(lib)
    assert len(record.done) == 5 and record.skipped[0][1] == "a file is back at its path; left as it is"
    assert (root / "coffee" / "coffee_q30.jpg").read_bytes() == b"new"


def test_delete_needs_yes_and_then_removes_for_good(library):
    lib, root = library
    refused = _dedup(lib, "--delete")
    assert refused.exit_code == 2 and "add --yes to confirm" in refused.output
    with pytest.raises(DeleteNotConfirmed):
        apply(lib, find_groups(lib), "delete")
    assert "deleted 6 files" in _dedup(lib, "--delete", "--yes").output
    assert sorted(_files(root)) == ["astronaut/astronaut.png", "coffee/coffee.png"]
    assert "it was deleted; a delete cannot be undone" in _dedup(lib, "--undo").output


def test_a_keeper_chosen_by_the_user_is_the_one_kept(library):
    lib, root = library
    group = next(g for g in find_groups(lib) if "coffee" in g.keep.path)
    small = next(m for m in group.members if m.path.endswith("coffee_x0.5.jpg"))
    apply(lib, [group], "quarantine", keepers={group.id: small.file_id})
    assert sorted(_files(root / "coffee")) == ["coffee_x0.5.jpg"]


def test_a_quarantine_folder_that_is_a_symlink_is_refused(library, tmp_path):
    lib, root = library
    (tmp_path / "elsewhere").mkdir()
    (lib / "quarantine").symlink_to(tmp_path / "elsewhere")
    result = _dedup(lib, "--apply", "quarantine")
    assert result.exit_code == 2 and "the folder is a symbolic link" in result.output
    assert len(_files(root)) == 8


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../escape.jpg", "'..'"),
        ("a/../../escape.jpg", "'..'"),
        ("/etc/passwd", "absolute"),
        ("out/escape.jpg", "a symbolic link along the way leads outside"),
        ("taken.jpg", "something already exists there"),
    ],
)
def test_no_destination_escapes_its_target_folder(tmp_path, name, reason):
    target, outside = tmp_path / "target", tmp_path / "outside"
    target.mkdir(), outside.mkdir()
    (target / "out").symlink_to(outside)
    (target / "taken.jpg").write_bytes(b"x")
    with pytest.raises(UnsafePath, match=reason):
        inside(target, name)
    assert not any(outside.iterdir())


def test_a_plain_name_lands_inside_with_its_folders_made(tmp_path):
    assert inside(tmp_path, "a/b/c.jpg") == (tmp_path / "a" / "b" / "c.jpg").resolve()
    assert (tmp_path / "a" / "b").is_dir()


def test_bad_options_give_one_line_and_status_2(library):
    lib, _ = library
    for args, words in [
        (["--apply", "shred"], "unknown action 'shred'"),
        (["--apply", "quarantine", "--undo"], "choose one of --apply, --delete, --undo, --dismiss and --undismiss"),
        (["--dismiss", "99"], "no group 99 under these settings"),
        (["--dismiss", "a.jpg", "b.jpg"], "a.jpg is not an indexed file"),
        (["--keep-order", "pixels,beauty"], "unknown keep rule 'beauty'"),
    ]:
        result = _dedup(lib, *args)
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert "nothing to undo" in _dedup(lib, "--undo").output
