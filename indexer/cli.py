"""`pixseek models ...`: list, inspect and download models (a typer sub-app composed by ui/cli.py)."""

from __future__ import annotations

import gc
import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from . import registry
from .checkpoint import read_checkpoint, weights_file
from .download import download_model
from .errors import Interrupted, ModelNotDownloaded, PixseekError, UnknownModel
from .tokenizer import Tokenizer

models_app = typer.Typer(help="List, inspect and download CLIP models.", no_args_is_help=True)
err = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


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


def _model_rows() -> list[dict]:
    rows = []
    for name, model in registry.REGISTRY.items():
        path = registry.model_path(name)
        present = (path / "config.json").is_file()
        rows.append({"name": name, "description": model.description, "installed": present, "path": str(path)})
    return rows


@models_app.command("list")
def list_models(as_json: JsonFlag = False) -> None:
    """List the models pixseek knows and whether each is installed."""
    rows = _model_rows()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "installed", "description", "path")
    for row in rows:
        table.add_row(row["name"], "yes" if row["installed"] else "no", row["description"], row["path"])
    Console().print(table)


@models_app.command("info")
def info(
    model: Annotated[str, typer.Argument(help="A model name or a model directory.")], as_json: JsonFlag = False
) -> None:
    """Validate a model directory and show its architecture, size and files."""
    with reported():
        name, path = registry.resolve(model)
        config, state = read_checkpoint(path)
    v, t = config.vision, config.text
    summary = {
        "name": name,
        "path": str(path),
        "weights": weights_file(path).name,
        "dim": config.embed_dim,
        "parameters": int(sum(a.size for a in state.values())),
        "vision": {
            "width": v.width,
            "layers": v.layers,
            "heads": v.heads,
            "mlp": v.mlp,
            "patch": v.patch,
            "image_size": v.image_size,
            "act": v.act,
        },
        "text": {
            "width": t.width,
            "layers": t.layers,
            "heads": t.heads,
            "mlp": t.mlp,
            "context": t.context,
            "vocab": t.vocab,
            "act": t.act,
        },
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        typer.echo(f"{key:>10}: {value}")


def _progress_bar() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


@models_app.command("download")
def download(
    name: Annotated[str, typer.Argument(help="A registered model name, e.g. vit-g-14.")] = "vit-g-14",
    base_url: Annotated[str | None, typer.Option(help="Fetch the files from this URL prefix (a mirror).")] = None,
    dest: Annotated[Path | None, typer.Option(help="Directory to install into (default: models dir).")] = None,
) -> None:
    """Download a model's files (resumable; size and sha256 verified), then validate the directory."""
    with reported():
        if name not in registry.REGISTRY or registry.REGISTRY[name].source is None:
            downloadable = [n for n, m in registry.REGISTRY.items() if m.source]
            raise UnknownModel(name, downloadable)
        target = dest or registry.model_path(name)
        # Files land in a staging folder (kept between runs, so a re-run resumes) and the model is
        # installed only once the whole directory has loaded and validated.
        staging = target.with_name(target.name + ".partial")
        with _progress_bar() as bar:
            tasks: dict[str, int] = {}

            def progress(file: str, done: int, total: int | None) -> None:
                if file not in tasks:
                    tasks[file] = bar.add_task(file, total=total)
                bar.update(tasks[file], completed=done, total=total)

            download_model(registry.REGISTRY[name].remote_files(base_url), staging, progress=progress)
        _install(staging, target)
    typer.echo(f"installed {name} at {target}")


def _install(staging: Path, target: Path) -> None:
    try:
        read_checkpoint(staging)
        Tokenizer.from_dir(staging)
    except PixseekError:
        shutil.rmtree(staging)  # a download that does not load is never installed, nor resumed
        raise
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


@models_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="A downloaded model name.")]) -> None:
    """Delete a downloaded model's directory."""
    with reported():
        if name not in registry.REGISTRY or registry.REGISTRY[name].source is None:
            raise UnknownModel(name, [n for n, m in registry.REGISTRY.items() if m.source])
        path = registry.model_path(name)
        if not path.is_dir():
            raise ModelNotDownloaded(name, str(path))
    shutil.rmtree(path)
    typer.echo(f"removed {path}")


LibraryOption = Annotated[
    Path | None,
    typer.Option("--library", "-l", envvar="PIXSEEK_LIBRARY", help="Library folder (default: user data dir)."),
]
ModelOption = Annotated[str, typer.Option("--model", "-m", envvar="PIXSEEK_MODEL", help="Model name or directory.")]


def _index_progress():
    """A rich progress bar with files/s, images encoded/s and an ETA, and the callback that feeds it."""
    from rich.progress import MofNCompleteColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rates]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    task = bar.add_task("indexing", total=None, rates="")
    start = [0.0]

    def update(state) -> None:
        import time

        if not start[0]:
            start[0] = time.perf_counter()
            bar.start()  # only once there is work: a run that fails at once prints just its error
        elapsed = max(time.perf_counter() - start[0], 1e-6)
        rates = f"{state.done / elapsed:.1f} files/s, {state.images / elapsed:.1f} images/s"
        bar.update(task, total=state.total, completed=state.done, rates=rates)

    return bar, update


def index_command(
    roots: Annotated[
        list[Path], typer.Argument(help="Folders or WebDataset tar shards (brace patterns too) to index (again).")
    ],
    library: LibraryOption = None,
    model: ModelOption = "tiny-shapes",
    runtime: Annotated[str, typer.Option(help="auto, paddle or torch.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    gpus: Annotated[
        str | None, typer.Option(help="Spread over GPUs, one process each: all, a count, or indices like 0,1.")
    ] = None,
    gpu_decode: Annotated[str, typer.Option(help="Decode large JPEGs on the GPU too: auto, on or off.")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto, float32, float16 or bfloat16.")] = "auto",
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Images per model batch [default: what fits the GPU (<= 256); CPU: 32].")
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
        str, typer.Option(help="local (this machine's processes) or ray (Ray Data; pip install pixseek[ray]).")
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
) -> None:
    """Index image folders: embed new and changed images; a re-run does only what changed."""
    from .catalog import use_database
    from .library import library_path
    from .pipeline import IndexSettings, index
    from .scan import ScanOptions

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
        if as_json:
            summary = index(roots, library, model, settings)
        else:
            bar, update = _index_progress()
            try:
                summary = index(roots, library, model, settings, progress=update)
            finally:
                bar.stop()
    for path, reason in summary.failures:
        typer.echo(f"skipping {path}: {reason}", err=True)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        counts = ", ".join(
            f"{k} {v}" for k, v in summary.as_dict().items() if k not in ("failures", "seconds", "stages")
        )
        typer.echo(f"{counts} in {summary.seconds:.1f} s")
    if strict and summary.failed:
        raise typer.Exit(1)


def _with_gpus(settings, gpus: str | None, device: str):
    """Settings for --gpus: its devices (one: that device; several: one process each)."""
    import dataclasses

    from .gpu_shards import GpuSpecError, resolve_gpus, visible_gpus

    if gpus is None:
        return settings
    if device != "auto":
        raise GpuSpecError(gpus, "give --gpus or --device, not both")
    devices = resolve_gpus(gpus, visible_gpus())
    return dataclasses.replace(settings, device=devices[0], gpus=devices if len(devices) > 1 else ())


def status_command(library: LibraryOption = None, as_json: JsonFlag = False) -> None:
    """Show a library's roots, counts, model, index parameters and failures with reasons."""
    from .status import library_status

    with reported():
        info = library_status(library)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    files = info["counts"]["files"]
    typer.echo(f"library  {info['library']}")
    typer.echo(f"catalog  {info['catalog']}")
    typer.echo(f"roots    {', '.join(info['roots']) or '-'}")
    typer.echo(
        f"files    {files['ok']} ok, {files['failed']} failed, {files['missing']} missing; "
        f"{info['counts']['images']} distinct images"
    )
    model, index = info["model"], info["index"]
    typer.echo(
        f"model    {model['name']} ({model['weights_sha256'][:12]}, {model['dim']}-d)" if model else "model    -"
    )
    typer.echo(f"index    {index['factory']}, {index['ntotal']} vectors" if index else "index    - (not built yet)")
    last = info["last_run"]
    if last:
        typer.echo(
            f"last run {last['started_at']} {last['status']}: "
            + ", ".join(f"{k} {v}" for k, v in last["counts"].items())
        )
    for failure in info["failures"]:
        typer.echo(f"failed   {failure['path']}: {failure['reason']}")
