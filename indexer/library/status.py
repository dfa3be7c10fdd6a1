"""What `pixseek status` reports: roots, counts, the active model, the index and recent failures."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from .catalog import active_model, counts, open_catalog, recent_failures, searchable_images, session
from .folder import existing_library, model_key, vectors_dir
from .roots import list_roots
from .tables import File, Root, Run

MANIFEST_FIELDS = (
    "kind",
    "factory",
    "d",
    "ntotal",
    "nlist",
    "m",
    "nbits",
    "nprobe",
    "refine_factor",
    "trained_on",
    "updated",
)


def _index_info(library: Path, key: str) -> dict | None:
    folder = vectors_dir(library, key)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    info = {k: manifest[k] for k in MANIFEST_FIELDS if k in manifest}
    info["files"] = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}  # bytes
    return info


def _counts(s, model_id: int | None) -> dict:
    """counts() plus photos (what a search can return) and copies (ok files whose content another ok file has)."""
    out = counts(s)
    ok_images = s.scalar(select(func.count(File.image_id.distinct())).where(File.status == "ok"))
    out["photos"] = searchable_images(s, model_id) if model_id is not None else 0
    out["copies"] = out["files"]["ok"] - ok_images
    return out


def _last_run(s) -> dict | None:
    run = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one_or_none()
    if run is None:
        return None
    return {
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "status": run.status,
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "counts": run.counts,
    }


def library_status(library: str | Path | None = None, max_failures: int = 50) -> dict:
    """A JSON-ready description of the library; failures are the most recently tried first.

    counts: files by status; images (every distinct content the catalog holds, including that of files since
    gone missing or removed); photos (distinct images a search can return now); copies (ok files repeating
    another ok file's bytes). So files ok = photos + copies when every ok file has its vector."""
    path = existing_library(library)
    engine = open_catalog(path)
    with session(engine) as s:
        model = active_model(s)
        info = {
            "library": str(path),
            "catalog": engine.url.render_as_string(hide_password=True),
            "roots": list(s.scalars(select(Root.path).order_by(Root.path))),
            # Roots whose folder cannot be reached now: their files are kept as they were, not counted missing.
            "offline": [{"path": r.path, "files": r.ok} for r in list_roots(s) if not r.online],
            "counts": _counts(s, model.id if model else None),
            "model": None
            if model is None
            else {
                "name": model.name,
                "weights_sha256": model.weights_sha256,
                "dim": model.dim,
                "runtime": model.runtime,
                "precision": model.precision,
            },
            "failures": [
                {"path": p, "reason": r, "when": w.isoformat(timespec="seconds")}
                for p, r, w in recent_failures(s, max_failures)
            ],
            "last_run": _last_run(s),
        }
    info["index"] = _index_info(path, model_key(model.name, model.weights_sha256)) if model else None
    return info
