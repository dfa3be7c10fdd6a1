"""Export and quarantine with hostile file names and planted links: nothing is written outside their folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from ui.cli.main import app

from .hostile import jpeg_bytes, picture
from .library_state import tree_hashes

# Legal file names on Linux that mean something else elsewhere: Windows separators, dots, dashes, a newline
# (a name starting with a dot would be a hidden file, not indexed).
ODD_NAMES = ["a\\..\\..\\escape.jpg", "x..jpg", "-rf.jpg", "new\nline.jpg", "a b.jpg"]


@pytest.fixture()
def odd_library(tmp_path, micro_model):
    """A library over files with odd names, each its own content; `twin.jpg` is a copy of `-rf.jpg`."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate(ODD_NAMES):
        (photos / name).write_bytes(jpeg_bytes(picture(50 + i)))
    shutil.copy(photos / "-rf.jpg", photos / "twin.jpg")
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    return tmp_path, photos, tmp_path / "lib"


def _outside(tmp_path: Path, *inside: Path) -> dict[str, str]:
    """Every file under tmp_path except those under the given folders."""
    return {k: v for k, v in tree_hashes(tmp_path).items() if not any((tmp_path / k).is_relative_to(f) for f in inside)}


def test_an_export_of_files_with_hostile_names_stays_inside_its_folder(odd_library):
    tmp_path, photos, library = odd_library
    before = _outside(tmp_path, library)
    target = tmp_path / "export"
    result = CliRunner().invoke(app, ["export", "--library", str(library), "--to", str(target), "--as", "copy"])
    assert result.exit_code in (0, 2) and "Traceback" not in result.output, result.output
    assert _outside(tmp_path, library, target) == before  # no file outside the target was written or changed
    written = [p for p in target.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(target.resolve()) for p in written)
    if result.exit_code == 0:
        assert len([p for p in written if p.suffix == ".jpg"]) == len(ODD_NAMES)  # one per distinct image


def test_a_link_planted_inside_the_quarantine_cannot_redirect_the_moved_files(odd_library):
    tmp_path, photos, library = odd_library
    outside = tmp_path / "outside"
    outside.mkdir()
    quarantine = library / "quarantine"
    quarantine.mkdir()
    first = Path(*photos.parts[1:2])  # the quarantine keeps a file's absolute path below it: plant its first folder
    (quarantine / first).symlink_to(outside)
    before = tree_hashes(photos)
    result = CliRunner().invoke(app, ["dedup", "--library", str(library), "--apply", "quarantine"])
    # The file is skipped with the reason (exit 0, "1 skipped"): refused, never moved through the link.
    assert "refused, a symbolic link along the way leads outside" in result.output, result.output
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
    assert not any(outside.iterdir()) and tree_hashes(photos) == before


def test_an_export_of_a_file_named_with_backslashes_completes(odd_library):
    tmp_path, _, library = odd_library
    result = CliRunner().invoke(app, ["export", "--library", str(library), "--to", str(tmp_path / "x"), "--as", "copy"])
    assert result.exit_code == 0, result.output
