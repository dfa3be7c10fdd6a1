"""`pixseek index FOLDER... --watch`: the first pass with its progress bar, then one line per round of changes
(JSON Lines with --json) until Ctrl-C or SIGTERM, and the totals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from indexer.pipeline import IndexSettings, IndexSummary, WatchRound, WatchSettings, watch

from .counts import counts_text
from .report import reported


def _line(kind: str, **fields) -> None:
    typer.echo(json.dumps({"event": kind, **fields}))


def _told(summary: IndexSummary) -> None:
    for path, reason in summary.failures:
        typer.echo(f"skipping {path}: {reason}", err=True)
    for note in summary.warnings:
        typer.echo(f"warning: {note}", err=True)


def watch_folders(
    roots: list[Path],
    library,
    model,
    settings: IndexSettings,
    watching: WatchSettings,
    as_json: bool,
    bar_and_update=None,
) -> None:
    """Run the watch, printing as it goes; returns when it was stopped."""
    bar, update = bar_and_update or (None, None)

    def started(first: IndexSummary) -> None:
        if bar is not None:
            bar.stop()
        _told(first)
        if as_json:
            _line("watching", roots=[str(r) for r in roots], first=first.as_dict())
        else:
            typer.echo(f"{counts_text(first)} in {first.seconds:.1f} s")
            typer.echo(f"watching {', '.join(map(str, roots))}; Ctrl-C to stop", err=True)

    def round_done(one: WatchRound) -> None:
        _told(one.summary)
        if as_json:
            _line("round", changed=one.changed, finished=one.finished, **one.summary.as_dict())
        else:
            typer.echo(f"{time.strftime('%H:%M:%S', time.localtime(one.finished))} {counts_text(one.summary)}")

    with reported():
        try:
            summary = watch(
                roots, library, model, settings, watching, progress=update, on_start=started, on_round=round_done
            )
        finally:
            if bar is not None:
                bar.stop()
    totals = IndexSummary(**{k: summary.counts.get(k, 0) for k in ("indexed", "moved", "duplicates", "missing")})
    totals.failed = summary.counts.get("failed", 0)
    for note in summary.warnings:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        _line("stopped", rounds=summary.rounds, **{k: v for k, v in totals.as_dict().items() if k != "stages"})
    else:
        typer.echo(f"stopped watching after {summary.rounds} rounds of changes: {counts_text(totals)}")
