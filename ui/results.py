"""The Search page's results: a thumbnail grid with votes, "more like this" and "open", the opened image, paging."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from indexer import PixseekError
from search import Hit

from . import handles
from .terms import DOWN_WEIGHT, IdTerm, toggled
from .thumbs import inside_roots, preview, thumbnail

COLUMNS = 5


def human_size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def caption(rank: int, hit: Hit) -> str:
    taken = hit.taken_at.strftime("%Y-%m-%d") if hit.taken_at else "no date"
    pixels = f"{hit.width}x{hit.height}"
    return f"#{rank} · {hit.score:.3f} · {Path(hit.path).name}  \n{taken} · {human_size(hit.size)} · {pixels}"


def _more_like(hit: Hit) -> None:
    st.session_state["search_text"] = ""
    st.session_state["search_terms"] = [IdTerm(hit.image_id, 1.0, Path(hit.path).name)]
    st.session_state["search_page"] = 0


def _vote(hit: Hit, weight: float) -> None:
    terms = st.session_state.get("search_terms", [])
    st.session_state["search_terms"] = toggled(terms, hit.image_id, weight, Path(hit.path).name)


def _open(hit: Hit) -> None:
    st.session_state["search_open"] = hit


def _thumb(hit: Hit, roots: tuple[str, ...]) -> None:
    try:
        st.image(str(thumbnail(handles.library(), inside_roots(hit.path, roots))))
    except PixseekError as exc:
        st.caption(f"(no preview: {exc})")


def _card(rank: int, hit: Hit, roots: tuple[str, ...]) -> None:
    _thumb(hit, roots)
    st.caption(caption(rank, hit))
    key = f"search_{hit.image_id}"
    with st.container(horizontal=True, gap="small"):
        for icon, action, tip, click, args in (
            ("search", "like", "More like this", _more_like, (hit,)),
            ("thumb_up", "up", "Add to the query", _vote, (hit, 1.0)),
            ("thumb_down", "down", "Push the query away from this", _vote, (hit, -DOWN_WEIGHT)),
            ("open_in_full", "open", "Open the image", _open, (hit,)),
        ):
            st.button(f":material/{icon}:", key=f"{key}_{action}", help=tip, type="tertiary", on_click=click, args=args)


def grid(hits: list[Hit], offset: int, roots: tuple[str, ...]) -> None:
    for row in range(0, len(hits), COLUMNS):
        for column, (i, hit) in zip(st.columns(COLUMNS), enumerate(hits[row : row + COLUMNS], start=row), strict=False):
            with column:
                _card(offset + i + 1, hit, roots)


def opened(roots: tuple[str, ...]) -> None:
    """The image opened from the grid: bounded preview, metadata and path, with a close button."""
    hit = st.session_state.get("search_open")
    if hit is None:
        return
    with st.container(border=True):
        left, right = st.columns([3, 2])
        try:
            left.image(preview(inside_roots(hit.path, roots)))
        except PixseekError as exc:
            left.error(str(exc))
        right.subheader(Path(hit.path).name)
        right.code(hit.path, language=None)
        right.table({k: str(v) for k, v in hit.as_dict().items() if k != "path"})
        right.button("Close", key="search_close", on_click=st.session_state.pop, args=("search_open",))


def pager(shown: int, page_size: int, total: int | None) -> None:
    page = st.session_state.get("search_page", 0)
    has_more = shown == page_size if total is None else (page + 1) * page_size < total
    left, middle, right = st.columns([1, 2, 1])
    left.button("← Previous", key="search_prev", disabled=page == 0, on_click=_turn, args=(-1,))
    middle.caption(f"page {page + 1}" + ("" if total is None else f" of {max(1, -(-total // page_size))}"))
    right.button("Next →", key="search_next", disabled=not has_more, on_click=_turn, args=(1,))


def _turn(step: int) -> None:
    st.session_state["search_page"] = max(0, st.session_state.get("search_page", 0) + step)
