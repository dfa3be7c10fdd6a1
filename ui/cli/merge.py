"""`pixseek merge OTHER_LIBRARY`: another library's folders, files, images and vectors into this one."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from indexer.library import merge

from .options import JsonFlag, LibraryOption
from .report import reported


def merge_command(
    other: Annotated[Path, typer.Argument(help="The library folder to merge in (only read).")],
    library: LibraryOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Merge another library made with the same model into this one: vectors reused, copies joined."""
    with reported():
        summary = merge(library, other)
    if as_json:
        typer.echo(json.dumps(asdict(summary), indent=2))
        return
    typer.echo(
        f"merged {other}: {summary.roots} folders, {summary.files} files and {summary.images} images added, "
        f"{summary.updated} files updated, {summary.joined} images both held joined, {summary.vectors} vectors "
        "copied (no model call)"
    )
