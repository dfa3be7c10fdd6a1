"""`pixseek status`: a library's roots, counts, model, index and failures."""

from __future__ import annotations

import json

import typer

from indexer.library import library_status
from indexer.model import cpu_has_native_bf16, cpu_precision

from .options import JsonFlag, LibraryOption
from .report import reported


def status_command(library: LibraryOption = None, as_json: JsonFlag = False) -> None:
    """Show a library's roots, counts, model, index parameters and failures with reasons."""
    with reported():
        info = library_status(library)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    files = info["counts"]["files"]
    typer.echo(f"library  {info['library']}")
    typer.echo(f"catalog  {info['catalog']}")
    typer.echo(f"roots    {', '.join(info['roots']) or '-'}")
    for root in info["offline"]:
        typer.echo(
            f"offline  {root['path']}: cannot be reached; its {root['files']} files are kept as they were "
            "(pixseek roots move OLD NEW if it moved)"
        )
    typer.echo(
        f"files    {files['ok']} ok ({info['counts']['copies']} exact copies), {files['failed']} failed, "
        f"{files['missing']} missing; {info['counts']['photos']} photos to search"
    )
    model, index = info["model"], info["index"]
    if model:
        facts = [model["weights_sha256"][:12], f"{model['dim']}-d", model["runtime"]]
        facts += [f"{model['precision']} weights"] if model["precision"] else []
        typer.echo(f"model    {model['name']} ({', '.join(facts)})")
    else:
        typer.echo("model    -")
    native = "native bfloat16" if cpu_has_native_bf16() else "no native bfloat16"
    typer.echo(f"cpu      computes fastest in {cpu_precision()} ({native})")
    typer.echo(f"index    {index['factory']}, {index['ntotal']} vectors" if index else "index    - (not built yet)")
    last = info["last_run"]
    if last:
        typer.echo(
            f"last run {last['started_at']} {last['status']}: "
            + ", ".join(f"{k} {v}" for k, v in last["counts"].items())
        )
    for failure in info["failures"]:
        typer.echo(f"failed   {failure['path']}: {failure['reason']}")
