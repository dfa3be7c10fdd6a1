"""The catalog: schema built and upgraded by Alembic, SQLite settings, constraints and query helpers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from indexer.errors import CatalogError
from indexer.library import catalog
from indexer.library.tables import Base, Embedding, File, Image, Model, Root

FIRST_REVISION = "a87c147e7512"  # migrations/versions/2026_11_27_0453_a87c147e7512_first_schema.py
HEAD = ScriptDirectory.from_config(catalog.alembic_config()).get_current_head()


def test_the_schema_head_the_catalog_opens_without_alembic_is_alembics_head():
    assert catalog.SCHEMA_HEAD == HEAD


SHA_A, SHA_B = "a" * 64, "b" * 64


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A new library's catalog in its SQLite file, and in a PostgreSQL database (tools/postgres.sh)."""
    if request.param == "postgresql":
        catalog.use_database(tmp_path / "library", request.getfixturevalue("postgres_url"))
    engine = catalog.open_catalog(tmp_path / "library")
    yield engine
    engine.dispose()


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def add_image(s, content_hash: str) -> Image:
    image = Image(content_hash=content_hash, width=640, height=480, format="JPEG")
    s.add(image)
    s.flush()
    return image


def test_a_new_library_gets_a_catalog_at_head_in_wal_mode_with_foreign_keys(tmp_path):
    engine = catalog.open_catalog(tmp_path / "library")
    assert (tmp_path / "library" / "catalog.sqlite").is_file()
    assert catalog.current_revision(engine) == HEAD
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == catalog.BUSY_TIMEOUT_MS
    keywords = {"file_keywords", *(f"file_keywords_{t}" for t in ("config", "content", "data", "docsize", "idx"))}
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"} | keywords
    engine.dispose()


def test_a_library_keeps_its_catalog_in_postgresql_and_refuses_a_second_catalog(tmp_path, postgres_url):
    catalog.use_database(tmp_path / "library", postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    engine = catalog.open_catalog(tmp_path / "library")
    assert engine.dialect.name == "postgresql" and not (tmp_path / "library" / "catalog.sqlite").exists()
    assert catalog.current_revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version", "file_keywords"}
    engine.dispose()
    catalog.open_catalog(tmp_path / "other").dispose()  # a SQLite library
    with pytest.raises(CatalogError, match="already keeps its catalog in sqlite:///"):
        catalog.use_database(tmp_path / "other", postgres_url)
    with pytest.raises(CatalogError, match="not a database URL"):
        catalog.use_database(tmp_path / "third", "no such thing")


FIRST_REVISION_ROWS = {
    "roots": [(1, "/photos", "2026-01-02 03:04:05.000000")],
    "images": [
        (1, SHA_A, 4032, 3024, "JPEG", "2025-07-01 12:00:00.000000", "Canon", "EOS R6", 51.5, -0.12, 6,
         "f0e1d2c3b4a59687", "2026-01-02 03:04:06.000000"),
        (2, SHA_B, 800, 600, "PNG", None, None, None, None, None, None, "0123456789abcdef",
         "2026-01-02 03:04:07.000000"),
    ],
    "models": [(1, "tiny-shapes", "c" * 64, 8, "paddle", 1, "2026-01-02 03:04:00.000000")],
    "files": [
        (1, 1, "2025/beach.jpg", 123456, 1735700000123456789, SHA_A, "ok", None, 1,
         "2026-01-02 03:04:05.000000", "2026-01-03 00:00:00.000000"),
        (2, 1, "2025/copy of beach.jpg", 123456, 1735700000999999999, SHA_A, "ok", None, 1,
         "2026-01-02 03:04:05.000000", "2026-01-03 00:00:00.000000"),
        (3, 1, "logo.png", 2048, 1735700001000000000, SHA_B, "ok", None, 2,
         "2026-01-02 03:04:05.000000", "2026-01-03 00:00:00.000000"),
        (4, 1, "broken.jpg", 10, 1735700002000000000, None, "failed", "cannot identify image file", None,
         "2026-01-02 03:04:05.000000", "2026-01-03 00:00:00.000000"),
    ],
}  # fmt: skip


def dump(path: Path, tables) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in tables}


def test_a_catalog_made_by_the_first_revision_upgrades_with_its_data_intact(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    command.upgrade(catalog.alembic_config(catalog.catalog_url(library)), FIRST_REVISION)
    vectors = unit_vectors(2, 8)
    with sqlite3.connect(library / "catalog.sqlite") as db:
        assert {"roots", "files", "images", "models", "embeddings"} <= set(
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'runs'").fetchone() == (0,)
        for table, rows in FIRST_REVISION_ROWS.items():
            db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        blobs = [(i + 1, v.astype("<f4").tobytes()) for i, v in enumerate(vectors)]
        db.executemany("INSERT INTO embeddings VALUES (?, 1, ?)", blobs)
    tables = [*FIRST_REVISION_ROWS, "embeddings"]
    before = dump(library / "catalog.sqlite", tables)

    engine = catalog.open_catalog(library)
    try:
        assert catalog.current_revision(engine) == HEAD
        assert "runs" in inspect(engine).get_table_names()
        after = dump(library / "catalog.sqlite", tables)
        # later revisions add models.source and models.precision
        assert [row[-2:] for row in after["models"]] == [(None, None)]
        after["models"] = [row[:-2] for row in after["models"]]
        assert {row[-2:] for row in after["files"]} == {(None, None)}  # a later revision adds caption, sample_meta
        after["files"] = [row[:-2] for row in after["files"]]
        assert after == before
        with catalog.session(engine) as s:
            blobs = s.scalars(select(Embedding.vector).order_by(Embedding.image_id)).all()
            np.testing.assert_array_equal(catalog.bytes_to_vectors(blobs, 8), vectors)
            assert s.get(File, 2).image.content_hash == SHA_A
            assert catalog.active_model(s).name == "tiny-shapes"
    finally:
        engine.dispose()


def test_two_files_with_the_same_root_and_relpath_are_refused(engine):
    with catalog.session(engine) as s:
        root = catalog.get_or_add_root(s, "/photos")
        s.add_all([File(root=root, relpath="a.jpg", size=1, mtime_ns=1) for _ in range(2)])
        with pytest.raises(IntegrityError, match="(?i)unique"):
            s.commit()


def test_two_images_with_the_same_content_hash_are_refused(engine):
    with catalog.session(engine) as s:
        add_image(s, SHA_A)
        with pytest.raises(IntegrityError, match="(?i)unique"):
            add_image(s, SHA_A)


def test_a_file_status_outside_ok_failed_missing_is_refused(engine):
    with catalog.session(engine) as s:
        s.add(File(root=catalog.get_or_add_root(s, "/photos"), relpath="a.jpg", size=1, mtime_ns=1, status="gone"))
        with pytest.raises(IntegrityError, match="(?i)check"):
            s.commit()


def test_deleting_an_image_deletes_its_embeddings_and_unlinks_its_files(engine):
    with catalog.session(engine, write=True) as s:
        model = catalog.activate_model(s, "tiny-shapes", SHA_A, 8, "paddle")
        image, other = add_image(s, SHA_A), add_image(s, SHA_B)
        for i, im in enumerate((image, other)):
            s.add(
                Embedding(image_id=im.id, model_id=model.id, vector=catalog.vector_to_bytes(unit_vectors(1, 8, i)[0]))
            )
        s.add(File(root=catalog.get_or_add_root(s, "/photos"), relpath="a.jpg", size=1, mtime_ns=1, image=image))
        s.commit()
        s.execute(delete(Image).where(Image.id == image.id))
        s.commit()
        assert s.scalars(select(Embedding.image_id)).all() == [other.id]
        assert s.scalar(select(File.image_id)) is None


def test_deleting_a_root_deletes_its_files(engine):
    with catalog.session(engine) as s:
        root = catalog.get_or_add_root(s, "/photos")
        s.add(File(root=root, relpath="a.jpg", size=1, mtime_ns=1))
        s.commit()
        s.execute(delete(Root))
        s.commit()
        assert s.scalar(select(func.count()).select_from(File)) == 0


def test_activating_a_second_model_leaves_only_it_active(engine):
    with catalog.session(engine) as s:
        first = catalog.activate_model(s, "tiny-shapes", SHA_A, 8, "paddle")
        second = catalog.activate_model(s, "vit-g-14", SHA_B, 1024, "torch")
        s.commit()
        assert s.scalars(select(Model.name).where(Model.active)).all() == ["vit-g-14"]
        assert catalog.active_model(s) is second
        assert catalog.activate_model(s, "tiny-shapes", SHA_A, 8, "torch") is first
        s.commit()
        assert catalog.active_model(s) is first and first.runtime == "torch"
        assert s.scalar(select(func.count()).select_from(Model)) == 2


def test_the_database_refuses_a_second_active_model(engine):
    with catalog.session(engine) as s:
        catalog.activate_model(s, "tiny-shapes", SHA_A, 8, "paddle")
        s.add(Model(name="vit-g-14", weights_sha256=SHA_B, dim=1024, runtime="paddle", active=True))
        with pytest.raises(IntegrityError, match="(?i)unique"):
            s.commit()


def test_reactivating_a_model_with_another_dim_is_refused(engine):
    with catalog.session(engine) as s:
        catalog.activate_model(s, "tiny-shapes", SHA_A, 8, "paddle")
        with pytest.raises(CatalogError, match="recorded with dim 8, not 16"):
            catalog.activate_model(s, "tiny-shapes", SHA_A, 16, "paddle")


def test_a_root_is_stored_once_as_an_absolute_path(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with catalog.session(engine) as s:
        root = catalog.get_or_add_root(s, "photos/../photos")
        assert root.path == str(tmp_path / "photos")
        assert catalog.get_or_add_root(s, tmp_path / "photos") is root


def test_counts_and_failures_report_files_images_and_embeddings(engine):
    with catalog.session(engine) as s:
        root = catalog.get_or_add_root(s, "/photos")
        model = catalog.activate_model(s, "tiny-shapes", SHA_A, 8, "paddle")
        image = add_image(s, SHA_A)
        s.add(Embedding(image_id=image.id, model_id=model.id, vector=catalog.vector_to_bytes(unit_vectors(1, 8)[0])))
        s.add_all(
            [
                File(root=root, relpath="a.jpg", size=1, mtime_ns=1, image=image),
                File(root=root, relpath="sub/z.jpg", size=1, mtime_ns=1, status="failed", error="truncated file"),
                File(root=root, relpath="b.jpg", size=1, mtime_ns=1, status="failed", error="not an image"),
            ]
        )
        s.commit()
        assert catalog.counts(s) == {
            "roots": 1,
            "files": {"ok": 1, "failed": 2, "missing": 0},
            "images": 1,
            "embeddings": {f"tiny-shapes@{SHA_A[:12]}": 1},
        }
        assert catalog.failures(s, limit=5) == [
            (str(Path("/photos", "b.jpg")), "not an image"),
            (str(Path("/photos", "sub/z.jpg")), "truncated file"),
        ]
        assert len(catalog.failures(s, limit=1)) == 1


def test_vectors_cross_as_float32_little_endian_bytes():
    x = unit_vectors(3, 5)
    blobs = [catalog.vector_to_bytes(v) for v in x.astype(np.float64)]
    assert blobs[0] == x[0].astype("<f4").tobytes()
    out = catalog.bytes_to_vectors(blobs, 5)
    assert out.dtype == np.float32 and out.shape == (3, 5)
    np.testing.assert_array_equal(out, x)
    assert catalog.bytes_to_vectors([], 5).shape == (0, 5)
    with pytest.raises(CatalogError, match="has 20 bytes; a 4-d float32 vector has 16"):
        catalog.bytes_to_vectors(blobs, 4)
    with pytest.raises(ValueError, match="one \\(d,\\) float vector"):
        catalog.vector_to_bytes(x)


def test_a_catalog_written_by_a_newer_pixseek_is_refused(tmp_path, engine):
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff00000000'"))
    engine.dispose()
    with pytest.raises(CatalogError, match=r"newer pixseek \(revision ffff00000000\); upgrade pixseek"):
        catalog.open_catalog(tmp_path / "library")


def test_a_file_that_is_not_a_database_is_refused_with_one_line(tmp_path):
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "catalog.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(CatalogError, match="cannot open the catalog: file is not a database"):
        catalog.open_catalog(tmp_path / "library")


def test_the_migrations_match_the_models(engine, tmp_path):
    command.check(catalog.alembic_config(catalog.catalog_url(tmp_path / "library")))  # raises on any difference


OPEN_AT = """
import sys, time
from indexer.library.catalog import current_revision, open_catalog
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(current_revision(open_catalog(sys.argv[1])))
"""


def test_two_processes_opening_a_new_library_at_once_both_succeed(tmp_path):
    start = time.time() + 3.0  # both have imported and wait; then both open the same new file
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, str(tmp_path / "library"), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == [HEAD, HEAD]
