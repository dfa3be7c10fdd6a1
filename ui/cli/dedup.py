"""`pixseek dedup`: the command line of search.find_groups and search.apply / undo."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from search import DEFAULT_ORDER, TIERS, ActionRecord, DedupSettings, Group, apply, find_groups, undo

from .options import JsonFlag, LibraryOption
from .report import OptionConflict, reported

CSV_FIELDS = ["group", "tier", "distance", "role", "member_tier", "member_distance", "path", "width", "height"]
CSV_FIELDS += ["size", "format", "taken_at", "why"]
VERBS = {"undo": "restored", "quarantine": "quarantined", "delete": "deleted", "hardlink": "hard-linked"}
VERBS["symlink"] = "symlinked"
DEFAULTS = DedupSettings()


def _settings(tiers, semantic, phash_bits, fine_bits, min_cosine, burst_seconds, bursts, keep_order) -> DedupSettings:
    chosen = tuple(tiers or ("exact", "near-identical")) + (("semantic",) if semantic else ())
    return DedupSettings(
        tiers=tuple(dict.fromkeys(chosen)),
        phash_bits=phash_bits,
        fine_bits=fine_bits,
        min_cosine=min_cosine,
        burst_seconds=burst_seconds,
        include_bursts=bursts,
        keep_order=tuple(x.strip() for x in keep_order.split(",") if x.strip()),
    )


def _print_groups(groups: list[Group]) -> None:
    console = Console(highlight=False)
    for g in groups:
        console.print(f"[bold]group {g.id}[/] {g.tier} (distance {g.distance:.3g}): {g.why}")
        for m in g.members:
            role = "keep" if m.file_id == g.keep.file_id else "  - "
            console.print(f"  {role} {m.path}  {m.width}x{m.height} {m.format} {m.size / 1024:.0f} KB  ({m.tier})")
    spare = [m for g in groups if g.tier != "burst" for m in g.others]
    typer.echo(f"{len(groups)} groups; {len(spare)} files could go ({sum(m.size for m in spare) / 2**20:.1f} MB)")


def _write_csv(groups: list[Group], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        out = csv.DictWriter(fh, CSV_FIELDS)
        out.writeheader()
        for g in groups:
            for m in g.members:
                role = "keep" if m.file_id == g.keep.file_id else "other"
                head = {"group": g.id, "tier": g.tier, "distance": g.distance, "role": role, "why": g.why}
                body = {k: v for k, v in m.as_dict().items() if k in CSV_FIELDS}
                out.writerow({**head, **body, "member_tier": m.tier, "member_distance": m.distance})


def _print_record(record: ActionRecord) -> None:
    for path, reason in record.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    if record.kind == "undo" and record.batch is None:
        typer.echo("nothing to undo")
        return
    where = f" (batch {record.batch})" if record.batch else ""
    typer.echo(f"{VERBS[record.kind]} {len(record.done)} files{where}; {len(record.skipped)} skipped")


def dedup_command(
    tier: Annotated[list[str] | None, typer.Option(help=f"Tiers to look for: {', '.join(TIERS)} (repeatable).")] = None,
    semantic: Annotated[bool, typer.Option("--semantic", help="Also the semantic tier (embedding cosine).")] = False,
    phash_bits: Annotated[
        int, typer.Option(help="64-bit pHash candidates within this many bits.")
    ] = DEFAULTS.phash_bits,
    fine_bits: Annotated[
        int, typer.Option(help="Near-identical: 256-bit pHash within this many bits.")
    ] = DEFAULTS.fine_bits,
    min_cosine: Annotated[float, typer.Option(help="Semantic: embedding cosine at least this.")] = DEFAULTS.min_cosine,
    burst_seconds: Annotated[
        float, typer.Option(help="Images taken this close apart are a burst; 0: off.")
    ] = DEFAULTS.burst_seconds,
    bursts: Annotated[bool, typer.Option("--bursts", help="Treat bursts as duplicates.")] = False,
    keep_order: Annotated[str, typer.Option(help="Keep-best criteria in order.")] = ",".join(DEFAULT_ORDER),
    apply_: Annotated[
        str | None, typer.Option("--apply", help="quarantine, hardlink or symlink the files not kept.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Delete the files not kept (cannot be undone).")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --delete.")] = False,
    undo_: Annotated[bool, typer.Option("--undo", help="Put back what the last --apply did.")] = False,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the groups to this CSV file.")] = None,
    library: LibraryOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Find exact, near-identical and (--semantic) similar images; a dry run unless --apply, --delete or --undo."""
    with reported():
        if sum([apply_ is not None, delete, undo_]) > 1:
            raise OptionConflict("choose one of --apply, --delete and --undo")
        if delete and not yes:
            raise OptionConflict("--delete removes files for good; add --yes to confirm (or use --apply quarantine)")
        if undo_:
            return _print_record(undo(library))
        settings = _settings(tier, semantic, phash_bits, fine_bits, min_cosine, burst_seconds, bursts, keep_order)
        groups = find_groups(library, settings)
        if csv_file:
            _write_csv(groups, csv_file)
        if apply_ or delete:
            return _print_record(apply(library, groups, "delete" if delete else apply_, confirm_delete=yes))
    if as_json:
        typer.echo(json.dumps([g.as_dict() for g in groups], indent=2))
    else:
        _print_groups(groups)
        typer.echo("dry run: nothing was changed (--apply quarantine|hardlink|symlink to act)")
