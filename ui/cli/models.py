"""`pixseek models ...`: list, inspect, download and remove models (a typer sub-app)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from indexer import ModelNotDownloaded, PixseekError, UnknownModel
from indexer.model import REGISTRY, Tokenizer, download_model, model_path, read_checkpoint, resolve_model, weights_file

from .options import JsonFlag
from .report import err, reported

models_app = typer.Typer(help="List, inspect and download CLIP models.", no_args_is_help=True)


def _model_rows() -> list[dict]:
    rows = []
    for name, model in REGISTRY.items():
        path = model_path(name)
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
        name, path = resolve_model(model)
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
        if name not in REGISTRY or REGISTRY[name].source is None:
            downloadable = [n for n, m in REGISTRY.items() if m.source]
            raise UnknownModel(name, downloadable)
        target = dest or model_path(name)
        # Files land in a staging folder (kept between runs, so a re-run resumes) and the model is
        # installed only once the whole directory has loaded and validated.
        staging = target.with_name(target.name + ".partial")
        with _progress_bar() as bar:
            tasks: dict[str, int] = {}

            def progress(file: str, done: int, total: int | None) -> None:
                if file not in tasks:
                    tasks[file] = bar.add_task(file, total=total)
                bar.update(tasks[file], completed=done, total=total)

            download_model(REGISTRY[name].remote_files(base_url), staging, progress=progress)
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
        if name not in REGISTRY or REGISTRY[name].source is None:
            raise UnknownModel(name, [n for n, m in REGISTRY.items() if m.source])
        path = model_path(name)
        if not path.is_dir():
            raise ModelNotDownloaded(name, str(path))
    shutil.rmtree(path)
    typer.echo(f"removed {path}")
