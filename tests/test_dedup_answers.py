"""What a user answers dedup, kept in the library: "not duplicates" (search.dismissals) and reference folders
(search.references), through re-indexing, moved files and later runs of `pixseek dedup`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources.synthetic import photo
from search.dedup import DedupSettings, find_groups
from ui.cli.main import app

runner = CliRunner()


@pytest.fixture
def library(tmp_path, micro_model):
    """astronaut.png with a q40 copy; coffee.png with a half-size copy; a backup/ folder holding both originals."""
    root = tmp_path / "photos"
    (root / "album").mkdir(parents=True)
    (root / "backup").mkdir()
    for name in ("astronaut", "coffee"):
        photo(name).convert("RGB").save(root / "album" / f"{name}.png")
        shutil.copy(root / "album" / f"{name}.png", root / "backup" / f"{name}.png")
    photo("astronaut").convert("RGB").save(root / "album" / "astronaut_q40.jpg", quality=40)
    photo("coffee").convert("RGB").resize((300, 200)).save(root / "album" / "coffee_small.jpg", quality=90)
    lib = tmp_path / "lib"
    index([root], lib, str(micro_model), IndexSettings(workers=0))
    return lib, root


def _dedup(lib: Path, *args: str):
    result = runner.invoke(app, ["dedup", "--library", str(lib), *args])
    assert result.exit_code == 0, result.output
    return result


def _names(groups) -> list[set[str]]:
    """Each group's files as folder/name."""
    return [{"/".join(Path(m.path).parts[-2:]) for m in g.members} for g in groups]


def test_a_dismissed_group_never_comes_back_through_reindexing_and_moves(library, micro_model):
    lib, root = library
    (astronaut,) = [g for g in find_groups(lib) if "astronaut_q40.jpg" in {Path(m.path).name for m in g.members}]
    _dedup(lib, "--dismiss", str(root / "album" / "astronaut_q40.jpg"), str(root / "album" / "astronaut.png"))
    (root / "moved").mkdir()
    shutil.move(root / "album" / "astronaut_q40.jpg", root / "moved" / "renamed.jpg")
    index([root], lib, str(micro_model), IndexSettings(workers=0))
    names = _names(find_groups(lib))
    assert not any("moved/renamed.jpg" in n for n in names)  # not joined to the astronaut any more
    assert {"album/astronaut.png", "backup/astronaut.png"} in names  # the byte copy still is
    shown = find_groups(lib, DedupSettings(show_dismissed=True))
    dismissed = [g for g in shown if g.dismissed]
    assert len(dismissed) == 1 and "renamed.jpg" in {Path(m.path).name for m in dismissed[0].members}
    assert not dismissed[0].acted_on() and "dismissed" in dismissed[0].why
    assert astronaut.keep.path.endswith("astronaut.png")


def test_a_dismissal_by_group_number_is_undone_by_undismiss(library):
    lib, _ = library
    before = _names(find_groups(lib))
    number = next(g.id for g in find_groups(lib) if "coffee_small.jpg" in {Path(m.path).name for m in g.members})
    said = _dedup(lib, "--dismiss", str(number)).output
    assert "marked not duplicates" in said
    assert not any("album/coffee_small.jpg" in n for n in _names(find_groups(lib)))
    shown = next(g for g in find_groups(lib, DedupSettings(show_dismissed=True)) if g.dismissed)
    _dedup(lib, "--undismiss", str(shown.id))
    assert _names(find_groups(lib)) == before


def test_exact_copies_cannot_be_dismissed(library):
    lib, root = library
    result = runner.invoke(
        app,
        ["dedup", "--library", str(lib), "--dismiss", str(root / "album/coffee.png"), str(root / "backup/coffee.png")],
    )
    assert result.exit_code == 2 and "same bytes" in result.output


def test_reference_files_are_kept_remembered_and_never_touched(library, micro_model):
    lib, root = library
    reference = root / "backup"
    said = _dedup(lib, "--reference", str(reference)).output
    assert "group" in said
    groups = find_groups(lib)  # no --reference this time: remembered
    assert all(g.keep.path.startswith(str(reference)) for g in groups)
    assert all("in a reference folder" in g.why for g in groups)
    shutil.move(root / "album" / "coffee_small.jpg", root / "coffee_elsewhere.jpg")
    index([root], lib, str(micro_model), IndexSettings(workers=0))
    _dedup(lib, "--apply", "quarantine")
    assert sorted(p.name for p in reference.iterdir()) == ["astronaut.png", "coffee.png"]
    assert not (root / "album" / "astronaut.png").exists()  # the album's copies went instead
    assert not (root / "coffee_elsewhere.jpg").exists()


def test_a_group_of_only_reference_files_is_reported_and_not_acted_on(library):
    lib, root = library
    shutil.copy(root / "backup" / "coffee.png", root / "backup" / "coffee (1).png")
    _dedup(lib, "--reference", str(root))  # every file is a reference file
    groups = find_groups(lib)
    assert groups and all(not g.acted_on() for g in groups)
    assert any("only reference files: reported, never acted on" in g.why for g in groups)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    _dedup(lib, "--apply", "quarantine")
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
