"""Curation: a subset of a library from queries, filters, dedup and diversity sampling, as a reproducible recipe.

    recipe = Recipe(queries=("red car",), relevant=True, dedup=DedupSettings(), diverse=500, seed=0)
    subset = build_subset("/path/lib", recipe)        # Subset(recipe with model and weights filled in, items)
    export(subset, "subset/", "symlink")              # also writes subset/recipe.json
    again = build_subset("/path/lib", Recipe.from_json(Path("subset/recipe.json").read_text()))

Steps, in order: the union of each query's hits (search.Searcher: `relevant` keeps what stands out, at most
`limit` per query; an image's score is its best over the queries), or every indexed image when there is no
query; the filters; dedup (of each duplicate group in the subset only the best-ranked member stays); then
`diverse` items by k-means or farthest-point on the stored vectors (search.diversity, seeded). Items come
out best score first (path order without queries). A recipe names the model and its weights' sha256; it
is refused on a library indexed with other weights, since the same queries would select something else.
export() and its formats live in search.export.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from indexer import PixseekError
from indexer.catalog import session
from indexer.library import fetch_vectors
from indexer.tables import Model

from .dedup import DedupSettings, find_groups
from .diversity import diverse
from .export import FORMATS, UnknownFormat, export
from .filters import Filters, allowed_ids
from .members import Member, load_members
from .pairs import fetched
from .searcher import Hit, Searcher

__all__ = ["FORMATS", "Item", "Recipe", "Subset", "UnknownFormat", "build_subset", "export"]
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


def build_subset(library: str | Path | None, recipe: Recipe) -> Subset:
    """The subset the recipe describes (see the module docstring); the returned recipe names the model."""
    _check(recipe)
    searcher = Searcher(library)
    with session(searcher.engine) as s:
        model = s.get(Model, searcher.model_id)
        name = model.name
    if recipe.weights_sha256 and recipe.weights_sha256 != searcher.weights_sha256:
        raise RecipeModelMismatch(recipe.weights_sha256, searcher.weights_sha256)
    recipe = replace(recipe, model=name, weights_sha256=searcher.weights_sha256)
    items = _queried(searcher, recipe) if recipe.queries else _filtered(searcher, recipe.filters)
    if recipe.dedup is not None:
        items = _deduplicated(items, searcher.library, recipe.dedup)
    if recipe.diverse is not None:
        items = _spread(items, searcher, recipe)
    return Subset(recipe, items)


def _check(recipe: Recipe) -> None:
    if recipe.export_as not in FORMATS:
        raise UnknownFormat(recipe.export_as)
    if recipe.limit < 1 or (recipe.diverse is not None and recipe.diverse < 1):
        raise BadRecipe("limit and diverse must be at least 1")


def _queried(searcher: Searcher, recipe: Recipe) -> list[Item]:
    best: dict[int, Item] = {}
    for query in recipe.queries:
        result = searcher.search(
            query, recipe.limit, filters=recipe.filters, relevant=recipe.relevant, strictness=recipe.strictness
        )
        for hit in result.hits:
            if hit.image_id not in best or hit.score > best[hit.image_id].score:
                best[hit.image_id] = _from_hit(hit, query)
    return sorted(best.values(), key=lambda i: (-i.score, i.path))


def _from_hit(hit: Hit, query: str) -> Item:
    keep = {f.name for f in fields(Item)}
    return Item(**{k: v for k, v in vars(hit).items() if k in keep}, query=query)


def _filtered(searcher: Searcher, filters: Filters) -> list[Item]:
    with session(searcher.engine) as s:
        allowed = set(allowed_ids(s, filters).tolist()) if filters.active() else None
        members = load_members(s)
    first: dict[int, Member] = {}
    for m in members:  # in path order: an image's first file stands for it, as in search hits
        if allowed is None or m.image_id in allowed:
            first.setdefault(m.image_id, m)
    return [_from_member(m) for m in first.values()]


def _from_member(m: Member) -> Item:
    keep = {f.name for f in fields(Item)}
    return Item(**{k: v for k, v in vars(m).items() if k in keep}, score=None, query=None)


def _deduplicated(items: list[Item], library: Path, settings: DedupSettings) -> list[Item]:
    """Of each duplicate group, only the first of its members (best ranked) that the subset holds."""
    present = {i.image_id for i in items}
    drop: set[int] = set()
    for group in find_groups(library, settings):
        if group.tier == "burst":
            continue
        images = list(dict.fromkeys(m.image_id for m in group.members if m.image_id in present))
        drop.update(images[1:])
    return [i for i in items if i.image_id not in drop]


def _spread(items: list[Item], searcher: Searcher, recipe: Recipe) -> list[Item]:
    """recipe.diverse of the items, spread over the embedding space (items without a vector are left out)."""
    items = [i for i in items if i.image_id in set(searcher.index.ids().tolist())]
    if not items:
        return []
    ids = np.array([i.image_id for i in items], np.int64)
    xb = fetched(fetch_vectors(searcher.engine, searcher.model_id, searcher.dim), ids)
    return [items[r] for r in diverse(xb, recipe.diverse, recipe.diversity, recipe.seed)]
