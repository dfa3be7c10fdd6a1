"""Alembic environment for the catalog.

pixseek runs it from `indexer.library.catalog.open_catalog`, which passes its own locked connection in
`config.attributes["connection"]`. From the `alembic` command (alembic.ini at the repository root) it
opens the URL given by `-x url=...`, else `sqlalchemy.url`, through the same engine setup and lock.
"""

from __future__ import annotations

from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, make_url

from indexer.library import Base, create_catalog_engine, migration_connection

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name)  # the alembic command's logging; pixseek keeps its own


# The keyword index (an FTS5 table and its shadow tables in SQLite, a pg_trgm-indexed table in PostgreSQL) is made
# by raw SQL and kept by triggers, not by ORM classes: `alembic check` leaves it out instead of dropping it.
UNMAPPED = "file_keywords"


def include_name(name: str | None, type_: str, _parents) -> bool:
    return not (type_ == "table" and name and name.startswith(UNMAPPED))


def run_on(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things, so autogenerate writes table rebuilds.
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=True, include_name=include_name
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=Base.metadata,
        render_as_batch=True,
        literal_binds=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_catalog_engine(url.render_as_string(hide_password=False))
    try:
        with migration_connection(engine) as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
