"""The Library page's words: counts, the model, a run's outcome and the index internals, from library_status."""

from __future__ import annotations

from datetime import datetime, timezone

from indexer.model import REGISTRY

from .metadata import human_size

_RUN_PARTS = (  # (count key, words); zero counts are left out, except that added and removed always show
    ("indexed", "added or changed"),
    ("moved", "moved or renamed (vector kept)"),
    ("duplicates", "copies of images already there"),
    ("missing", "removed (no longer found)"),
    ("failed", "unreadable"),
    ("unreadable", "still unreadable (not tried again)"),
    ("unchanged", "unchanged"),
)
_ALWAYS = ("indexed", "missing")
INTERNAL_FIELDS = (  # manifest field -> what it is, for the collapsed internals table
    ("factory", "FAISS index"),
    ("ntotal", "vectors"),
    ("d", "dimensions"),
    ("nlist", "inverted lists (nlist)"),
    ("m", "PQ sub-quantizers (m)"),
    ("nbits", "bits per sub-quantizer (nbits)"),
    ("nprobe", "lists probed per query (nprobe)"),
    ("refine_factor", "re-ranking factor"),
    ("trained_on", "vectors trained on"),
    ("updated", "updated (UTC)"),
)


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def ago(when: datetime, now: datetime) -> str:
    """'3 minutes ago' (both naive UTC)."""
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{plural(seconds // size, unit)} ago"
    return "just now"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def model_words(model: dict | None) -> str:
    """'**vit-g-14**: CLIP ViT-g/14 ... (1024-d vectors, made with torch in bfloat16)'."""
    if model is None:
        return "No model yet: the first index run picks one."
    known = REGISTRY.get(model["name"])
    about = known.description if known else "a model from a folder"
    how = f"made with {model['runtime']}" + (f" in {model['precision']}" if model.get("precision") else "")
    return f"**{model['name']}**: {about} ({model['dim']}-d vectors, {how})"


def counts_words(counts: dict) -> str:
    """'3 added or changed, 0 removed (no longer found), 2 unreadable, 340 unchanged' from a run's file counts."""
    return ", ".join(f"{counts.get(k, 0):,} {w}" for k, w in _RUN_PARTS if counts.get(k, 0) or k in _ALWAYS)


def run_words(run: dict | None, now: datetime) -> str:
    """'Last run 5 minutes ago (2026-12-04 19:51 UTC), finished: 3 added or changed, 0 removed, ...'."""
    if run is None:
        return "No index run yet."
    started = datetime.fromisoformat(run["started_at"])
    state = {"done": "finished", "running": "still running"}.get(run["status"], run["status"])
    when = f"{ago(started, now)} ({started:%Y-%m-%d %H:%M} UTC)"
    return f"Last run {when}, {state}: {counts_words(run['counts'])}."


def internals(index: dict) -> list[dict[str, str]]:
    """Rows (what, value) of the index's parameters and files, for a table."""
    rows = [{"what": what, "value": f"{index[k]}"} for k, what in INTERNAL_FIELDS if k in index]
    rows += [{"what": f"file {name}", "value": human_size(n)} for name, n in index.get("files", {}).items()]
    return rows


def offline_words(paths: list[str]) -> str:
    """What an offline folder means and what to do about it."""
    which = ", ".join(paths)
    return (
        f"Offline: {which}. Its files are kept as they were (not counted missing) until the folder is back. "
        "If it moved: `pixseek roots move OLD NEW`; to forget it: `pixseek roots remove FOLDER`."
    )


def watch_words(job: dict | None, now: datetime) -> str:
    """'Watching 2 folders since 3 minutes ago: 12 added or changed, 1 moved ...', or how the last watch ended."""
    if job is None:
        return "Not watching: start it to index files as they arrive in the folders above."
    folders = plural(len(job.get("roots", [])), "folder")
    done = counts_words(job.get("counts", {}))
    if job["state"] == "starting":
        return f"Starting to watch {folders} (indexing what changed first)..."
    if job["state"] == "watching":
        since = datetime.fromtimestamp(job.get("since", job["started"]), timezone.utc).replace(tzinfo=None)
        return f"Watching {folders} since {ago(since, now)}: {done}."
    if job["state"] == "failed":
        return f"The watch stopped with an error: {job.get('message', '')}"
    return f"Not watching (the last watch of {folders} stopped; it did: {done})."
