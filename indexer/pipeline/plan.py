"""Compare what a walk found under a root with what the catalog knows: what to read, what went missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.library import Embedding, File
from indexer.sources import MEMBER_SEP, FoundFile


@dataclass
class RootPlan:
    root_id: int
    unchanged: int = 0
    unreadable: int = 0  # unchanged files that failed before: not read again
    todo: list[FoundFile] = field(default_factory=list)  # new, or size/mtime changed: read and hash
    missing: list[int] = field(default_factory=list)  # file ids under this root that were not found


def plan_root(
    session: Session,
    root_id: int,
    found: Iterable[FoundFile],
    shards: tuple[str, ...] = (),
    model_id: int | None = None,
) -> RootPlan:
    """Unchanged files (same size and mtime as recorded, ok or failed) are not read again, unless the model
    (`model_id`) has no vector for an ok one's content: a model switch re-reads every file once.

    `shards`: only these tar shards under the root were listed, so only their members can go missing."""
    known = {
        relpath: (fid, size, mtime, status)
        for fid, relpath, size, mtime, status in session.execute(
            select(File.id, File.relpath, File.size, File.mtime_ns, File.status).where(File.root_id == root_id)
        )
    }
    unembedded = _unembedded(session, root_id, model_id) if model_id is not None else set()
    plan = RootPlan(root_id)
    seen: set[str] = set()
    for f in found:
        seen.add(f.relpath)
        row = known.get(f.relpath)
        if row and row[1:3] == (f.size, f.mtime_ns) and row[3] != "missing" and f.relpath not in unembedded:
            if row[3] == "failed":
                plan.unreadable += 1
            else:
                plan.unchanged += 1
        else:
            plan.todo.append(f)
    scoped = [r for r in known if _in_shards(r, shards)] if shards else known
    plan.missing = [known[r][0] for r in scoped if r not in seen and known[r][3] != "missing"]
    return plan


def _unembedded(session: Session, root_id: int, model_id: int) -> set[str]:
    """Relpaths of the root's ok files whose content has no vector for the model."""
    embedded = select(Embedding.image_id).where(Embedding.model_id == model_id)
    rows = select(File.relpath).where(File.root_id == root_id, File.status == "ok", File.image_id.not_in(embedded))
    return set(session.scalars(rows))


def _in_shards(relpath: str, shards: tuple[str, ...]) -> bool:
    """Whether relpath is one of the shards (its failure entry) or a member of one."""
    return relpath.split(MEMBER_SEP, 1)[0] in shards
