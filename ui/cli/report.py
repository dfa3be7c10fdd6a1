"""The one place the command line turns pixseek's typed errors into one line on stderr and an exit status."""

from __future__ import annotations

import gc
from contextlib import contextmanager

import typer
from rich.console import Console

from indexer import Interrupted, PixseekError

err = Console(stderr=True)  # progress bars; errors go through `reported`


class OptionConflict(PixseekError):
    """Options that cannot go together, or one that needs another: a usage error of the command line."""


@contextmanager
def reported():
    """Turn a pixseek error into one line on stderr and exit status 2 (never a traceback)."""
    try:
        yield
    except Interrupted as exc:
        typer.echo(f"error: {exc}", err=True)
        # The interpreter's last garbage collection walks every object Paddle and its imports made: seconds
        # on a busy machine. A stop that was asked for should not wait on it; frozen objects are skipped.
        gc.freeze()
        raise typer.Exit(128 + exc.signum) from None  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM
    except PixseekError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
