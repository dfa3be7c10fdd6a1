"""Alembic's environment and revisions for the catalog; a package so that it installs beside `indexer`."""
