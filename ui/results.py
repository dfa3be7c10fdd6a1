"""The Search page's results: a grid of equal tiles with "similar", add, avoid and "open", the opened image in a
dialog, paging."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from indexer import PixseekError
from search import Hit

from . import handles
from .metadata import caption, fields
from .terms import DOWN_WEIGHT, IdTerm, toggled
from .thumbs import inside_roots, preview, thumbnail

TILE = 160  # pixels: a thumbnail's square; two fit side by side on a 390 px phone
ACTIONS = (  # label, key suffix, tooltip
    ("Similar", "like", "Search for images like this one"),
    ("Add", "up", "Add this image to the query"),
    ("Avoid", "down", "Push the query away from this image"),
    ("Open", "open", "Open the image with its details"),
)


def _more_like(hit: Hit) -> None:
    st.session_state["search_text"] = ""
    st.session_state["search_terms"] = [IdTerm(hit.image_id, 1.0, Path(hit.path).name)]
    st.session_state["search_page"] = 0


def _vote(hit: Hit, weight: float) -> None:
    terms = st.session_state.get("search_terms", [])
    st.session_state["search_terms"] = toggled(terms, hit.image_id, weight, Path(hit.path).name)


def _open(hit: Hit) -> None:
    st.session_state["search_open"] = hit


CLICKS = {"like": (_more_like,), "up": (_vote, 1.0), "down": (_vote, -DOWN_WEIGHT), "open": (_open,)}


def _thumb(hit: Hit, roots: tuple[str, ...]) -> None:
    try:
        st.image(str(thumbnail(handles.library(), inside_roots(hit.path, roots))), width=TILE)
    except PixseekError as exc:
        st.caption(f"(no preview: {exc})")


def _card(rank: int, hit: Hit, roots: tuple[str, ...]) -> None:
    with st.container(width=TILE, gap="small", key=f"search_tile_{hit.image_id}"):
        _thumb(hit, roots)
        st.caption(caption(rank, hit))
        with st.container(horizontal=True, gap="small"):
            for label, action, tip in ACTIONS:
                click, *weight = CLICKS[action]
                st.button(label, key=f"search_{hit.image_id}_{action}", help=tip, on_click=click, args=(hit, *weight))


def grid(hits: list[Hit], offset: int, roots: tuple[str, ...]) -> None:
    """Tiles of one size that wrap to the width of the screen: five or more on a desktop, two on a phone."""
    with st.container(horizontal=True, gap="small", key="search_grid"):
        for i, hit in enumerate(hits):
            _card(offset + i + 1, hit, roots)


def _details(hit: Hit, roots: tuple[str, ...]) -> None:
    picture, facts = st.columns([3, 2])  # side by side on a desktop; one above the other on a phone
    try:
        picture.image(preview(inside_roots(hit.path, roots)))
    except PixseekError as exc:
        picture.error(str(exc))
    facts.code(hit.path, language=None, wrap_lines=True)
    facts.markdown("  \n".join(f"**{label}** {value}" for label, value in fields(hit).items()))


def opened(roots: tuple[str, ...]) -> None:
    """The image opened from the grid, in a dialog where the user is: bounded preview, path to copy, metadata."""
    hit = st.session_state.pop("search_open", None)  # shown once: its ✕, or any later run of the page, closes it
    if hit is not None:
        st.dialog(Path(hit.path).name, width="large")(_details)(hit, roots)


def pager(shown: int, page_size: int, total: int | None) -> None:
    page = st.session_state.get("search_page", 0)
    has_more = shown == page_size if total is None else (page + 1) * page_size < total
    left, middle, right = st.columns([1, 2, 1])
    left.button("← Previous", key="search_prev", disabled=page == 0, on_click=_turn, args=(-1,))
    middle.caption(f"page {page + 1}" + ("" if total is None else f" of {max(1, -(-total // page_size))}"))
    right.button("Next →", key="search_next", disabled=not has_more, on_click=_turn, args=(1,))


def _turn(step: int) -> None:
    st.session_state["search_page"] = max(0, st.session_state.get("search_page", 0) + step)
