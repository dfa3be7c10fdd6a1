"""A write that fails (disk full) leaves the library as it was before the batch, with one clear message."""

from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from indexer.errors import LibraryWriteFailed
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from ui.cli.main import app

from .library_state import add_images, agreement, duplicated, file_rows, run_statuses

BATCH = IndexSettings(workers=0, batch_size=4)


@contextmanager
def disk_full_after(embeddings: int):
    """SQLite says "database or disk is full" on the embedding insert that goes past the first `embeddings`
    rows (the writer inserts a batch's vectors in one executemany)."""
    inserted = [0]

    def before_execute(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("INSERT INTO embeddings"):
            return
        rows = len(parameters) if executemany else 1
        if inserted[0] + rows > embeddings:
            raise sqlite3.OperationalError("database or disk is full")
        inserted[0] += rows

    event.listen(Engine, "before_cursor_execute", before_execute)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", before_execute)


def test_a_full_disk_mid_run_keeps_the_batches_before_it_and_nothing_of_the_failed_one(tmp_path, micro_model):
    folder, library = tmp_path / "photos", tmp_path / "lib"
    add_images(folder, 0, 12)
    with disk_full_after(6), pytest.raises(LibraryWriteFailed) as caught:  # inside the second batch of 4
        index([folder], library, str(micro_model), BATCH)
    assert "cannot write (database or disk is full)" in str(caught.value)
    rows = file_rows(library)
    assert len(rows) == 4 and all(r.status == "ok" and r.image_id for r in rows.values())
    assert run_statuses(library) == ["failed"]
    summary = index([folder], library, str(micro_model), BATCH)
    assert (summary.indexed, summary.unchanged) == (8, 4)
    a = agreement(library, micro_model)
    assert sorted(a.index_ids) == sorted(a.wanted) and len(a.wanted) == 12 and duplicated(a) == 0


def test_the_cli_says_a_full_disk_in_one_line_and_exits_2(tmp_path, micro_model):
    folder, library = tmp_path / "photos", tmp_path / "lib"
    add_images(folder, 0, 6)
    with disk_full_after(2):
        result = CliRunner().invoke(
            app, ["index", str(folder), "-l", str(library), "-m", str(micro_model), "--workers", "0", "--json"]
        )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {library}: cannot write (database or disk is full); the library keeps what earlier batches "
        "wrote, and the next run continues from there"
    )


def test_a_full_disk_while_saving_the_vector_index_keeps_the_previous_index_intact(tmp_path, micro_model, monkeypatch):
    folder, library = tmp_path / "photos", tmp_path / "lib"
    add_images(folder, 0, 4)
    index([folder], library, str(micro_model), BATCH)
    add_images(folder, 4, 4)

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(LibraryWriteFailed, match="No space left on device"):
        index([folder], library, str(micro_model), BATCH)
    monkeypatch.undo()
    assert not [p for p in (library / "vectors").rglob("*") if ".tmp-" in p.name]
    before = agreement(library, micro_model)  # the saved index is the first run's, and reads fine
    assert len(before.index_ids) == 4 and len(before.wanted) == 8
    assert run_statuses(library) == ["done", "failed"]
    index([folder], library, str(micro_model), BATCH)
    after = agreement(library, micro_model)
    assert sorted(after.index_ids) == sorted(after.wanted) and len(after.wanted) == 8
