"""What the terminal shows of the libraries' own logging and output: their warnings and errors, not their INFO
lines; nothing of Pillow's (what it refuses is each file's recorded reason); no C decoder's stderr."""

from __future__ import annotations

import logging

from indexer.sources import keep_python_stderr

QUIET = ("alembic", "paddlenlp", "urllib3", "httpx", "faiss")


def quiet_library_logs() -> None:
    """Alembic announces its migration context on every catalog it opens and PaddleNLP puts a handler on
    the root logger that prints it: INFO of these libraries is dropped, WARNING and up still show. Pillow
    logs a file's refusal at ERROR ("More samples per pixel than can be decoded") beside the error it
    raises, which pixseek reports once: its records stop at its own logger. Python's stderr moves off fd 2,
    so that what C decoders write there is captured with the file being decoded (indexer.sources.guard)."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("PIL").propagate = False
    keep_python_stderr()
