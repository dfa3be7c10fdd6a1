"""What `pixseek status` reports: roots, counts, the active model, the index and recent failures."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from .catalog import active_model, counts, failures, open_catalog, session
from .folder import existing_library, model_key, vectors_dir
from .tables import Root, Run

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
    try:
        manifest = json.loads((vectors_dir(library, key) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return {k: manifest[k] for k in MANIFEST_FIELDS if k in manifest}


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
    """A JSON-ready description of the library."""
    path = existing_library(library)
    engine = open_catalog(path)
    with session(engine) as s:
        model = active_model(s)
        info = {
            "library": str(path),
            "catalog": engine.url.render_as_string(hide_password=True),
            "roots": list(s.scalars(select(Root.path).order_by(Root.path))),
            "counts": counts(s),
            "model": None
            if model is None
            else {
                "name": model.name,
                "weights_sha256": model.weights_sha256,
                "dim": model.dim,
                "runtime": model.runtime,
                "precision": model.precision,
            },
            "failures": [{"path": p, "reason": r} for p, r in failures(s, max_failures)],
            "last_run": _last_run(s),
        }
    info["index"] = _index_info(path, model_key(model.name, model.weights_sha256)) if model else None
    return info
