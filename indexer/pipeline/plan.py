"""Compare what a walk found under a root with what the catalog knows: what to read, what went missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.library import File
from indexer.sources import MEMBER_SEP, FoundFile


@dataclass
class RootPlan:
    root_id: int
    unchanged: int = 0
    todo: list[FoundFile] = field(default_factory=list)  # new, or size/mtime changed: read and hash
    missing: list[int] = field(default_factory=list)  # file ids under this root that were not found


def plan_root(session: Session, root_id: int, found: Iterable[FoundFile], shards: tuple[str, ...] = ()) -> RootPlan:
    """Unchanged files (same size and mtime as recorded, ok or failed) are not read again.

    `shards`: only these tar shards under the root were listed, so only their members can go missing."""
    known = {
        relpath: (fid, size, mtime, status)
        for fid, relpath, size, mtime, status in session.execute(
            select(File.id, File.relpath, File.size, File.mtime_ns, File.status).where(File.root_id == root_id)
        )
    }
    plan = RootPlan(root_id)
    seen: set[str] = set()
    for f in found:
        seen.add(f.relpath)
        row = known.get(f.relpath)
        if row and row[1:3] == (f.size, f.mtime_ns) and row[3] != "missing":
            plan.unchanged += 1
        else:
            plan.todo.append(f)
    scoped = [r for r in known if _in_shards(r, shards)] if shards else known
    plan.missing = [known[r][0] for r in scoped if r not in seen and known[r][3] != "missing"]
    return plan


def _in_shards(relpath: str, shards: tuple[str, ...]) -> bool:
    """Whether relpath is one of the shards (its failure entry) or a member of one."""
    return relpath.split(MEMBER_SEP, 1)[0] in shards
