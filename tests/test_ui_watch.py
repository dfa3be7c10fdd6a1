"""The Library page starts and stops watching the folders (AppTest, with the real watch process behind it)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from ui_demo import page

from indexer.pipeline import IndexSettings, index
from indexer.sources import synthetic
from ui import watchjob


def until(condition, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def texts(at) -> list[str]:
    shown = [e.value for kind in ("markdown", "caption", "text") for e in getattr(at, kind)]
    return shown + [frame.value.to_string() for frame in at.dataframe]


@pytest.fixture
def small(tmp_path, monkeypatch) -> tuple[Path, Path]:
    folder, library = tmp_path / "photos", tmp_path / "library"
    folder.mkdir()
    for i in range(4):
        synthetic.write(synthetic.sample(i, 9), folder, i)
    index([folder], library, "tiny-shapes", IndexSettings(workers=0))
    monkeypatch.setenv("PIXSEEK_LIBRARY", str(library))
    yield folder, library
    watchjob.stop(library)  # never leave a watch running after a failed assertion


def test_library_page_starts_a_watch_that_indexes_new_files_and_stops_it(small, tmp_path):
    folder, library = small
    at = page("library")
    assert not at.exception
    assert any(t.startswith("Not watching") for t in texts(at))
    next(b for b in at.button if b.key == "library_watch").click().run()
    until(lambda: watchjob.read_watch(library)["state"] == "watching")
    synthetic.write(synthetic.sample(50, 9), tmp_path, 50)
    new = next(p for p in tmp_path.iterdir() if p.is_file())
    shutil.copy(new, folder / ("new" + new.suffix))
    until(lambda: watchjob.read_watch(library).get("counts", {}).get("indexed") == 1)

    at = page("library")
    assert any(t.startswith("Watching 1 folder since") and "1 added or changed" in t for t in texts(at))
    assert {m.label: m.value for m in at.metric}["files"] == "5"
    assert next(b for b in at.button if b.key == "library_index").disabled  # the watch keeps the folders up to date
    next(b for b in at.button if b.key == "library_watch_stop").click().run()
    until(lambda: watchjob.read_watch(library)["state"] == "stopped", timeout=60)
    assert any(t.startswith("Not watching (the last watch of 1 folder stopped") for t in texts(page("library")))


def test_library_page_says_a_folder_is_offline(small, tmp_path):
    folder, _ = small
    folder.rename(tmp_path / "elsewhere")
    at = page("library")
    assert not at.exception
    shown = texts(at)
    assert any("offline: 4 files kept" in t for t in shown)
    assert any(t.startswith(f"Offline: {folder}.") and "pixseek roots move" in t for t in shown)
    assert next(b for b in at.button if b.key == "library_watch").disabled  # no folder left to watch
