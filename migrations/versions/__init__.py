"""The catalog's schema revisions, one file each, oldest first by file name (Alembic skips this file)."""
