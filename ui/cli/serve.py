"""`pixseek serve`: the HTTP service of one library (ui/service), on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from indexer.library import has_catalog, library_path

from ..serve import check_port
from ..service import create_app
from .options import DeviceOption, HostOption, LibraryOption, PortOption, RuntimeOption
from .report import OptionConflict, reported

LOCAL = ("127.0.0.1", "localhost", "::1")


def serve_command(
    library: LibraryOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8765,
    token: Annotated[
        str | None, typer.Option(envvar="PIXSEEK_TOKEN", help="Require `Authorization: Bearer TOKEN` on every request.")
    ] = None,
    cors: Annotated[
        list[str] | None, typer.Option(help="Let pages from this origin call the API (repeatable).")
    ] = None,
    runtime: RuntimeOption = "auto",
    device: DeviceOption = "auto",
) -> None:
    """Serve a library over HTTP: search, thumbnails, status, duplicates, and clip-retrieval's /knn-service."""
    with reported():
        if host not in LOCAL and not token:
            raise OptionConflict(f"--host {host} lets other machines in: give --token (or PIXSEEK_TOKEN) as well")
        check_port(host, port)
        path = library_path(library)
        app = create_app(path, token=token, cors=tuple(cors or ()), runtime=runtime, device=device)
        if has_catalog(path):
            app.state.library.warm()  # the model and index load now, not at the first request
    typer.echo(f"pixseek service on {path}: http://{host}:{port} (API docs at /docs; Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
