"""Walking roots: image files with size and mtime; hidden files, symlinks and odd entries handled."""

from __future__ import annotations

import os

from indexer.sources.scan import ScanOptions, walk


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _rel(root, options=None):
    return sorted(f.relpath for f in walk(root, options or ScanOptions()))


def test_walk_lists_image_files_recursively_in_a_stable_order(tmp_path):
    for name in ("b.jpg", "a/c.PNG", "a/d.txt", "a/b/e.heic", "f.webp"):
        _touch(tmp_path / name)
    assert _rel(tmp_path) == ["a/b/e.heic", "a/c.PNG", "b.jpg", "f.webp"]
    assert [f.relpath for f in walk(tmp_path)] == [f.relpath for f in walk(tmp_path)]


def test_walk_reports_size_and_mtime(tmp_path):
    path = _touch(tmp_path / "x.jpg", b"12345")
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    (found,) = walk(tmp_path)
    assert (found.size, found.mtime_ns, found.path) == (5, 2_000_000_000, path)


def test_hidden_files_and_folders_are_skipped_unless_asked(tmp_path):
    _touch(tmp_path / ".hidden.jpg")
    _touch(tmp_path / ".cache/x.jpg")
    _touch(tmp_path / "seen.jpg")
    assert _rel(tmp_path) == ["seen.jpg"]
    assert _rel(tmp_path, ScanOptions(include_hidden=True)) == [".cache/x.jpg", ".hidden.jpg", "seen.jpg"]


def test_symlinks_are_not_followed_by_default_and_loops_end(tmp_path):
    """Followed links reach each physical folder once, so a loop ends and nothing is listed twice."""
    _touch(tmp_path / "real/x.jpg")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real/loop").symlink_to(tmp_path / "real")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    assert _rel(tmp_path) == ["real/x.jpg"]
    followed = {f.relpath: f.problem for f in walk(tmp_path, ScanOptions(follow_symlinks=True))}
    assert followed == {"dangling.jpg": "symbolic link to nothing (dangling, or a loop)", "link/x.jpg": None}


def test_include_and_exclude_globs_apply_to_the_relative_path(tmp_path):
    for name in ("2020/a.jpg", "2021/b.jpg", "2021/raw/c.jpg"):
        _touch(tmp_path / name)
    assert _rel(tmp_path, ScanOptions(include=("2021/*",))) == ["2021/b.jpg", "2021/raw/c.jpg"]
    assert _rel(tmp_path, ScanOptions(exclude=("*/raw/*",))) == ["2020/a.jpg", "2021/b.jpg"]


def test_fifos_are_listed_as_problems_never_opened_and_folders_named_like_images_are_walked(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "folder.jpg").mkdir()
    _touch(tmp_path / "folder.jpg/inner.png")
    found = {f.relpath: f.problem for f in walk(tmp_path)}
    assert found == {
        "folder.jpg/inner.png": None,
        "pipe.jpg": "not a regular file (a FIFO, socket or device); never opened",
    }


def test_a_name_that_is_not_utf8_is_listed_escaped_with_its_problem(tmp_path):
    _touch(tmp_path / "ok.jpg")
    with open(os.fsencode(tmp_path) + b"/bad-\xff.jpg", "wb") as fh:
        fh.write(b"x")
    found = {f.relpath: f.problem for f in walk(tmp_path)}
    assert found == {"bad-\\xff.jpg": "file name is not valid UTF-8; rename the file", "ok.jpg": None}
