"""What the app's pages share and load once per process (st.cache_resource: the library's Searcher, the
uploads folder) or cache (st.cache_data: facets, duplicate groups and subsets for a while; the map's points
per version of the library); and `explained`, which turns a pixseek error into a message with the command
that fixes it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
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
    points_version,
)

from . import mapview

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


@st.cache_data(max_entries=4, show_spinner="Projecting the library's vectors...")
def _map_rows(path: str, version: tuple) -> pd.DataFrame:
    """The map's frame for one version of the library (the key; unused in the body): kept until it changes."""
    searcher = _searcher(path)
    ids, xy = library_points(searcher)
    return mapview.frame(ids, xy, first_paths(searcher.db, ids), Path(path), library_facets().roots)


def map_rows() -> pd.DataFrame:
    """The Map page's points (see mapview.frame), projected once per version of the library's files and vectors."""
    searcher()
    s = _searcher(str(library()))
    return _map_rows(str(library()), points_version(s.db, s.model_id))


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
    for cached in (_groups, _subset, _facets, _map_rows):
        cached.clear()
