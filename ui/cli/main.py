"""The `pixseek` command: every command group of ui/cli composed into one typer app."""

from __future__ import annotations

import gc
import sys
from importlib import metadata
from typing import Annotated

import typer
from typer._click import exceptions as usage  # typer vendors click; its exceptions are these, not click's
from typer.core import TyperGroup

from ..logs import quiet_library_logs
from .browser import ui_command
from .dedup import dedup_command
from .demo import demo_command
from .export import export_command
from .index import index_command
from .merge import merge_command
from .models import models_app
from .roots import roots_app
from .search import search_command
from .serve import serve_command
from .status import status_command


class OneLineErrors(TyperGroup):
    """A mistyped command line is one line on stderr (`error: Invalid value for '--sort': ...`) and exit 2,
    as every other error of pixseek is, instead of click's usage block in a box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except usage.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except usage.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "pixseek"
            typer.echo(f"error: {exc.format_message()} (see {where} -h)", err=True)
            sys.exit(exc.exit_code)
        except usage.ClickException as exc:
            typer.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="pixseek: semantic image search with CLIP ViT-g/14, FAISS and SQLite.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"pixseek {metadata.version('pixseek')}")
        raise typer.Exit()


@app.callback()
def pixseek(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """pixseek: semantic image search with CLIP ViT-g/14, FAISS and SQLite."""
    quiet_library_logs()


app.command("index")(index_command)
app.command("status")(status_command)
app.add_typer(roots_app, name="roots")
app.command("merge")(merge_command)
app.command("search")(search_command)
app.command("dedup")(dedup_command)
app.command("export")(export_command)
app.add_typer(models_app, name="models")
app.command("ui")(ui_command)
app.command("serve")(serve_command)
app.command("demo")(demo_command)


def main() -> None:
    try:
        app()
    finally:
        # The interpreter's final garbage collection walks every object Paddle and its imports made:
        # 2-6 s at exit on a busy machine. Objects frozen here are skipped by it (measured: ~0.3 s).
        gc.freeze()


if __name__ == "__main__":
    main()
