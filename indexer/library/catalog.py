"""The catalog: open a library's database (SQLite by default, or PostgreSQL) at the newest schema, and its queries.

The tables live in `indexer.library.tables`. The schema is created and changed only by the Alembic revisions in
`migrations/`; `open_catalog` applies the pending ones before it hands out the engine, so a catalog
written by an older pixseek is upgraded in place and one written by a newer pixseek is refused. A
vector is stored as the float32 little-endian bytes of the L2-normalised embedding.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, create_engine, event, exc, func, make_url, select, text, update
from sqlalchemy.orm import Session

from indexer.errors import CatalogError

from .tables import FILE_STATUSES, Embedding, File, Image, Model, Root

CATALOG_FILE = "catalog.sqlite"
URL_FILE = "catalog.url"  # a library whose catalog lives in a database server records its URL here
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"  # the checkout's, or site-packages'
# The newest revision in migrations/ (tests/test_catalog.py holds it to Alembic's head). A catalog already
# there opens without importing Alembic, a tenth of a second of every command's start.
SCHEMA_HEAD = "9c3e5a7d2f14"
BUSY_TIMEOUT_MS = 30_000  # how long a connection waits for another process's write lock
LOCK_RETRIES = 20  # opening a new catalog: immediate lock failures (deadlocks) tried again, ~10 s in all


# --- opening and upgrading -------------------------------------------------------------------------


def catalog_url(library: Path | str) -> str:
    """Return the SQLAlchemy URL of a library's catalog: the one it recorded, else its SQLite file."""
    library = Path(library).expanduser().absolute()
    if (library / URL_FILE).is_file():
        return (library / URL_FILE).read_text(encoding="utf-8").strip()
    return f"sqlite:///{library / CATALOG_FILE}"


def has_catalog(library: Path | str) -> bool:
    """Whether the folder holds a library: its SQLite catalog, or the URL of its catalog database."""
    library = Path(library).expanduser()
    return (library / CATALOG_FILE).is_file() or (library / URL_FILE).is_file()


def driver_url(url: str) -> str:
    """The URL with an installed PostgreSQL driver: plain postgresql:// means psycopg2 to SQLAlchemy."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None:
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def use_database(library: Path | str, url: str) -> None:
    """Keep this library's catalog in the database at `url` (e.g. PostgreSQL) instead of catalog.sqlite.

    Recorded in <library>/catalog.url, so every later command finds it; a library that already has
    another catalog is refused rather than silently split in two."""
    library = Path(library).expanduser()
    url = driver_url(url.strip())
    try:
        make_url(url)
    except exc.ArgumentError as e:
        raise CatalogError(f"not a database URL: {url!r}") from e
    current = catalog_url(library)
    if current != url and ((library / CATALOG_FILE).exists() or (library / URL_FILE).exists()):
        raise CatalogError(
            f"{library} already keeps its catalog in {_shown(current)}; use a new library for {_shown(url)}"
        )
    library.mkdir(parents=True, exist_ok=True)
    (library / URL_FILE).write_text(url + "\n", encoding="utf-8")


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def alembic_config(url: str | None = None):
    """Return an Alembic config for the packaged migrations, optionally aimed at a database URL."""
    from alembic.config import Config  # only where a catalog is not at SCHEMA_HEAD (see above)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def create_catalog_engine(url: str) -> Engine:
    """Return an engine whose SQLite connections use WAL, foreign keys and a busy timeout (no migration)."""
    engine = create_engine(driver_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (_sqlite_begin), DDL included
    for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "foreign_keys = ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout instead of one
    # failing when its read transaction tries to become a write transaction.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in one write transaction for schema changes; commit if the foreign keys hold."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        # SQLite applies ON DELETE actions when a batch migration drops a table to rebuild it: keys off.
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.execution_options(sqlite_begin="IMMEDIATE").begin():
                yield connection
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise CatalogError(f"{_where(engine)}: a migration left rows pointing at missing rows")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


def open_catalog(library: Path | str, url: str | None = None) -> Engine:
    """Open (creating if new) a library's catalog, upgraded to the newest schema, and return its engine."""
    library = Path(library).expanduser()
    library.mkdir(parents=True, exist_ok=True)
    engine = create_catalog_engine(url or catalog_url(library))
    try:
        _upgrade_when_unlocked(engine)
    except exc.DBAPIError as e:
        engine.dispose()
        raise CatalogError(f"{_where(engine)}: cannot open the catalog: {e.orig}") from e
    except CatalogError:
        engine.dispose()
        raise
    return engine


def _upgrade_when_unlocked(engine: Engine) -> None:
    """_upgrade, tried again when SQLite reports a lock at once. Two processes creating one new catalog can
    both hold a read lock while switching it to WAL: SQLite sees the deadlock and fails one of them
    immediately, without waiting out the busy timeout; a moment later the other has finished."""
    for attempt in range(LOCK_RETRIES):
        try:
            return _upgrade(engine)
        except exc.OperationalError as e:
            if "database is locked" not in str(e.orig) or attempt == LOCK_RETRIES - 1:
                raise
            engine.dispose()
            time.sleep(0.05 * (attempt + 1))


def _upgrade(engine: Engine) -> None:
    if _stored_revision(engine) == SCHEMA_HEAD:
        return  # the usual case, decided without Alembic and without taking the write lock
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    if not _behind(script, current_revision(engine), engine):
        return  # the usual case: no write lock taken, so opening never waits on a running indexer
    with migration_connection(engine) as connection:
        if _behind(script, MigrationContext.configure(connection).get_current_revision(), engine):
            config.attributes["connection"] = connection  # migrations/env.py runs on it
            command.upgrade(config, "head")


def _stored_revision(engine: Engine) -> str | None:
    """The revision in the catalog's alembic_version table, or None (a new or foreign database)."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except exc.DBAPIError:
            connection.rollback()
            return None


def _behind(script, revision: str | None, engine: Engine) -> bool:
    if revision is not None and revision not in {s.revision for s in script.walk_revisions()}:
        raise CatalogError(
            f"{_where(engine)}: catalog was written by a newer pixseek (revision {revision}); upgrade pixseek"
        )
    return revision != script.get_current_head()


def _where(engine: Engine) -> str:
    return engine.url.database if engine.dialect.name == "sqlite" else engine.url.render_as_string(hide_password=True)


def current_revision(engine: Engine) -> str | None:
    """Return the catalog's Alembic revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def session(engine: Engine, *, write: bool = False) -> Session:
    """Return a new session; a write session takes SQLite's write lock at its first statement."""
    return Session(engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine)


# --- queries -----------------------------------------------------------------------------------------


def get_or_add_root(session: Session, path: Path | str) -> Root:
    """Return the root for a folder (made absolute, not resolved), adding it if new; flushed, not committed."""
    key = os.path.abspath(os.path.expanduser(path))
    root = session.scalar(select(Root).where(Root.path == key))
    if root is None:
        root = Root(path=key)
        session.add(root)
        session.flush()
    return root


def active_model(session: Session) -> Model | None:
    """Return the active model, or None before the first index run."""
    return session.scalar(select(Model).where(Model.active))


def activate_model(
    session: Session,
    name: str,
    weights_sha256: str,
    dim: int,
    runtime: str | None,
    source: str | None = None,
    *,
    activate: bool = True,
) -> Model:
    """Make the model with these weights the only active one, adding it if new; flushed, not committed.
    `activate=False` only records it (a switch run embeds with it while the old model serves searches).

    `runtime` None keeps the recorded one (an index run that needed no encoder does not know it)."""
    model = session.scalar(select(Model).where(Model.name == name, Model.weights_sha256 == weights_sha256))
    if model is None:
        model = Model(name=name, weights_sha256=weights_sha256, dim=dim, runtime=runtime or "unknown")
        session.add(model)
    elif model.dim != dim:
        raise CatalogError(f"model {name!r} ({weights_sha256[:12]}) is recorded with dim {model.dim}, not {dim}")
    if activate:
        session.execute(update(Model).where(Model.active).values(active=False))
    model.runtime, model.active = runtime or model.runtime, activate or model.active
    model.source = source or model.source
    session.flush()
    return model


def counts(session: Session) -> dict:
    """Return {"roots": n, "files": {status: n}, "images": n, "embeddings": {"name@sha12": n}}."""
    by_status = dict(session.execute(select(File.status, func.count()).group_by(File.status)).tuples().all())
    per_model = session.execute(
        select(Model.name, Model.weights_sha256, func.count(Embedding.image_id))
        .outerjoin(Embedding)
        .group_by(Model.id)
        .order_by(Model.name, Model.id)
    ).tuples()
    return {
        "roots": session.scalar(select(func.count()).select_from(Root)),
        "files": {status: by_status.get(status, 0) for status in FILE_STATUSES},
        "images": session.scalar(select(func.count()).select_from(Image)),
        "embeddings": {f"{name}@{sha[:12]}": n for name, sha, n in per_model},
    }


def failures(session: Session, limit: int = 20) -> list[tuple[str, str]]:
    """Return up to `limit` (path, error) pairs of files that failed, sorted by path."""
    rows = session.execute(
        select(Root.path, File.relpath, File.error)
        .join(File.root)
        .where(File.status == "failed")
        .order_by(Root.path, File.relpath)
        .limit(limit)
    ).tuples()
    return [(str(Path(root, relpath)), error or "") for root, relpath, error in rows]


def searchable_images(session: Session, model_id: int) -> int:
    """Distinct images a search can return: with an ok file and a vector of this model (exact copies once)."""
    ok = select(File.image_id).where(File.status == "ok")
    return session.scalar(
        select(func.count()).select_from(Embedding).where(Embedding.model_id == model_id, Embedding.image_id.in_(ok))
    )


def recent_failures(session: Session, limit: int = 20) -> list[tuple[str, str, datetime]]:
    """Return up to `limit` (path, error, last tried) of files that failed, the most recently tried first."""
    rows = session.execute(
        select(Root.path, File.relpath, File.error, File.last_seen)
        .join(File.root)
        .where(File.status == "failed")
        .order_by(File.last_seen.desc(), Root.path, File.relpath)
        .limit(limit)
    ).tuples()
    return [(str(Path(root, relpath)), error or "", seen) for root, relpath, error, seen in rows]


# --- vectors ---------------------------------------------------------------------------------------


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Return the stored form of one (d,) float vector: d float32 little-endian values."""
    vector = np.asarray(vector)
    if vector.ndim != 1 or vector.dtype.kind != "f":
        raise ValueError(f"expected one (d,) float vector, got {vector.dtype} of shape {vector.shape}")
    return vector.astype("<f4", copy=False).tobytes()


def bytes_to_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Return the (n, dim) float32 array of n stored vectors."""
    wrong = next((len(blob) for blob in blobs if len(blob) != 4 * dim), None)
    if wrong is not None:
        raise CatalogError(f"a stored vector has {wrong} bytes; a {dim}-d float32 vector has {4 * dim}")
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dim).astype(np.float32)
