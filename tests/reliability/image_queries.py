"""`pixseek search --image FILE` over many files in one process, as the command line runs it (its own option
parsing, error reporter and exit status), with each query's stdout, stderr and C-level fd-2 output apart.

    python -m tests.reliability.image_queries LIBRARY FILE...   # one JSON line per file

One process, because a fresh `pixseek` per file costs its imports (seconds) a hundred times over.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import traceback

from ui.cli import app


def query(library: str, path: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    c_level, saved = tempfile.TemporaryFile(), os.dup(2)
    code, escaped = 0, None
    os.dup2(c_level.fileno(), 2)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            app(["search", "--image", path, "-l", library, "-k", "3", "--json"], prog_name="pixseek")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - what the test counts as a traceback
        escaped = traceback.format_exc()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    c_level.seek(0)
    return {
        "path": path,
        "exit": code,
        "traceback": escaped,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "c_stderr": c_level.read().decode("utf-8", "replace"),
    }


def main(argv: list[str]) -> int:
    library, *files = argv
    for path in files:
        print(json.dumps(query(library, path)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
