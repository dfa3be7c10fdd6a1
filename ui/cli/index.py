"""`pixseek index`: options to IndexSettings, a rich progress bar with rates and ETA, the summary."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from indexer.library import library_path, use_database
from indexer.model import cheaper_release
from indexer.pipeline import GpuSpecError, IndexSettings, WatchSettings, index, resolve_gpus, visible_gpus
from indexer.sources import ScanOptions

from .counts import counts_text
from .options import DeviceOption, DtypeOption, JsonFlag, LibraryOption, ModelOption, RuntimeOption
from .report import OptionConflict, err, reported
from .watching import watch_folders


def _index_progress(console=err):
    """A rich progress bar with files/s, images encoded/s and an ETA, and the callback that feeds it. Loading
    the model (seconds to minutes for a large one, longer the first time its weights are converted) is a stage
    of its own: a line that pulses while it lasts and then says how long it took; the rates leave the
    load's time out, so the bar never sits at 0.0 images/s waiting for it."""
    bar_column = BarColumn()
    bar = Progress(
        "[progress.description]{task.description}",
        bar_column,
        MofNCompleteColumn(),
        TextColumn("{task.fields[rates]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = bar.add_task("scanning", total=None, rates="")
    _fit(bar_column, console, "indexing")
    clock: dict = {"start": 0.0, "load": None, "told": False}  # perf_counter at the first update; the load's task

    def update(state) -> None:
        now = time.perf_counter()
        if not clock["start"]:
            clock["start"] = now
            bar.start()  # only once there is work: a run that fails at once prints just its error
        if state.stage == "loading model":
            # the bar narrowed and the line changed before the load's line comes: a frame drawn between them is whole
            _fit(bar_column, console, f"loading model {state.model}")
            bar.update(task, description="waiting for the model", total=state.total, completed=state.done, rates="")
            if clock["load"] is None:
                clock["load"] = bar.add_task(f"loading model {state.model}", total=None, rates="")
            return
        if clock["load"] is not None and state.load_seconds is not None:
            # said once as a line of its own: a finished task would keep its long description widening the column
            bar.remove_task(clock["load"])
            clock["load"] = None
            _fit(bar_column, console, "indexing")
            bar.console.print(f"model {state.model} loaded in {state.load_seconds:.1f} s")
        elapsed = max(now - clock["start"] - (state.load_seconds or 0.0), 1e-6)  # the rates leave the load out
        rates = f"{state.done / elapsed:.1f} files/s, {state.images / elapsed:.1f} images/s"
        bar.update(task, description=state.stage, total=state.total, completed=state.done, rates=rates)
        if not clock["told"] and state.remaining_s is not None:
            clock["told"] = True
            if state.remaining_s >= LONG_RUN_S:
                bar.console.print(cost_line(state))

    return bar, update


TEXT_COLUMNS = 75  # "indexing 12,345/12,345 1,234.5 files/s, 1,234.5 images/s 0:00:00 0:00:00" and the gaps
LONG_RUN_S = 60.0  # a run expected to take longer is told its cost, and a cheaper model's, after its first batch


def _fit(column: BarColumn, console, description: str) -> None:
    """The bar gets what the text leaves of the console's width (TEXT_COLUMNS with "indexing", more while a longer
    description such as "loading model vit-g-14" widens the first column), 5 to 40 columns: at 40 in an 80-column
    terminal the counts, rates and times were cut to "30…", "0:…"."""
    text = TEXT_COLUMNS + max(0, len(description) - len("indexing"))
    column.bar_width = max(5, min(40, console.width - text))


def cost_line(state) -> str:
    """'2,140 files to go, about 1 h 20 min on this CPU with vit-g-14; vit-b-32 would take about 4 min'."""
    where = "this CPU" if state.device == "cpu" else f"this GPU ({state.device})"
    line = (
        f"{state.total - state.done:,} files to go, about {_duration(state.remaining_s)} on {where} with {state.model}"
    )
    cheaper = cheaper_release(state.vision_gflop) if state.vision_gflop else None
    if cheaper is not None:
        name, gflop = cheaper
        line += f"; {name} would take about {_duration(state.remaining_s * gflop / state.vision_gflop)}"
    return line


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{max(1, round(seconds))} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def index_command(
    roots: Annotated[
        list[Path], typer.Argument(help="Folders or WebDataset tar shards (brace patterns too) to index (again).")
    ],
    library: LibraryOption = None,
    model: ModelOption = None,
    switch_model: Annotated[
        bool, typer.Option("--switch-model", help="Embed every file again with --model and make it the library's.")
    ] = False,
    runtime: RuntimeOption = "auto",
    device: DeviceOption = "auto",
    gpus: Annotated[
        str | None, typer.Option(help="Spread over GPUs, one process each: all, a count, or indices like 0,1.")
    ] = None,
    gpu_decode: Annotated[str, typer.Option(help="Decode large JPEGs on the GPU too: auto, on or off.")] = "auto",
    dtype: DtypeOption = "auto",
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Images per batch \\[default: what fits the GPU (<= 256, 64 while its JPEG engines decode); CPU 32].",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=0, help="Decode processes (0: in-process).")] = None,
    include: Annotated[list[str] | None, typer.Option(help="Only paths matching this glob (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Skip paths matching this glob (repeatable).")] = None,
    hidden: Annotated[bool, typer.Option(help="Also index hidden files and folders.")] = False,
    follow_symlinks: Annotated[bool, typer.Option(help="Follow symbolic links.")] = False,
    tars: Annotated[
        bool, typer.Option(help="Index the images inside *.tar files (WebDataset shards) in the folders.")
    ] = True,
    draft: Annotated[bool, typer.Option(help="Decode large JPEGs at reduced size (faster).")] = True,
    file_time_limit: Annotated[
        float, typer.Option(min=0, help="Seconds to read and decode one file before skipping it (0: no limit).")
    ] = 60.0,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any file failed.")] = False,
    engine: Annotated[
        str, typer.Option(help="local (this machine's processes) or ray (Ray Data; pip install pixseek\\[ray]).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="With --engine ray: a running cluster (auto, ray://host:10001); default local.")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            help="Keep the catalog in this database (SQLAlchemy URL, e.g. postgresql://user:pw@host/db) "
            "instead of catalog.sqlite; recorded in the library, so later commands find it."
        ),
    ] = None,
    as_json: JsonFlag = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Then keep following the folders: index files as they arrive, change, go.")
    ] = False,
    poll: Annotated[
        bool | None,
        typer.Option(
            "--poll/--no-poll", help="With --watch: poll instead of kernel events \\[default: network mounts]."
        ),
    ] = None,
    settle: Annotated[
        float, typer.Option(min=0, help="With --watch: read a file once its size and mtime held this many seconds.")
    ] = 1.0,
) -> None:
    """Index image folders: embed new and changed images; a re-run does only what changed; --watch follows them."""
    scan = ScanOptions(
        follow_symlinks=follow_symlinks,
        include_hidden=hidden,
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        shards=tars,
    )
    settings = IndexSettings(
        runtime=runtime,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        draft=draft,
        scan=scan,
        file_time_limit=file_time_limit,
        engine=engine,
        ray_address=ray_address,
        gpu_decode=gpu_decode,
        **({} if workers is None else {"workers": workers}),
    )
    with reported():
        if db:
            use_database(library_path(library), db)
        settings = _with_gpus(settings, gpus, device)
        if watch and switch_model:
            raise OptionConflict("--watch follows the library's own model; switch first, then watch")
    if watch:
        watching = WatchSettings(settle_s=settle, poll=poll)
        watch_folders(roots, library, model, settings, watching, as_json, None if as_json else _index_progress())
        return
    with reported():
        if as_json:
            summary = index(roots, library, model, settings, switch_model=switch_model)
        else:
            bar, update = _index_progress()
            try:
                summary = index(roots, library, model, settings, progress=update, switch_model=switch_model)
            finally:
                bar.stop()
    for path, reason in summary.failures:
        typer.echo(f"skipping {path}: {reason}", err=True)
    for note in summary.warnings:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        typer.echo(f"{counts_text(summary)} in {summary.seconds:.1f} s")
    if strict and summary.failed:
        raise typer.Exit(1)


def _with_gpus(settings, gpus: str | None, device: str):
    """Settings for --gpus: its devices (one: that device; several: one process each)."""
    if gpus is None:
        return settings
    if device != "auto":
        raise GpuSpecError(gpus, "give --gpus or --device, not both")
    devices = resolve_gpus(gpus, visible_gpus())
    return dataclasses.replace(settings, device=devices[0], gpus=devices if len(devices) > 1 else ())
