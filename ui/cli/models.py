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
from indexer.model import (
    REGISTRY,
    Tokenizer,
    architecture,
    cache_entries,
    describe_model,
    download_model,
    is_installed,
    model_path,
    read_checkpoint,
    remove_cache,
    vision_gflop,
    weights_file,
    weights_sha256,
)

from .options import JsonFlag
from .report import err, reported

models_app = typer.Typer(help="List, inspect and download CLIP models.", no_args_is_help=True)


def _model_rows() -> list[dict]:
    rows = []
    for name, model in REGISTRY.items():
        path = model_path(name)
        present = is_installed(path)
        gflop = round(vision_gflop(architecture(model.architecture)), 1) if model.architecture else None
        rows.append({"name": name, "description": model.description, "installed": present, "path": str(path)})
        rows[-1] |= {"vision_gflop_per_image": gflop, "cpu_images_per_s_measured": model.cpu_images_per_s}
    return rows


@models_app.command("list")
def list_models(as_json: JsonFlag = False) -> None:
    """List the models pixseek knows, whether each is installed, its cost per image and a measured CPU rate."""
    rows = _model_rows()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "installed", "GFLOP/image", "CPU images/s", "description", "path")
    for row in rows:
        rate = row["cpu_images_per_s_measured"]
        table.add_row(
            row["name"],
            "yes" if row["installed"] else "no",
            str(row["vision_gflop_per_image"] or "-"),
            f"{rate:g}" if rate else "-",
            row["description"],
            row["path"],
        )
    Console().print(table)
    typer.echo("CPU images/s: measured on a 2-core AMD EPYC with AVX512-BF16 (bench/encode.py); yours will differ")


@models_app.command("info")
def info(
    model: Annotated[str, typer.Argument(help="A model name or a model directory.")], as_json: JsonFlag = False
) -> None:
    """Validate a model (its weights go into the cache once) and show its architecture, cost and precision."""
    with reported():
        summary = describe_model(model)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    for line in _info_text(summary):
        typer.echo(line)


def _millions(count: int) -> str:
    return f"{count / 1e6:,.0f} M" if count >= 10e6 else f"{count / 1e6:,.1f} M"


def _info_text(s: dict) -> list[str]:
    """`models info` for a reader: what the model is, where it is, what it costs and how this machine runs it."""
    v, t, cpu = s["vision"], s["text"], s["cpu"]
    lines = [s["name"] + (f": {s['description']}" if s.get("description") else "")]
    if s["installed"]:
        lines.append(f"  installed     {s['path']}")
        lines.append(f"  weights       {s['weights']} (sha256 {s['weights_sha256'][:16]}...)")
    else:
        lines.append(f"  installed     no (it would go to {s['path']}): pixseek models download {s['name']}")
    lines.append(f"  embeddings    {s['dim']} dimensions; {_millions(s['parameters'])} parameters")
    lines.append(
        f"  image tower   {v['layers']} layers of width {v['width']} ({v['heads']} heads, MLP {v['mlp']}), "
        f"{v['image_size']} px images in {v['patch']} px patches, {v['act']}"
    )
    lines.append(
        f"  text tower    {t['layers']} layers of width {t['width']} ({t['heads']} heads, MLP {t['mlp']}), "
        f"{t['context']} tokens, vocabulary {t['vocab']:,}"
    )
    rate = s.get("cpu_images_per_s_measured")
    measured = f"; measured {rate:g} images/s on a 2-core CPU with bfloat16" if rate else ""
    lines.append(f"  cost          {s['vision_gflop_per_image']:g} GFLOP per image{measured}")
    native = "has" if cpu["native_bfloat16"] else "has no"
    lines.append(
        f"  this machine  the CPU {native} native bfloat16: indexes with {cpu['index_with']}, "
        f"answers queries with {cpu['query_with']}"
    )
    if s["installed"]:
        cached = [f"{e['layout']} {e['dtype']} ({e['bytes'] / 2**30:.2f} GiB)" for e in s["cache"]]
        lines.append(f"  weights cache {', '.join(cached) or 'none yet (built at the first load)'}")
    return lines


@models_app.command("cache")
def cache_command(
    remove: Annotated[
        str | None, typer.Option("--remove", help="Delete this entry (a folder listed here), or 'all'.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the converted weights cache (one entry per model, layout and precision), or remove from it."""
    with reported():
        if remove is not None:
            for path in remove_cache(None if remove == "all" else remove):
                typer.echo(f"removed {path}")
            return
        entries = cache_entries()
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    table = Table("source", "layout", "precision", "GiB", "built", "folder")
    for e in entries:
        table.add_row(e["source"], e["layout"], e["dtype"], f"{e['bytes'] / 2**30:.2f}", e["built"], e["path"])
    Console().print(table)
    typer.echo(f"{len(entries)} entries, {sum(e['bytes'] for e in entries) / 2**30:.2f} GiB")


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
    describe_model(str(target))  # converts the weights into the cache now, not at the first search


@models_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="A downloaded model name.")]) -> None:
    """Delete a downloaded model's directory."""
    with reported():
        if name not in REGISTRY or REGISTRY[name].source is None:
            raise UnknownModel(name, [n for n, m in REGISTRY.items() if m.source])
        path = model_path(name)
        if not path.is_dir():
            raise ModelNotDownloaded(name, str(path))
    sha = weights_sha256(weights_file(path)) if is_installed(path) else None
    shutil.rmtree(path)
    typer.echo(f"removed {path}")
    for entry in [e["path"] for e in cache_entries() if e["source_sha256"] == sha]:
        remove_cache(entry)
        typer.echo(f"removed {entry}")
