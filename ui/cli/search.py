"""`pixseek search`: the command line of search.Searcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from search import SORTS, RemoteSearcher, Searcher, SearchResult

from .options import (
    AfterOption,
    BeforeOption,
    CameraOption,
    FormatsOption,
    JsonFlag,
    LibraryOption,
    MaxHeightOption,
    MaxWidthOption,
    MinHeightOption,
    MinWidthOption,
    StrictnessOption,
    UnderOption,
    filters_from,
)
from .report import reported


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _print_table(result: SearchResult, offset: int) -> None:
    table = Table("#", "score", "path", "taken", "size", "pixels")
    for rank, hit in enumerate(result.hits, start=offset + 1):
        taken = hit.taken_at.strftime("%Y-%m-%d %H:%M") if hit.taken_at else ""
        table.add_row(
            str(rank), f"{hit.score:.3f}", hit.path, taken, f"{hit.size / 1024:.0f} KB", f"{hit.width}x{hit.height}"
        )
    Console().print(table)
    if result.total is not None:
        typer.echo(f"{result.total} relevant results")


def search_command(
    query: Annotated[
        list[str] | None, typer.Argument(help='Terms and operators: "beach" + "0.5:sunset" - "people", id:123.')
    ] = None,
    image: Annotated[
        list[Path] | None, typer.Option("--image", "-i", help="An image file to search with (repeatable).")
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="How many results.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many results (paging).")] = 0,
    relevant: Annotated[bool, typer.Option(help="Only the results that stand out for this query.")] = False,
    strictness: StrictnessOption = 0.5,
    sort: Annotated[str, typer.Option(help=f"Order results by {', '.join(SORTS)}.")] = "score",
    under: UnderOption = None,
    after: AfterOption = None,
    before: BeforeOption = None,
    camera: CameraOption = None,
    min_width: MinWidthOption = None,
    min_height: MinHeightOption = None,
    max_width: MaxWidthOption = None,
    max_height: MaxHeightOption = None,
    formats: FormatsOption = None,
    library: LibraryOption = None,
    runtime: Annotated[str, typer.Option(help="auto, numpy, paddle or torch.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    dtype: Annotated[
        str,
        typer.Option(help="The query encoder's weights: auto (the library's precision), float32, bfloat16, float16."),
    ] = "auto",
    server: Annotated[
        str | None,
        typer.Option(
            envvar="PIXSEEK_SERVER", help="Ask a running `pixseek serve` (its URL) instead of loading the model."
        ),
    ] = None,
    token: Annotated[str | None, typer.Option(envvar="PIXSEEK_TOKEN", help="The server's bearer token.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Search a library by text, image files or indexed images, with filters and a relevance cutoff."""
    filters = filters_from(under, after, before, camera, min_width, min_height, max_width, max_height, formats)
    with reported():
        if server:
            searcher = RemoteSearcher(server, token)
        else:
            searcher = Searcher(library, runtime=runtime, device=device, dtype=dtype)
        result = searcher.search(
            query or [],
            k,
            images=image or [],
            offset=offset,
            filters=filters,
            relevant=relevant,
            strictness=strictness,
            sort=sort,
        )
    for note in result.warnings:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(json.dumps([h.as_dict() for h in result.hits], indent=2))
    else:
        _print_table(result, offset)
