"""What `pixseek dedup --apply` does to the files of duplicate groups, logged in the catalog and undoable.

    record = apply(library, groups, "quarantine")        # or "hardlink", "symlink"; "delete" needs confirm_delete
    record = undo(library)                               # puts back what the newest apply did

- quarantine: each file but the keeper moves to <library>/quarantine/<its root's path>/<its relative path>.
- hardlink / symlink: each file but the keeper moves to quarantine as above and a link to the keeper takes its
  place, so undo can restore the original bytes (a near-identical copy is not the keeper's bytes).
- delete: each file but the keeper is removed; only with confirm_delete, and it cannot be undone.
Burst groups, dismissed groups and reference files are never acted on (Group.acted_on). `keepers`
({group id: file id}) overrides the keep-best choice. Every file
acted on is a row of the `actions` table (kind, from, to, keeper, time, batch, undone_at); files that left
their folder are marked missing in the catalog (the next index run would find the same), and undo marks
the ones it restores ok again. The library's writer lock is held throughout, so no index run interleaves.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, update

from indexer import PixseekError
from indexer.library import (
    ACTION_KINDS,
    Action,
    File,
    Root,
    existing_library,
    open_catalog,
    session,
    utcnow,
    writer_lock,
)
from indexer.sources import holding_file, refuse_members

from .dedup import Group
from .safe_paths import UnsafePath, inside, own_folder

QUARANTINE = "quarantine"


class DeleteNotConfirmed(PixseekError):
    def __init__(self):
        super().__init__("deleting files cannot be undone; confirm it explicitly (--delete --yes)")


class UnknownAction(PixseekError):
    def __init__(self, action: str):
        super().__init__(f"unknown action {action!r}; choose from {', '.join(ACTION_KINDS)}")


@dataclass(frozen=True)
class Done:
    kind: str
    source: str  # the duplicate's path
    target: str | None  # where its bytes are now (quarantine), None when deleted
    keeper: str | None  # the kept file


@dataclass
class ActionRecord:
    batch: int | None  # the actions-table batch; None when nothing was done
    kind: str  # the action, or "undo"
    done: list[Done] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def as_dict(self) -> dict:
        return {"batch": self.batch, "kind": self.kind, "done": [vars(d) for d in self.done], "skipped": self.skipped}


def apply(
    library: str | Path | None,
    groups: Sequence[Group],
    action: str,
    keepers: dict[int, int] | None = None,
    *,
    confirm_delete: bool = False,
) -> ActionRecord:
    """Act on every non-keeper file of the (non-burst) groups; returns what was done and what was skipped."""
    if action not in ACTION_KINDS:
        raise UnknownAction(action)
    if action == "delete" and not confirm_delete:
        raise DeleteNotConfirmed()
    refuse_members(_touched(groups, action, keepers or {}), action)  # before anything is touched
    library = existing_library(library)
    engine = open_catalog(library)
    with writer_lock(library), session(engine, write=True) as s:
        batch = (s.scalar(select(func.max(Action.batch))) or 0) + 1
        record = ActionRecord(batch, action)
        quarantine = own_folder(library / QUARANTINE) if action != "delete" else None
        for group in groups:
            if group.acted_on():
                _apply_group(s, group, action, (keepers or {}).get(group.id, group.keep.file_id), quarantine, record)
        s.commit()
    record.batch = batch if record.done else None
    return record


def _touched(groups: Sequence[Group], action: str, keepers: dict[int, int]) -> Iterator[str]:
    """Paths the action would move, link or delete, and the keepers links would point to."""
    for group in groups:
        keep = keepers.get(group.id, group.keep.file_id)
        acted = group.acted_on(keep)
        if acted:
            yield from (m.path for m in acted)
            if action in ("hardlink", "symlink"):
                yield from (m.path for m in group.members if m.file_id == keep)


def _apply_group(s, group: Group, action: str, keeper_id: int, quarantine: Path | None, record: ActionRecord) -> None:
    keeper = next((m for m in group.members if m.file_id == keeper_id), None)
    acted = group.acted_on(keeper_id)
    if keeper is None or not os.path.isfile(holding_file(keeper.path)):  # a keeper in a tar shard stays there
        record.skipped += [(m.path, "its keeper is no longer there") for m in acted]
        return
    for member in acted:
        try:
            record.done.append(_logged(s, member.file_id, _plan(s, member, keeper.path, action, quarantine), record))
        except (UnsafePath, OSError) as exc:
            record.skipped.append((member.path, str(exc)))


def _plan(s, member, keeper: str, action: str, quarantine: Path | None) -> Done:
    source = Path(member.path)
    if source.is_symlink() or not source.is_file():
        raise FileNotFoundError(f"no longer a file at {source}")
    if action == "delete":
        return Done(action, str(source), None, None)
    target = inside(quarantine, _quarantine_name(s, member.file_id))
    return Done(action, str(source), str(target), keeper if action != QUARANTINE else None)


def _logged(s, file_id: int, done: Done, record: ActionRecord) -> Done:
    """Log the action, then do it: a crash in between leaves a row that undo skips, never an unlogged move."""
    row = Action(batch=record.batch, file_id=file_id, **vars(done))
    s.add(row)
    s.commit()
    try:
        _perform(done)
    except OSError:
        s.delete(row)
        s.commit()
        raise
    if done.kind != "hardlink":  # a hard link leaves a file of the keeper's bytes in place; the next index sees it
        s.execute(update(File).where(File.id == file_id).values(status="missing"))
    s.commit()
    return done


def _perform(done: Done) -> None:
    source = Path(done.source)
    if done.target is None:
        source.unlink()
        return
    shutil.move(source, done.target)
    try:
        if done.kind == "hardlink":
            os.link(done.keeper, source)
        elif done.kind == "symlink":
            os.symlink(done.keeper, source)
    except OSError:
        shutil.move(done.target, source)  # e.g. a hard link across file systems: leave things as they were
        raise


def _quarantine_name(s, file_id: int) -> str:
    """<root path without its anchor>/<relative path>: the folder structure kept, roots never colliding."""
    root, relpath = s.execute(select(Root.path, File.relpath).join(File.root).where(File.id == file_id)).one()
    return "/".join([*Path(root).parts[1:], relpath])


def undo(library: str | Path | None) -> ActionRecord:
    """Put back what the newest apply not yet undone did, where the files still exist; every entry of that
    batch is marked undone (the ones that could not be restored are listed as skipped)."""
    library = existing_library(library)
    engine = open_catalog(library)
    with writer_lock(library), session(engine, write=True) as s:
        batch = s.scalar(select(func.max(Action.batch)).where(Action.undone_at.is_(None)))
        record = ActionRecord(batch, "undo")
        rows = s.scalars(select(Action).where(Action.batch == batch).order_by(Action.id.desc())).all()
        for row in rows:
            _undo_one(s, row, record)
            row.undone_at = utcnow()
        s.commit()
    return record


def _undo_one(s, row: Action, record: ActionRecord) -> None:
    source, target = Path(row.source), Path(row.target) if row.target else None
    problem = _undo_problem(row, source, target)
    if problem:
        record.skipped.append((row.source, problem))
        return
    if row.kind != QUARANTINE:
        source.unlink()  # the link that took its place
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(target, source)
    if row.file_id is not None:
        s.execute(update(File).where(File.id == row.file_id).values(status="ok"))
    record.done.append(Done(row.kind, row.source, row.target, row.keeper))


def _undo_problem(row: Action, source: Path, target: Path | None) -> str | None:
    if target is None:
        return "it was deleted; a delete cannot be undone"
    if not target.is_file() or target.is_symlink():
        return f"its quarantined copy {target} is gone"
    if row.kind == QUARANTINE:
        return "a file is back at its path; left as it is" if os.path.lexists(source) else None
    if row.kind == "symlink" and not (source.is_symlink() and os.readlink(source) == row.keeper):
        return "its path no longer holds the link to the keeper; left as it is"
    if row.kind == "hardlink" and not (source.is_file() and _same_file(source, row.keeper)):
        return "its path no longer holds the hard link to the keeper; left as it is"
    return None


def _same_file(path: Path, other: str | None) -> bool:
    try:
        return other is not None and os.path.samefile(path, other)
    except OSError:
        return False
