"""`pixseek index --watch`: the library follows its folders as files arrive, change, move and go."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import indexer.pipeline.run
import indexer.sources.reader
from indexer.library.catalog import open_catalog, session
from indexer.library.tables import File
from indexer.pipeline import IndexSettings, WatchSettings, watch
from indexer.sources import Settling, needs_polling, synthetic
from indexer.sources.watcher import mount_type
from search import Searcher

ROOT = Path(__file__).parents[1]
INLINE = IndexSettings(workers=0, batch_size=8)


def make_images(folder: Path, start: int, n: int, seed: int = 7) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        synthetic.write(synthetic.sample(i, seed), folder, i)
    return sorted(p for p in folder.iterdir() if p.is_file())


def until(condition, timeout: float = 60.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def searchable(searcher: Searcher) -> set[str]:
    """The paths a search of the library can return now (every one: k is larger than the library)."""
    return {hit.path for hit in searcher.search("a red circle", k=500).hits}


def rows(library: Path) -> dict[str, tuple[str, int]]:
    with session(open_catalog(library)) as s:
        return {
            relpath: (status, size) for relpath, status, size in s.execute(select(File.relpath, File.status, File.size))
        }


class Counting:
    """Images encoded and files decoded by the run, which all happen in this process (workers=0)."""

    def __init__(self, monkeypatch):
        self.encoded = self.decoded = 0
        encode, decode = indexer.pipeline.run.IndexRun.encode, indexer.sources.reader.decode_bytes

        def counted_encode(run, outcomes):
            self.encoded += len(outcomes)
            return encode(run, outcomes)

        def counted_decode(*args, **kwargs):
            self.decoded += 1
            return decode(*args, **kwargs)

        monkeypatch.setattr(indexer.pipeline.run.IndexRun, "encode", counted_encode)
        monkeypatch.setattr(indexer.sources.reader, "decode_bytes", counted_decode)


@pytest.fixture
def watching(tmp_path, micro_model):
    """A watch of tmp_path/photos (5 images) in a thread; yields (folder, library, rounds); stopped after."""
    folder, library = tmp_path / "photos", tmp_path / "lib"
    make_images(folder, 0, 5)
    stop, started, rounds = threading.Event(), threading.Event(), []
    errors: list[BaseException] = []

    def body():
        try:
            watch([folder], library, str(micro_model), INLINE, WatchSettings(settle_s=0.6), stop=stop,
                  on_start=lambda _: started.set(), on_round=rounds.append)  # fmt: skip
        except BaseException as exc:  # the test fails on it below
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=body)
    thread.start()
    assert started.wait(120) and not errors, errors
    yield folder, library, rounds
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and not errors, errors


def test_watch_follows_50_copies_5_renames_5_deletions_and_a_slow_write(watching, tmp_path, monkeypatch):
    folder, library, rounds = watching
    calls = Counting(monkeypatch)
    searcher = Searcher(library)
    assert len(searchable(searcher)) == 5

    sources = make_images(tmp_path / "incoming", 100, 50)
    for src in sources:
        shutil.copy(src, folder / src.name)
    closed = time.monotonic()
    on_disk = {str(p) for p in folder.iterdir()}
    until(lambda: searchable(searcher) == on_disk)
    latency = time.monotonic() - closed
    print(f"50 copied files searchable {latency:.2f} s after the last was closed")
    assert latency < 20 and calls.encoded == 50

    calls.encoded = calls.decoded = 0
    (folder / "renamed").mkdir()
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for name in names[:5]:
        os.rename(folder / name, folder / "renamed" / ("r-" + name))
    for name in names[5:10]:
        (folder / name).unlink()
    on_disk = {str(p) for p in folder.rglob("*") if p.is_file()}
    until(lambda: searchable(searcher) == on_disk)
    catalog = until(lambda: (r := rows(library)) and sum(s == "missing" for s, _ in r.values()) == 5 and r)
    assert (calls.encoded, calls.decoded) == (0, 0)  # renames keep their vectors: no decode, no model call
    assert all(catalog[f"renamed/r-{n}"][0] == "ok" for n in names[:5])
    assert all(n not in catalog for n in names[:5])  # the rows moved, not copied
    assert all(catalog[n][0] == "missing" for n in names[5:10])

    picture = sources[0].read_bytes()
    slow = folder / ("slow" + sources[0].suffix)
    with open(slow, "wb") as out:
        for start in range(0, len(picture), len(picture) // 8 + 1):
            out.write(picture[start : start + len(picture) // 8 + 1])
            out.flush()
            assert slow.name not in rows(library)  # nothing is read while the file is being written
            time.sleep(0.25)
    final = until(lambda: rows(library).get(slow.name))
    assert final == ("ok", len(picture))
    assert not any(r.summary.failed for r in rounds)


def test_cli_watch_indexes_a_new_file_and_stops_cleanly(tmp_path, micro_model):
    folder, library = tmp_path / "photos", tmp_path / "lib"
    make_images(folder, 0, 3)
    command = [sys.executable, "-m", "ui.cli", "index", str(folder), "-l", str(library), "-m", str(micro_model)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for stop in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen([*command, "--watch", "--json", "--settle", "0.3", "--workers", "0"], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert json.loads(proc.stdout.readline())["event"] == "watching"
            new = make_images(tmp_path / f"new-{stop}", 50 + stop, 1)[0]
            shutil.copy(new, folder / f"{stop}{new.suffix}")
            line = json.loads(proc.stdout.readline())
            assert (line["event"], line["indexed"]) == ("round", 1)
            proc.send_signal(stop)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["event"] == "stopped"
        assert "Traceback" not in err
    asked = [sys.executable, "-m", "ui.cli", "status", "-l", str(library), "--json"]
    status = json.loads(subprocess.run(asked, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout)
    assert status["counts"]["files"]["ok"] == 5 and status["last_run"]["status"] == "done"


def test_watch_by_polling_sees_new_files(tmp_path, micro_model):
    folder, library = tmp_path / "photos", tmp_path / "lib"
    make_images(folder, 0, 2)
    stop, rounds = threading.Event(), []
    settings = WatchSettings(settle_s=0.3, poll=True, poll_interval_s=0.2)
    thread = threading.Thread(
        target=watch, args=([folder], library, str(micro_model), INLINE, settings),
        kwargs={"stop": stop, "on_start": lambda _: make_images(folder, 2, 2), "on_round": rounds.append},
    )  # fmt: skip
    thread.start()
    try:
        until(lambda: sum(r.summary.indexed for r in rounds) == 2, timeout=90)
    finally:
        stop.set()
        thread.join(30)
    assert {s for s, _ in rows(library).values()} == {"ok"} and len(rows(library)) == 4


def test_a_file_settles_only_once_its_size_and_mtime_held_still(tmp_path):
    path = tmp_path / "growing.jpg"
    path.write_bytes(b"x")
    settling = Settling(settle_s=1.0)
    settling.add([path, tmp_path / "gone.jpg"], now=0.0)
    assert not settling.ready(now=0.5)
    path.write_bytes(b"xx")  # still being written: its clock starts again
    first = settling.ready(now=1.2)
    assert first.present == [] and first.gone == [tmp_path / "gone.jpg"]
    assert not settling.ready(now=2.0)
    assert settling.ready(now=2.3).present == [path] and len(settling) == 0


def test_folders_on_network_filesystems_are_polled(tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nserver:/photos /mnt/nas nfs4 rw 0 0\n")
    assert mount_type(Path("/mnt/nas/2024"), str(mounts)) == "nfs4"
    assert mount_type(Path("/home/me"), str(mounts)) == "ext4"
    monkeypatch.delenv("WATCHFILES_FORCE_POLLING", raising=False)
    assert not needs_polling([tmp_path])
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", "1")
    assert needs_polling([tmp_path])
