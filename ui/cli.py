"""The `pixseek` command: composes the sub-apps of indexer and search."""

from __future__ import annotations

import typer

from indexer.cli import models_app

app = typer.Typer(
    help="pixseek: semantic image search with CLIP ViT-g/14, FAISS and SQLite.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models_app, name="models")


def main() -> None:
    app()
