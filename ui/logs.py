"""What the terminal shows of the libraries' own logging: their warnings and errors, not their INFO lines."""

from __future__ import annotations

import logging

QUIET = ("alembic", "paddlenlp", "urllib3", "httpx", "faiss")


def quiet_library_logs() -> None:
    """Alembic announces its migration context on every catalog it opens and PaddleNLP puts a handler on
    the root logger that prints it: INFO of these libraries is dropped, WARNING and up still show."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
