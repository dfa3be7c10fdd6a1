"""keyword index of names, captions and cameras

Why: keyword search (`pixseek search --text IMG_20`) finds files by a piece of their name or folder, their
tar sample's caption or their camera, beside and fused with semantic search.

One row per file: its name (after the last `/` or a tar's `::`), its whole path (the root's, then the
relpath, so every folder name is in it), its caption and its camera "make model". Triggers keep the rows in
step with every write (index, move, rename, re-index, `roots move`, deletion), whichever code path makes
it, and the upgrade fills them for the files already there.
Measured on the 2-core machine (SQLite, 20,000 new file rows in batches of 500): 0.104 ms a row with the
triggers, 0.040 without; a keyword query over them 35-50 ms.

SQLite: an FTS5 table with the trigram tokenizer. unicode61 splits `IMG_20230512_1200.jpg` into whole
tokens, so `IMG_20` or `2023` would need prefix queries and still miss a piece in the middle; trigram
matches any substring of 3 characters or more, case-insensitively, and bm25 still ranks. The table is
not in the ORM's metadata (migrations/env.py leaves it out of `alembic check`). A batch migration that
rebuilds `files`, `roots` or `images` drops their triggers: such a migration must create them again.

PostgreSQL: the same rows in a plain table with a pg_trgm GIN index over their text, so ILIKE '%IMG_20%'
is an index scan and matches what SQLite's trigram table matches.

Revision ID: f2d8a6c4b1e9
Revises: b3f1c2d4e5a6
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "f2d8a6c4b1e9"
down_revision = "b3f1c2d4e5a6"
branch_labels = None
depends_on = None

# The keyword row of each file f (joined to its root r and image i), for one dialect's name function.
ROWS = """
SELECT f.id, {name}, r.path || '/' || f.relpath, f.caption,
       NULLIF(TRIM(COALESCE(i.camera_make, '') || ' ' || COALESCE(i.camera_model, '')), '')
FROM files f JOIN roots r ON r.id = f.root_id LEFT JOIN images i ON i.id = f.image_id
"""
# The name: what follows the last '/' ('::' of a tar member made one first). SQLite has no basename or
# regexp: rtrim by every character that is not '/' leaves the folders, and substr takes what follows.
SQLITE_NAME = (
    "substr(replace(f.relpath, '::', '/'), "
    "length(rtrim(replace(f.relpath, '::', '/'), replace(replace(f.relpath, '::', '/'), '/', ''))) + 1)"
)
POSTGRES_NAME = r"regexp_replace(f.relpath, '^.*(/|::)', '')"

# (trigger, event, which files its rows are refreshed for)
TRIGGERS = [
    ("file_keywords_file_added", "AFTER INSERT ON files", "f.id = NEW.id"),
    ("file_keywords_file_changed", "AFTER UPDATE OF root_id, relpath, caption, image_id ON files", "f.id = NEW.id"),
    ("file_keywords_root_moved", "AFTER UPDATE OF path ON roots", "f.root_id = NEW.id"),
    ("file_keywords_camera_changed", "AFTER UPDATE OF camera_make, camera_model ON images", "f.image_id = NEW.id"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite() -> None:
    rows = ROWS.format(name=SQLITE_NAME)
    op.execute("CREATE VIRTUAL TABLE file_keywords USING fts5(name, path, caption, camera, tokenize = 'trigram')")
    insert = "INSERT INTO file_keywords (rowid, name, path, caption, camera)"
    for trigger, event, which in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {trigger} {event} BEGIN "
            f"DELETE FROM file_keywords WHERE rowid IN (SELECT f.id FROM files f WHERE {which}); "
            f"{insert} {rows} WHERE {which}; END"
        )
    op.execute("CREATE TRIGGER file_keywords_file_deleted AFTER DELETE ON files BEGIN "
               "DELETE FROM file_keywords WHERE rowid = OLD.id; END")  # fmt: skip
    op.execute(f"{insert} {rows}")


def _upgrade_postgresql() -> None:
    rows = ROWS.format(name=POSTGRES_NAME)
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE TABLE file_keywords ("
        " file_id INTEGER PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,"
        " name TEXT NOT NULL, path TEXT NOT NULL, caption TEXT, camera TEXT,"
        " document TEXT GENERATED ALWAYS AS"
        " (name || ' ' || path || ' ' || COALESCE(caption, '') || ' ' || COALESCE(camera, '')) STORED)"
    )
    op.execute("CREATE INDEX ix_file_keywords_document ON file_keywords USING gin (document gin_trgm_ops)")
    insert = "INSERT INTO file_keywords (file_id, name, path, caption, camera)"
    for trigger, event, which in TRIGGERS:
        op.execute(
            f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"DELETE FROM file_keywords WHERE file_id IN (SELECT f.id FROM files f WHERE {which}); "
            f"{insert} {rows} WHERE {which}; RETURN NULL; END $$"
        )
        op.execute(f"CREATE TRIGGER {trigger} {event} FOR EACH ROW EXECUTE FUNCTION {trigger}()")
    op.execute(f"{insert} {rows}")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger, event, _ in TRIGGERS:
        table = event.rsplit(" ", 1)[1]
        op.execute(f"DROP TRIGGER {trigger} ON {table}" if postgresql else f"DROP TRIGGER {trigger}")
        if postgresql:
            op.execute(f"DROP FUNCTION {trigger}()")
    if not postgresql:
        op.execute("DROP TRIGGER file_keywords_file_deleted")
    op.execute("DROP TABLE file_keywords")
