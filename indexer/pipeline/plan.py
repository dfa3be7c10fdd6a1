"""Compare what a walk found under a root with what the catalog knows: what to read, what went missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
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
    rows = session.execute(
        select(File.id, File.relpath, File.size, File.mtime_ns, File.status).where(File.root_id == root_id)
    )
    known = {relpath: (fid, size, mtime, status) for fid, relpath, size, mtime, status in rows}
    unembedded = _unembedded(session, root_id, model_id) if model_id is not None else set()
    plan, seen = _compared(RootPlan(root_id), known, found, unembedded)
    scoped = [r for r in known if _in_shards(r, shards)] if shards else known
    plan.missing = [known[r][0] for r in scoped if r not in seen and known[r][3] != "missing"]
    return plan


def plan_paths(
    session: Session, root_id: int, found: Iterable[FoundFile], scopes: Iterable[str], model_id: int
) -> RootPlan:
    """`plan_root` for some paths under the root only (changed files and folders, relpaths in `scopes`): what
    the catalog knows at or below them and was not found there is missing; nothing else is looked at."""
    known, image_of = {}, {}
    scopes = sorted(set(scopes))
    for start in range(0, len(scopes), SCOPES_PER_QUERY):
        rows = session.execute(
            select(File.id, File.relpath, File.size, File.mtime_ns, File.status, File.image_id).where(
                File.root_id == root_id, or_(*map(_at_or_below, scopes[start : start + SCOPES_PER_QUERY]))
            )
        )
        for fid, relpath, size, mtime, status, image_id in rows:
            known[relpath], image_of[relpath] = (fid, size, mtime, status), image_id
    embedded = _embedded(session, model_id, {i for i in image_of.values() if i is not None})
    unembedded = {r for r, (_, _, _, status) in known.items() if status == "ok" and image_of[r] not in embedded}
    plan, seen = _compared(RootPlan(root_id), known, found, unembedded)
    plan.missing = [row[0] for r, row in known.items() if r not in seen and row[3] != "missing"]
    return plan


SCOPES_PER_QUERY = 100  # paths per query in plan_paths (three conditions each)


def _at_or_below(relpath: str):
    """The file at relpath, the files below it as a folder, and the members of it as a tar shard."""
    below = File.relpath.startswith(relpath + "/", autoescape=True)
    return (File.relpath == relpath) | below | File.relpath.startswith(relpath + MEMBER_SEP, autoescape=True)


def _embedded(session: Session, model_id: int, image_ids: set[int]) -> set[int]:
    ids, out = sorted(image_ids), set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update(
            session.scalars(
                select(Embedding.image_id).where(Embedding.model_id == model_id, Embedding.image_id.in_(chunk))
            )
        )
    return out


def _compared(plan: RootPlan, known: dict, found: Iterable[FoundFile], unembedded: set[str]) -> tuple[RootPlan, set]:
    """Count the found files that need no reading and list the others in plan.todo; also the relpaths seen."""
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
    return plan, seen


def _unembedded(session: Session, root_id: int, model_id: int) -> set[str]:
    """Relpaths of the root's ok files whose content has no vector for the model."""
    embedded = select(Embedding.image_id).where(Embedding.model_id == model_id)
    rows = select(File.relpath).where(File.root_id == root_id, File.status == "ok", File.image_id.not_in(embedded))
    return set(session.scalars(rows))


def _in_shards(relpath: str, shards: tuple[str, ...]) -> bool:
    """Whether relpath is one of the shards (its failure entry) or a member of one."""
    return relpath.split(MEMBER_SEP, 1)[0] in shards
