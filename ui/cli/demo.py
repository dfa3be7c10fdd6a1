"""`pixseek demo`: build the demo library, print a few searches, serve the UI on it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from .. import demo
from ..serve import check_port, serve
from .counts import counts_text
from .options import HostOption, PortOption
from .report import reported


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
        if serve_ui:
            check_port(host, port)
        built = demo.build(library)
        how = "reused" if built.reused else "generated"
        typer.echo(
            f"demo library {built.library} ({how} photos in {built.photos}; {counts_text(built.summary)}) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        _print_searches(built.library)
    if serve_ui:
        typer.echo(f"\npixseek UI: http://{host}:{port} (Ctrl-C stops it)")
        raise typer.Exit(serve(built.library, host, port))
    typer.echo(f"\nserve it with: pixseek ui -l {built.library}")
