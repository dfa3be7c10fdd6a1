"""The `pixseek` command, all of it: one module per command group (index, status, search, dedup, export,
models, ui, demo), the options they share, and the one reporter that turns pixseek's typed errors into
one line on stderr and an exit status. Library code never prints or exits; this package does."""

from .main import app, main

__all__ = ["app", "main"]
