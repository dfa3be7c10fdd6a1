"""`pixseek dedup`: the command line of search.find_groups and search.apply / undo."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from search import (
    DEFAULT_ORDER,
    TIERS,
    ActionRecord,
    DedupSettings,
    Group,
    apply,
    dismiss,
    find_groups,
    forget_references,
    remember_references,
    target_members,
    undismiss,
    undo,
)

from ..metadata import human_size
from .options import JsonFlag, LibraryOption
from .report import OptionConflict, reported

CSV_FIELDS = ["group", "tier", "distance", "role", "member_tier", "member_distance", "path", "width", "height"]
CSV_FIELDS += ["size", "format", "taken_at", "why"]
VERBS = {"undo": "restored", "quarantine": "quarantined", "delete": "deleted", "hardlink": "hard-linked"}
VERBS["symlink"] = "symlinked"
DEFAULTS = DedupSettings()


def _settings(tiers, semantic, thresholds: dict, bursts, keep_order, show_dismissed) -> DedupSettings:
    chosen = tuple(tiers or DEFAULTS.tiers) + (("semantic",) if semantic else ())
    return DedupSettings(
        tiers=tuple(dict.fromkeys(chosen)),
        **thresholds,
        include_bursts=bursts,
        keep_order=tuple(x.strip() for x in keep_order.split(",") if x.strip()),
        show_dismissed=show_dismissed,
    )


def _answer(library, settings: DedupSettings, targets: list[str], undo_it: bool) -> None:
    """--dismiss / --undismiss: a group of this listing (dismissed ones listed too for undismiss) or paths."""
    listing = DedupSettings(**{**vars(settings), "show_dismissed": undo_it})
    groups = find_groups(library, listing) if len(targets) == 1 else []
    members = target_members(library, targets, groups)
    if undo_it:
        typer.echo(f"forgot {undismiss(library, members)} 'not duplicates' pairs; they can be grouped again")
    else:
        batch = dismiss(library, members)
        typer.echo(f"{len(members)} files marked not duplicates (dismissal {batch}); --undismiss to take it back")


def _print_groups(groups: list[Group]) -> None:
    console = Console(highlight=False, soft_wrap=True)  # a line a member, never folded (piped or not)
    for g in groups:
        console.print(f"[bold]group {g.id}[/] {g.tier} (distance {g.distance:.3g}): {g.why}")
        for m in g.members:
            role = "keep" if m.file_id == g.keep.file_id else "  - "
            note = f"{m.tier}, reference" if m.reference else m.tier
            console.print(f"  {role} {m.path}  {m.width}x{m.height} {m.format} {human_size(m.size)}  ({note})")
    spare = [m for g in groups for m in g.acted_on()]
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


def _references(library, added: list[Path] | None, forgotten: list[Path] | None) -> None:
    if forgotten:
        left = forget_references(library, forgotten)
        typer.echo(f"reference folders: {', '.join(left) or 'none'}", err=True)
    if added:
        kept = remember_references(library, added)
        typer.echo(f"reference folders (kept, never touched): {', '.join(kept)}", err=True)


def dedup_command(
    targets: Annotated[
        list[str] | None, typer.Argument(help="For --dismiss/--undismiss: a GROUP number, or two or more PATHs.")
    ] = None,
    tier: Annotated[list[str] | None, typer.Option(help=f"Tiers to look for: {', '.join(TIERS)} (repeatable).")] = None,
    semantic: Annotated[bool, typer.Option("--semantic", help="Also the semantic tier (embedding cosine).")] = False,
    phash_bits: Annotated[
        int, typer.Option(help="64-bit pHash candidates within this many bits.")
    ] = DEFAULTS.phash_bits,
    neighbours: Annotated[
        int, typer.Option(help="Also each image's this many nearest in the embedding index as candidates; 0: none.")
    ] = DEFAULTS.neighbours,
    fine_bits: Annotated[
        int, typer.Option(help="Near-identical: 256-bit pHash (best flip/turn) within this many bits.")
    ] = DEFAULTS.fine_bits,
    max_changed: Annotated[
        float, typer.Option(help="Near-identical: at most this share of the picture differing in colour.")
    ] = DEFAULTS.max_changed,
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
    dismiss_: Annotated[
        bool, typer.Option("--dismiss", help="Mark GROUP, or the PATHs, as not duplicates (kept in the library).")
    ] = False,
    undismiss_: Annotated[bool, typer.Option("--undismiss", help="Take back --dismiss of GROUP or PATHs.")] = False,
    show_dismissed: Annotated[
        bool, typer.Option("--show-dismissed", help="Also list groups marked not duplicates.")
    ] = False,
    reference: Annotated[
        list[Path] | None,
        typer.Option("--reference", help="Folder whose files are always kept, never touched (repeatable; remembered)."),
    ] = None,
    forget_reference: Annotated[
        list[Path] | None, typer.Option("--forget-reference", help="Stop treating this folder as a reference.")
    ] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the groups to this CSV file.")] = None,
    library: LibraryOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Find exact, near-identical (also flipped or turned) and (--semantic) similar images; a dry run unless
    --apply, --delete or --undo. --dismiss GROUP|PATH PATH: not duplicates, for good. --reference DIR: never touched."""
    with reported():
        if sum([apply_ is not None, delete, undo_, dismiss_, undismiss_]) > 1:
            raise OptionConflict("choose one of --apply, --delete, --undo, --dismiss and --undismiss")
        if targets and not (dismiss_ or undismiss_):
            raise OptionConflict("a GROUP or PATHs go with --dismiss or --undismiss")
        if delete and not yes:
            raise OptionConflict("--delete removes files for good; add --yes to confirm (or use --apply quarantine)")
        if undo_:
            return _print_record(undo(library))
        _references(library, reference, forget_reference)
        thresholds = {"phash_bits": phash_bits, "neighbours": neighbours, "fine_bits": fine_bits}
        thresholds |= {"max_changed": max_changed}
        thresholds |= {"min_cosine": min_cosine, "burst_seconds": burst_seconds}
        settings = _settings(tier, semantic, thresholds, bursts, keep_order, show_dismissed)
        if dismiss_ or undismiss_:
            return _answer(library, settings, targets or [], undismiss_)
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
