"""The one place the command line turns pixseek's typed errors into one line on stderr and an exit status."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager

import typer
from rich.console import Console

from indexer import Interrupted, PixseekError

# Progress bars; errors go through `reported`. Piped or redirected, rich lays its lines out for 80 columns, and the
# index bar's last columns (rates, elapsed, remaining) came out cut to "0:… 0:0…". A log keeps no width: there a
# line is as long as it needs (PIPED_WIDTH at most), unless COLUMNS sets one.
PIPED_WIDTH = 200
err = Console(stderr=True)
if not err.is_terminal and "COLUMNS" not in os.environ:
    err.width = PIPED_WIDTH


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
