"""A curated subset and the recipe that regenerates it: queries, thresholds, filters, dedup, diversity, model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from indexer import PixseekError

from .dedup import DedupSettings
from .filters import Filters

RECIPE_VERSION = 1


class BadRecipe(PixseekError):
    pass


class RecipeModelMismatch(PixseekError):
    def __init__(self, wanted: str, have: str):
        super().__init__(
            f"the recipe was made with model weights {wanted[:12]}, this library is indexed with {have[:12]}; "
            "its queries would select a different subset"
        )


@dataclass(frozen=True)
class Recipe:
    queries: tuple[str, ...] = ()  # search.query language, one subset query each
    relevant: bool = False
    strictness: float = 0.5
    limit: int = 1000  # hits per query at most
    filters: Filters = Filters()
    dedup: DedupSettings | None = None
    diverse: int | None = None  # keep this many, spread out
    diversity: str = "kmeans"  # or "farthest"
    seed: int = 0
    export_as: str = "copy"  # what `pixseek export --recipe` writes unless told otherwise
    model: str | None = None  # filled in by build_subset
    weights_sha256: str | None = None

    def to_json(self) -> str:
        out = {"version": RECIPE_VERSION, **asdict(self)}
        out["filters"] = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out["filters"].items()}
        return json.dumps(out, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        """The recipe in text; BadRecipe when it is not one."""
        try:
            raw = json.loads(text)
            raw.pop("version", None)
            filters = {k: _from_iso(k, v) for k, v in (raw.pop("filters", None) or {}).items()}
            dedup = raw.pop("dedup", None)
            return cls(
                **{k: tuple(v) if k == "queries" else v for k, v in raw.items()},
                filters=Filters(**{**filters, "formats": tuple(filters.get("formats", ()))}),
                dedup=DedupSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in dedup.items()})
                if dedup
                else None,
            )
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:  # RecursionError: nested too deep
            raise BadRecipe(f"not a pixseek recipe: {type(exc).__name__}: {exc}") from None


def _from_iso(key: str, value):
    return datetime.fromisoformat(value) if key in ("after", "before") and value else value


@dataclass(frozen=True)
class Item:
    image_id: int
    path: str
    score: float | None  # best cosine over the queries; None without queries
    query: str | None  # the query that gave the score
    width: int
    height: int
    format: str
    size: int
    taken_at: datetime | None

    def as_dict(self) -> dict:
        out = asdict(self)
        out["taken_at"] = self.taken_at.isoformat() if self.taken_at else None
        return out


@dataclass
class Subset:
    recipe: Recipe
    items: list[Item] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """Manifest rows: path, score, query and metadata per item."""
        return [item.as_dict() for item in self.items]
