"""`pixseek ui` and `pixseek demo` (composed into `pixseek` by ui/cli.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from indexer.catalog import has_catalog
from indexer.cli import LibraryOption, reported
from indexer.library import library_path

from . import demo
from .serve import serve

PortOption = Annotated[int, typer.Option(min=1, max=65535, help="The port to serve on.")]
HostOption = Annotated[str, typer.Option(help="The address to bind (127.0.0.1: this machine only).")]


def ui_command(port: PortOption = 8501, host: HostOption = "127.0.0.1", library: LibraryOption = None) -> None:
    """Open a library in the browser: search, duplicates, curation, library status and a map."""
    path = library_path(library)
    if not has_catalog(path):
        typer.echo(f"warning: {path} holds no library yet; the app will say how to make one", err=True)
    typer.echo(f"pixseek UI on {path}: http://{host}:{port} (Ctrl-C stops it)")
    raise typer.Exit(serve(path, host, port))


def _print_searches(library: Path) -> None:
    for query, hits in demo.searches(library):
        typer.echo(f'\nsearch "{query}":')
        for rank, hit in enumerate(hits, start=1):
            typer.echo(f"  {rank}. {hit.score:.3f}  {hit.path}")


def demo_command(
    serve_ui: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the UI on the demo library.")] = True,
    library: Annotated[
        Path | None, typer.Option("--library", "-l", help="Demo library folder (default: user data dir's demo).")
    ] = None,
    port: PortOption = 8501,
    host: HostOption = "127.0.0.1",
) -> None:
    """Build a demo library (generated shapes and scikit-image's photos), search it, and serve the UI on it."""
    start = time.perf_counter()
    with reported():
        built = demo.build(library)
        s = built.summary
        how = "reused" if built.reused else "generated"
        typer.echo(
            f"demo library {built.library} ({how} photos in {built.photos}; indexed {s.indexed}, "
            f"unchanged {s.unchanged}, duplicates {s.duplicates}) in {time.perf_counter() - start:.1f} s"
        )
        _print_searches(built.library)
    if serve_ui:
        typer.echo(f"\npixseek UI: http://{host}:{port} (Ctrl-C stops it)")
        raise typer.Exit(serve(built.library, host, port))
    typer.echo(f"\nserve it with: pixseek ui -l {built.library}")
