"""The Curate page's parts: the recipe's inputs, a sample of the subset, and the export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indexer import PixseekError
from search import FORMATS, METHODS, DedupSettings, Filters, Recipe, Subset, export

from . import handles
from .thumbs import inside_roots, thumbnail

SAMPLE = 10  # items shown from the subset


def recipe(filters: Filters) -> Recipe:
    """The recipe the page's widgets describe (keys prefixed curate_)."""
    text = st.text_area("Queries, one per line (none: the whole library)", key="curate_queries")
    top = st.columns(4)
    relevant = top[0].toggle("Only relevant hits", key="curate_relevant")
    strictness = top[1].slider("Strictness", 0.0, 1.0, 0.5, 0.05, key="curate_strictness", disabled=not relevant)
    limit = top[2].number_input("Hits per query at most", 1, 1_000_000, 1000, key="curate_limit")
    dedup = top[3].toggle("One image per duplicate group", key="curate_dedup")
    low = st.columns(3)
    diverse = low[0].number_input("Keep this many, spread out (0: all)", 0, 10_000_000, 0, key="curate_diverse")
    method = low[1].selectbox("Spread by", METHODS, key="curate_method")
    seed = low[2].number_input("Seed", 0, 2**31 - 1, 0, key="curate_seed")
    return Recipe(
        queries=tuple(q.strip() for q in text.splitlines() if q.strip()),
        relevant=relevant,
        strictness=strictness,
        limit=limit,
        filters=filters,
        dedup=DedupSettings() if dedup else None,
        diverse=diverse or None,
        diversity=method,
        seed=seed,
    )


def sample(subset: Subset, roots: tuple[str, ...]) -> None:
    for column, item in zip(st.columns(5) * 2, subset.items[:SAMPLE], strict=False):
        with column:
            try:
                st.image(str(thumbnail(handles.library(), inside_roots(item.path, roots))))
            except PixseekError as exc:
                st.caption(f"(no preview: {exc})")
            score = "" if item.score is None else f"{item.score:.3f} · "
            st.caption(f"{score}{item.path.rsplit('/', 1)[-1]}")


def downloads(subset: Subset) -> None:
    left, right = st.columns(2)
    left.download_button("Download the recipe", subset.recipe.to_json(), "recipe.json", key="curate_get_recipe")
    manifest = pd.DataFrame(subset.rows()).to_csv(index=False)
    right.download_button("Download the manifest (CSV)", manifest, "subset.csv", key="curate_get_manifest")


def export_form(subset: Subset) -> None:
    left, right = st.columns([1, 3])
    as_ = left.selectbox("Export as", FORMATS, key="curate_as")
    to = right.text_input(
        "Into the folder (new or empty)", key="curate_to", help="A new or empty folder, e.g. /home/me/subset"
    )
    if st.button(f"Export {len(subset.items)} images", key="curate_export", disabled=not to.strip()):
        try:
            written = export(subset, to.strip(), as_)
        except PixseekError as exc:
            st.error(str(exc))
            return
        st.success(f"exported {len(subset.items)} images to {written}; the recipe is beside them (recipe.json)")
