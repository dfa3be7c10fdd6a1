"""`pixseek index` on hostile and odd files: exit 0, every valid image indexed upright, every bad one recorded."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from sqlalchemy import select

import indexer.pipeline.indexing
import indexer.pipeline.local
import indexer.sources.reader
from indexer.library.catalog import bytes_to_vectors, open_catalog, session
from indexer.library.tables import Embedding, File
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import ScanOptions

from .hostile import jpeg_bytes, make_corpus, permissions_enforced, picture, upright_picture
from .hostile_formats import oriented_names
from .library_state import file_rows, run_pixseek

INLINE = IndexSettings(workers=0, batch_size=8)


@pytest.fixture(scope="module")
def indexed_corpus(tmp_path_factory, micro_model):
    """The hostile corpus, indexed once by the real command with two decode workers and links followed."""
    base = tmp_path_factory.mktemp("hostile")
    expected = make_corpus(base / "corpus")
    try:
        done = run_pixseek(
            "index", str(base / "corpus"), "-l", str(base / "lib"), "-m", str(micro_model), "--follow-symlinks",
            "--workers", "2", "--json", timeout=240,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        done = None
    return base, expected, done


def test_indexing_the_hostile_corpus_exits_0_without_a_crash_or_a_hang(indexed_corpus, tally):
    _, expected, done = indexed_corpus
    tally["hostile_tried"] += len(expected)
    tally["hostile_hangs"] += done is None
    assert done is not None, "pixseek index did not finish within 240 s"
    crashed = done.returncode != 0 or "Traceback" in done.stderr
    tally["hostile_crashes"] += crashed
    assert not crashed, done.stderr[-3000:]
    assert len(expected) >= 100


def test_every_stderr_line_is_one_skipping_line_per_bad_file(indexed_corpus, tally):
    base, expected, done = indexed_corpus
    lines = done.stderr.splitlines()
    tally["index_stderr_noise"] += sum(not line.startswith(f"skipping {base / 'corpus'}/") for line in lines)
    assert all(line.startswith(f"skipping {base / 'corpus'}/") for line in lines), lines
    assert len(lines) == sum(e.outcome == "failed" for e in expected) + permissions_enforced(base)


def test_every_valid_image_is_indexed_and_every_bad_file_recorded_with_its_reason(indexed_corpus):
    base, expected, _ = indexed_corpus
    rows = file_rows(base / "lib")
    enforced = permissions_enforced(base)
    for e in expected:
        row = rows.get(e.name)
        assert row is not None, f"{e.name} is not in the catalog"
        outcome = e.outcome if e.outcome != "either" else ("failed" if enforced else "ok")
        assert row.status == outcome, (e.name, row)
        if outcome == "ok":
            assert row.image_id is not None and e.upright in (None, (row.width, row.height)), (e.name, row)
        else:
            assert e.reason in row.error and "\n" not in row.error, (e.name, row.error)
    assert set(rows) == {e.name for e in expected}  # nothing else: links not followed twice, no FIFO read


def test_a_file_without_read_permission_is_recorded_honestly(indexed_corpus, tally):
    """As root, mode 000 does not stop a read: then the file is indexed, and the summary says so."""
    base, _, _ = indexed_corpus
    row = file_rows(base / "lib")["no-permission.jpg"]
    if permissions_enforced(base):
        assert (row.status, row.error) == ("failed", "cannot read (Permission denied)")
    else:
        tally["note: running as root, the mode-000 file was readable and was indexed"] += 1
        assert row.status == "ok"


def test_every_orientation_of_every_format_is_embedded_upright(indexed_corpus, micro_model):
    """JPEG, TIFF, WebP, PNG (eXIf), HEIF and AVIF (irot/imir), each turned the eight EXIF ways."""
    from indexer.model.load import load_model

    base, _, _ = indexed_corpus
    reference = load_model(micro_model, runtime="paddle", device="cpu").encode_images([upright_picture()])
    names = oriented_names()
    with session(open_catalog(base / "lib")) as s:
        rows = s.execute(
            select(File.relpath, Embedding.vector)
            .join(Embedding, File.image_id == Embedding.image_id)
            .where(File.relpath.in_(names))
        ).all()
    cosines = dict(
        zip(
            [r[0] for r in rows], bytes_to_vectors([r[1] for r in rows], reference.shape[1]) @ reference[0], strict=True
        )
    )
    assert sorted(cosines) == sorted(names) and len(names) == 48
    assert min(cosines.values()) >= 0.99, sorted(cosines.items(), key=lambda kv: kv[1])[:5]


def test_a_second_run_reads_nothing_again(indexed_corpus, micro_model):
    base, expected, _ = indexed_corpus
    again = run_pixseek("index", str(base / "corpus"), "-l", str(base / "lib"), "-m", str(micro_model),
                        "--follow-symlinks", "--workers", "0", "--json", timeout=120)  # fmt: skip
    assert again.returncode == 0 and again.stderr == ""
    summary = json.loads(again.stdout)
    failed_before = sum(e.outcome == "failed" for e in expected)
    assert (summary["indexed"], summary["failed"], summary["unreadable"]) == (0, 0, failed_before)
    assert summary["unchanged"] == len(expected) - failed_before


def _racing(monkeypatch, change):
    """Run `change` after the scan and before the first file is read."""
    real = indexer.pipeline.local.read_all

    def read_all(files, *args, **kwargs):
        change()
        return real(files, *args, **kwargs)

    monkeypatch.setattr(indexer.pipeline.local, "read_all", read_all)


def test_files_that_grow_are_replaced_deleted_or_become_a_fifo_after_the_scan(
    tmp_path, micro_model, monkeypatch, tally
):  # noqa: E501
    folder = tmp_path / "photos"
    folder.mkdir()
    full, other = jpeg_bytes(picture(20)), jpeg_bytes(picture(21))
    (folder / "grows.jpg").write_bytes(full[: len(full) // 3])  # being copied in when the scan saw it
    (folder / "replaced.jpg").write_bytes(jpeg_bytes(picture(22)))
    (folder / "deleted.jpg").write_bytes(jpeg_bytes(picture(23)))
    (folder / "becomes-fifo.jpg").write_bytes(jpeg_bytes(picture(24)))
    tally["hostile_tried"] += 4

    def change():
        with open(folder / "grows.jpg", "ab") as fh:
            fh.write(full[len(full) // 3 :])
        (tmp_path / "new.jpg").write_bytes(other)
        os.replace(tmp_path / "new.jpg", folder / "replaced.jpg")
        (folder / "deleted.jpg").unlink()
        (folder / "becomes-fifo.jpg").unlink()
        os.mkfifo(folder / "becomes-fifo.jpg")

    _racing(monkeypatch, change)
    summary = index([folder], tmp_path / "lib", str(micro_model), INLINE)
    rows = file_rows(tmp_path / "lib")
    assert (summary.indexed, summary.failed) == (2, 2)
    assert rows["grows.jpg"].content_hash == hashlib.sha256(full).hexdigest()
    assert rows["grows.jpg"].size == len(full)  # what was read, so the next run sees no change
    assert rows["replaced.jpg"].content_hash == hashlib.sha256(other).hexdigest()
    assert "No such file" in rows["deleted.jpg"].error
    assert rows["becomes-fifo.jpg"].error.startswith("not a regular file")
    monkeypatch.undo()
    again = index([folder], tmp_path / "lib", str(micro_model), INLINE)
    # The FIFO is now seen as one by the scan (a new size), so it is looked at again and fails again.
    assert (again.indexed, again.unchanged, again.failed, again.missing) == (0, 2, 1, 1)


@pytest.mark.timeout(120)
def test_a_file_that_takes_too_long_is_skipped_with_the_flag_that_raises_the_limit(tmp_path, micro_model, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "slow.jpg").write_bytes(jpeg_bytes(picture(30)))
    (folder / "fine.jpg").write_bytes(jpeg_bytes(picture(31)))
    real = indexer.sources.reader.decode_bytes

    def decode_bytes(data, where, *args, **kwargs):
        if where.endswith("slow.jpg"):
            time.sleep(600)  # a decoder stuck on a hostile file
        return real(data, where, *args, **kwargs)

    monkeypatch.setattr(indexer.sources.reader, "decode_bytes", decode_bytes)
    settings = IndexSettings(workers=0, file_time_limit=0.5)
    summary = index([folder], tmp_path / "lib", str(micro_model), settings)
    assert (summary.indexed, summary.failed) == (1, 1)
    reason = "took over 0.5 s to read and decode; --file-time-limit raises it"
    assert summary.failures == [(str(folder / "slow.jpg"), reason)]


@pytest.mark.timeout(120)  # without the supervision this waits forever: fail instead
def test_a_worker_that_dies_on_a_file_costs_that_file_only(tmp_path, micro_model, monkeypatch, tally):
    """A segfault in a C decoder or the OOM killer takes the worker; the run records the file and goes on."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        (folder / f"fine-{i}.jpg").write_bytes(jpeg_bytes(picture(60 + i)))
    (folder / "kills-its-decoder.jpg").write_bytes(jpeg_bytes(picture(70)))
    tally["hostile_tried"] += 1
    real = indexer.sources.reader.decode_bytes

    def decode_bytes(data, where, *args, **kwargs):
        if where.endswith("kills-its-decoder.jpg"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(data, where, *args, **kwargs)

    monkeypatch.setattr(indexer.sources.reader, "decode_bytes", decode_bytes)  # the forked workers inherit it
    tally["hostile_hangs"] += 1  # taken back once the run has ended (a hang ends in pytest-timeout)
    summary = index([folder], tmp_path / "lib", str(micro_model), IndexSettings(workers=2, batch_size=2))
    tally["hostile_hangs"] -= 1
    assert (summary.indexed, summary.failed) == (6, 1)
    assert summary.failures == [(str(folder / "kills-its-decoder.jpg"), indexer.sources.reader.CRASHED)]


def test_a_symlinked_image_is_skipped_unless_links_are_followed(tmp_path, micro_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    (tmp_path / "outside.jpg").write_bytes(jpeg_bytes(picture(40)))
    (folder / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    (folder / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    summary = index([folder], tmp_path / "lib", str(micro_model), INLINE)
    assert (summary.indexed, summary.failed) == (0, 0)
    shutil.rmtree(tmp_path / "lib")
    followed = IndexSettings(workers=0, scan=ScanOptions(follow_symlinks=True))
    summary = index([folder], tmp_path / "lib", str(micro_model), followed)
    assert (summary.indexed, summary.failed) == (1, 1)
    assert np.array_equal(sorted(file_rows(tmp_path / "lib")), ["dangling.jpg", "link.jpg"])
