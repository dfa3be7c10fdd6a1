"""The Search page's query as the parts it is made of (text terms, images, indexed images), each with a button that
takes it out, and one that clears them all."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from indexer import PixseekError
from search import Term

from . import handles
from .search_form import QueryImage, forget_upload
from .terms import IdTerm, id_label, text_label, text_of
from .thumbs import thumbnail

REMOVE = "Take this part out of the query"


def _set(**values) -> None:
    st.session_state.update({f"search_{k}": v for k, v in values.items()})


def _drop_text(texts: Sequence[Term], i: int) -> None:
    _set(text=text_of([*texts[:i], *texts[i + 1 :]]))


def _drop_image(image: QueryImage) -> None:
    if image.uploaded:
        forget_upload()
    else:
        _set(path="")


def _drop_id(terms: Sequence[IdTerm], i: int) -> None:
    _set(terms=[*terms[:i], *terms[i + 1 :]])


def clear_all() -> None:
    forget_upload()
    _set(text="", keywords="", path="", terms=[], page=0)


def _image(image: QueryImage) -> None:
    with st.container(horizontal=True, gap="small", width="content", vertical_alignment="center"):
        try:
            st.image(str(thumbnail(handles.library(), image.path)), width=40)
        except PixseekError:
            pass  # the part is still shown and removable by its name
        key = "search_drop_upload" if image.uploaded else "search_drop_path"
        st.button(f"image {image.name} ✕", key=key, help=REMOVE, on_click=_drop_image, args=(image,))


def show(parsed: Sequence[Term], images: Sequence[QueryImage], terms: Sequence[IdTerm]) -> None:
    """The parts of `parsed` (search.parse of the page's query: the images, the text terms, then `terms`)."""
    texts = [t for t in parsed if t.kind == "text"]
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key="search_query"):
        st.markdown("**Query:**", width="content")
        for image in images:
            _image(image)
        for i, term in enumerate(texts):
            label = f"{text_label(term)} ✕"
            st.button(label, key=f"search_drop_text_{i}", help=REMOVE, on_click=_drop_text, args=(texts, i))
        for i, term in enumerate(terms):
            label = f"{id_label(term)} ✕"
            st.button(label, key=f"search_term_{term.image_id}", help=REMOVE, on_click=_drop_id, args=(terms, i))
        st.button("Clear all", key="search_clear", type="tertiary", on_click=clear_all)
