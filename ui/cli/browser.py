"""`pixseek ui`: serve the Streamlit app on a library (127.0.0.1 unless --host)."""

from __future__ import annotations

import typer

from indexer.library import has_catalog, library_path

from ..serve import check_port, serve
from .options import HostOption, LibraryOption, PortOption
from .report import reported


def ui_command(port: PortOption = 8501, host: HostOption = "127.0.0.1", library: LibraryOption = None) -> None:
    """Open a library in the browser: search, duplicates, curation, library status and a map."""
    path = library_path(library)
    with reported():
        check_port(host, port)
    if not has_catalog(path):
        typer.echo(f"warning: {path} holds no library yet; the app will say how to make one", err=True)
    typer.echo(f"pixseek UI on {path}: http://{host}:{port} (Ctrl-C stops it)")
    raise typer.Exit(serve(path, host, port))
