"""`pixseek search`: the command line of search.Searcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from search import SORTS, RemoteSearcher, Searcher, SearchResult

from ..metadata import human_size
from .options import (
    AfterOption,
    BeforeOption,
    CameraOption,
    DeviceOption,
    DtypeOption,
    FormatsOption,
    JsonFlag,
    LibraryOption,
    MaxHeightOption,
    MaxWidthOption,
    MinHeightOption,
    MinWidthOption,
    RuntimeOption,
    StrictnessOption,
    UnderOption,
    choice,
    filters_from,
)
from .report import reported


def _row(rank: int, hit) -> list[str]:
    taken = hit.taken_at.strftime("%Y-%m-%d %H:%M") if hit.taken_at else ""
    size = human_size(hit.size)
    return [str(rank), str(hit.image_id), f"{hit.score:.3f}", hit.path, taken, size, f"{hit.width}x{hit.height}"]


def _print_hits(result: SearchResult, offset: int) -> None:
    """A table on a terminal (paths folded, never cut); tab-separated lines when piped (one hit a line)."""
    if not result.hits:
        typer.echo("no results" + (" (none stands out: try without --relevant)" if result.total == 0 else ""), err=True)
        return
    rows = [_row(rank, hit) for rank, hit in enumerate(result.hits, start=offset + 1)]
    console = Console()
    if console.is_terminal:
        table = Table("#", "id", "score", "path", "taken", "size", "pixels")
        table.columns[3].overflow = "fold"
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        typer.echo("\n".join("\t".join(row) for row in rows))
    if result.total is not None:
        typer.echo(f"{result.total} relevant results", err=not console.is_terminal)


def search_command(
    query: Annotated[
        list[str] | None, typer.Argument(help='Terms and operators: "beach" + "0.5:sunset" - "people", id:123.')
    ] = None,
    image: Annotated[
        list[Path] | None, typer.Option("--image", "-i", help="An image file to search with (repeatable).")
    ] = None,
    keywords: Annotated[
        str | None,
        typer.Option(
            "--text",
            "-t",
            help="Keywords in file and folder names, tar captions, camera make/model (IMG_20, 2021); no model "
            "is loaded for them alone; with a query, one list of both ranked together.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="How many results.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many results (paging).")] = 0,
    relevant: Annotated[bool, typer.Option(help="Only the results that stand out for this query.")] = False,
    strictness: StrictnessOption = 0.5,
    sort: Annotated[
        str, typer.Option(callback=choice(SORTS), help="Order the results (all relevant ones) by this.")
    ] = "score",
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
    runtime: RuntimeOption = "auto",
    device: DeviceOption = "auto",
    dtype: DtypeOption = "auto",
    server: Annotated[
        str | None,
        typer.Option(
            envvar="PIXSEEK_SERVER", help="Ask a running `pixseek serve` (its URL) instead of loading the model."
        ),
    ] = None,
    token: Annotated[str | None, typer.Option(envvar="PIXSEEK_TOKEN", help="The server's bearer token.")] = None,
    as_json: JsonFlag = False,
    paths_only: Annotated[bool, typer.Option("--paths", "-f", help="Print only the paths, one per line.")] = False,
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the --sort order.")] = False,
) -> None:
    """Search a library by text, image files, indexed images or keywords, with filters and a relevance cutoff."""
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
            keywords=keywords,
            offset=offset,
            filters=filters,
            relevant=relevant,
            strictness=strictness,
            sort=sort,
            reverse=reverse,
        )
    for note in result.warnings:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(json.dumps([h.as_dict() for h in result.hits], indent=2))
    elif paths_only:
        typer.echo("\n".join(h.path for h in result.hits))
    else:
        _print_hits(result, offset)
