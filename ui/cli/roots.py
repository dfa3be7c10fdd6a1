"""`pixseek roots list | move OLD NEW | remove ROOT`: a library's folders, where they went, and forgetting one."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from indexer.library import library_roots, move_library_root, remove_library_root

from .options import JsonFlag, LibraryOption
from .report import reported

roots_app = typer.Typer(
    help="A library's folders: list them (online or offline), move one to where it went, forget one.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@roots_app.command("list")
def list_command(library: LibraryOption = None, as_json: JsonFlag = False) -> None:
    """List the folders of the library, each with its file counts and whether it is online."""
    with reported():
        roots = library_roots(library)
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in roots], indent=2))
        return
    for r in roots:
        state = "online " if r.online else "offline"
        typer.echo(f"{state}  {r.path}  ({r.ok} ok, {r.failed} failed, {r.missing} missing)")
    if any(not r.online for r in roots):
        typer.echo("offline folders keep their files as they were: pixseek roots move OLD NEW if one moved", err=True)


@roots_app.command("move")
def move_command(
    old: Annotated[str, typer.Argument(help="The folder as the library knows it (see pixseek roots list).")],
    new: Annotated[Path, typer.Argument(help="Where that folder is now.")],
    library: LibraryOption = None,
) -> None:
    """Point a folder (and the folders indexed below it) to where it is now; every vector is kept."""
    with reported():
        moved = move_library_root(library, old, new)
    typer.echo(f"moved {moved.old} -> {moved.new}: {moved.files} files kept, {moved.found} found there")
    typer.echo(f"next: pixseek index {moved.new} (only what changed is read)", err=True)


@roots_app.command("remove")
def remove_command(
    root: Annotated[str, typer.Argument(help="The folder to forget (see pixseek roots list).")],
    library: LibraryOption = None,
) -> None:
    """Forget a folder: its files, and the images and vectors no other file has. Nothing on disk is touched."""
    with reported():
        removed = remove_library_root(library, root)
    typer.echo(f"removed {removed.path}: {removed.files} files and {removed.images} images forgotten")
