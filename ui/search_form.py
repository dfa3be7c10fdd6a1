"""The Search page's inputs: filters and result options in the sidebar, the query (text, image, path) above."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

import streamlit as st

from indexer import PixseekError
from search import SORTS, Facets, Filters

from . import handles
from .thumbs import inside_roots
from .upload import save_upload

ALL = "(all)"
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif", "avif"]


@dataclass(frozen=True)
class Options:
    relevant: bool
    strictness: float
    sort: str
    page_size: int


def _dates(f: Facets, page: str) -> dict:
    if f.first_taken is None or not st.checkbox("Only photos taken between", key=f"{page}_dated"):
        return {}
    picked = st.date_input("Taken", (f.first_taken.date(), f.last_taken.date()), key=f"{page}_dates")
    if len(picked) != 2:  # the second date is still being picked
        return {}
    return {"after": datetime.combine(picked[0], time()), "before": datetime.combine(picked[1], time()) + timedelta(1)}


def sidebar_filters(f: Facets, page: str) -> Filters:
    """The filter widgets in the sidebar (session keys prefixed by the page) and the Filters they say."""
    st.sidebar.header("Filters")
    with st.sidebar:
        folder = st.selectbox("Folder", [ALL, *f.folders], key=f"{page}_folder")
        dates = _dates(f, page)
        camera = st.selectbox("Camera", [ALL, *f.cameras], key=f"{page}_camera")
        formats = st.multiselect("Format", f.formats, key=f"{page}_formats")
        min_width = st.number_input("At least this wide (pixels)", 0, max(f.max_width, 1), 0, 50, key=f"{page}_minw")
        min_height = st.number_input("At least this high (pixels)", 0, max(f.max_height, 1), 0, 50, key=f"{page}_minh")
    return Filters(
        under=None if folder == ALL else folder,
        camera=None if camera == ALL else camera,
        formats=tuple(formats),
        min_width=min_width or None,
        min_height=min_height or None,
        **dates,
    )


def sidebar_options() -> Options:
    st.sidebar.header("Results")
    with st.sidebar:
        relevant = st.toggle("Only relevant results", key="search_relevant")
        strictness = st.slider("Strictness", 0.0, 1.0, 0.5, 0.05, key="search_strictness", disabled=not relevant)
        sort = st.selectbox("Sort by", SORTS, key="search_sort")
        page_size = st.selectbox("Per page", (20, 50, 100), key="search_page_size")
    return Options(relevant, strictness, sort, page_size)


@dataclass(frozen=True)
class QueryImage:
    name: str  # what the query bar shows
    path: Path
    uploaded: bool  # else a pasted path


def upload_key() -> str:
    """The uploader's key: a new one empties it (Streamlit lets no code set an uploader's value)."""
    return f"search_upload_{st.session_state.get('search_uploads', 0)}"


def forget_upload() -> None:
    st.session_state["search_uploads"] = st.session_state.get("search_uploads", 0) + 1


def query_images(roots: tuple[str, ...]) -> list[QueryImage]:
    """Image files to search with: an upload and/or a pasted path inside the library's folders."""
    left, right = st.columns(2)
    upload = left.file_uploader("...or search with an image", type=UPLOAD_TYPES, key=upload_key())
    pasted = right.text_input("...or paste the path of an image in the library", key="search_path").strip()
    images = []
    try:
        if upload is not None:
            path = save_upload(upload.getvalue(), upload.name, handles.uploads())
            images.append(QueryImage(upload.name, path, uploaded=True))
        if pasted:
            images.append(QueryImage(Path(pasted).name, inside_roots(pasted, roots), uploaded=False))
    except PixseekError as exc:
        st.error(f"{exc}")
    return images
