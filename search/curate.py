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

from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from indexer.library import Model, fetch_vectors, session

from .dedup import DedupSettings, find_groups
from .diversity import diverse
from .export import FORMATS, UnknownFormat
from .filters import Filters, allowed_ids
from .members import Member, load_members
from .pairs import fetched
from .recipe import BadRecipe, Item, Recipe, RecipeModelMismatch, Subset
from .searcher import Hit, Searcher


def build_subset(library: str | Path | None, recipe: Recipe) -> Subset:
    """The subset the recipe describes (see the module docstring); the returned recipe names the model."""
    _check(recipe)
    searcher = Searcher(library)
    with session(searcher.db) as s:
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
    with session(searcher.db) as s:
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
    xb = fetched(fetch_vectors(searcher.db, searcher.model_id, searcher.dim), ids)
    return [items[r] for r in diverse(xb, recipe.diverse, recipe.diversity, recipe.seed)]
