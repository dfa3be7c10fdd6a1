"""The Map page's data: a frame of points with file names and hover thumbnails, the brushed selection, and the
selection's distinct images (one per duplicate group) that "Search with these" hands to the Search page."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from indexer import PixseekError
from search import Group

from .thumbs import inside_roots, thumbnail

HOVER_SIDE = 64  # pixels: a glance in the tooltip; every point's thumbnail travels in the chart's data
HOVER_LIMIT = 2000  # points beyond this get no hover thumbnail (each is a few KB in the page)
THUMB_THREADS = 4  # PIL releases the GIL while it decodes and scales, so a cold cache fills in parallel
SEARCH_WITH = 50  # at most this many distinct images of a selection become the query


def _data_url(library: Path, path: str, roots: tuple[str, ...]) -> str:
    try:
        thumb = thumbnail(library, inside_roots(path, roots), HOVER_SIDE)
    except PixseekError:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(thumb.read_bytes()).decode()


def frame(
    ids: np.ndarray, xy: np.ndarray, paths: dict[int, str], library: Path, roots: tuple[str, ...]
) -> pd.DataFrame:
    """One row per point: id, x, y, path, name, folder, and (for small libraries) image, a thumbnail data URL."""
    rows = pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1]})
    rows["path"] = [paths.get(int(i), "") for i in ids]
    rows["name"] = [Path(p).name for p in rows["path"]]
    rows["folder"] = [Path(p).parent.name for p in rows["path"]]
    if len(rows) <= HOVER_LIMIT:
        with ThreadPoolExecutor(THUMB_THREADS) as pool:
            rows["image"] = list(pool.map(lambda p: _data_url(library, p, roots), rows["path"]))
    return rows


def brushed(rows: pd.DataFrame, selection: dict) -> pd.DataFrame:
    """The rows inside a brushed interval {"x": [lo, hi], "y": [lo, hi]}; all rows when nothing is brushed."""
    keep = np.ones(len(rows), bool)
    for axis in ("x", "y"):
        if axis in selection and len(selection[axis]) == 2:
            lo, hi = sorted(selection[axis])
            keep &= (rows[axis] >= lo).to_numpy() & (rows[axis] <= hi).to_numpy()
    return rows[keep]


def copies_of(groups: Iterable[Group]) -> dict[int, int]:
    """image id -> the image id of its group's keeper, for every image in a duplicate group (bursts aside)."""
    keeper: dict[int, int] = {}
    for group in groups:
        if group.tier != "burst":
            keeper.update({m.image_id: group.keep.image_id for m in group.members})
    return keeper


def distinct(ids: Sequence[int], keeper: dict[int, int], limit: int = SEARCH_WITH) -> list[int]:
    """The ids one per picture (a copy stands for its group, by its keeper's id, once); evenly spaced
    through the selection down to `limit` when there are more."""
    pictures = list(dict.fromkeys(keeper.get(int(i), int(i)) for i in ids))
    if len(pictures) <= limit:
        return pictures
    return [pictures[int(j)] for j in np.linspace(0, len(pictures) - 1, limit)]
