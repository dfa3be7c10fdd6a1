"""What a library holds: status (roots, counts, model, index), near-duplicate groups, and health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from indexer.library import has_catalog, library_status
from search import DedupSettings, find_groups

from .state import Served

DEFAULTS = DedupSettings()
router = APIRouter(prefix="/api", tags=["library"])


@router.get("/health")
def health(library: Served) -> dict:
    """Always answers (no token needed): the service runs, and whether its library exists yet."""
    return {"ok": True, "library": str(library.path), "indexed": has_catalog(library.path)}


@router.get("/status")
def status(library: Served) -> dict:
    """The library's roots, counts, model, precision, index parameters and recent failures."""
    return library_status(library.path)


@router.get("/duplicates")
def duplicates(
    library: Served,
    semantic: Annotated[bool, Query(description="also the semantic tier (embedding cosine)")] = False,
    show_dismissed: Annotated[bool, Query(description="also groups answered 'not duplicates'")] = False,
) -> list[dict]:
    """Near-duplicate groups with their tier, distance, why, and the file kept (as `pixseek dedup --json`), under
    the same default thresholds as the command line and the UI (DedupSettings)."""
    tiers = (*DEFAULTS.tiers, *(("semantic",) if semantic else ()))
    settings = DedupSettings(tiers=tiers, show_dismissed=show_dismissed)
    return [g.as_dict() for g in find_groups(library.path, settings)]
