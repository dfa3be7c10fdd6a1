"""What the app's pages share and load once per process (st.cache_resource: the library's Searcher, the
uploads folder) or cache for a while (st.cache_data: facets, map points, duplicate groups, subsets); and
`explained`, which turns a pixseek error into a message with the command that fixes it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import streamlit as st

from indexer import ModelError, PixseekError
from indexer.library import LibraryNotFound, library_path
from search import (
    DedupSettings,
    Facets,
    Group,
    NoModel,
    Recipe,
    Searcher,
    Subset,
    build_subset,
    facets,
    find_groups,
    first_paths,
    library_points,
)

FACETS_TTL = 30  # seconds: a running index run adds folders and cameras


def library() -> Path:
    """The library this app serves: $PIXSEEK_LIBRARY, which `pixseek ui` sets, else the default library."""
    return library_path(None)


def _fix(exc: PixseekError) -> str:
    lib = library()
    if isinstance(exc, LibraryNotFound):
        return f"Make one with `pixseek index FOLDER -l {lib}`, or try `pixseek demo` for a ready-made one."
    if isinstance(exc, NoModel):
        return f"Index a folder into it: `pixseek index FOLDER -l {lib}`."
    if isinstance(exc, ModelError):
        return "Install the library's model (see `pixseek models list`), or index again with another `--model`."
    return ""


@contextmanager
def explained() -> Iterator[None]:
    """Show a pixseek error as a message with the command that fixes it, and stop the page."""
    try:
        yield
    except PixseekError as exc:
        st.error(f"{exc}\n\n{_fix(exc)}".strip())
        st.stop()


@st.cache_resource(show_spinner="Opening the library...")
def _searcher(path: str) -> Searcher:
    return Searcher(path)


@st.cache_data(ttl=FACETS_TTL, show_spinner=False)
def _facets(path: str) -> Facets:
    return facets(_searcher(path).db)


def searcher() -> Searcher:
    """The library's Searcher (one per process); on a missing or empty library the page explains and stops."""
    with explained():
        return _searcher(str(library()))


def library_facets() -> Facets:
    searcher()  # explains a missing library first
    return _facets(str(library()))


@st.cache_resource
def uploads() -> Path:
    """Where uploaded query images are kept for this process."""
    return Path(tempfile.mkdtemp(prefix="pixseek-uploads-"))


@st.cache_data(ttl=60, show_spinner="Projecting the library's vectors...")
def _points(path: str) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    searcher = _searcher(path)
    ids, xy = library_points(searcher)
    return ids, xy, first_paths(searcher.db, ids)


def points() -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """(ids (n,), xy (n, 2), id -> path) of the library's images on the map (cached a minute)."""
    searcher()
    return _points(str(library()))


@st.cache_data(ttl=FACETS_TTL, show_spinner="Finding duplicates...")
def _groups(path: str, settings: DedupSettings) -> list[Group]:
    return find_groups(path, settings)


def duplicate_groups(settings: DedupSettings) -> list[Group]:
    """The library's duplicate groups under these settings (cached until an action or FACETS_TTL)."""
    searcher()
    with explained():
        return _groups(str(library()), settings)


@st.cache_data(ttl=FACETS_TTL, show_spinner="Building the subset...")
def _subset(path: str, recipe: Recipe) -> Subset:
    return build_subset(path, recipe)


def subset(recipe: Recipe) -> Subset:
    searcher()
    with explained():
        return _subset(str(library()), recipe)


def library_changed() -> None:
    """Forget what files were where: after a dedup action or its undo."""
    for cached in (_groups, _subset, _facets, _points):
        cached.clear()
