"""The Map page's data: a frame of points with file names and hover thumbnails, and the brushed selection."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pandas as pd

from indexer import PixseekError

from .thumbs import inside_roots, thumbnail

HOVER_SIDE = 96  # pixels
HOVER_LIMIT = 2000  # points beyond this get no hover thumbnail (each is a few KB in the page)


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
        rows["image"] = [_data_url(library, p, roots) for p in rows["path"]]
    return rows


def brushed(rows: pd.DataFrame, selection: dict) -> pd.DataFrame:
    """The rows inside a brushed interval {"x": [lo, hi], "y": [lo, hi]}; all rows when nothing is brushed."""
    keep = np.ones(len(rows), bool)
    for axis in ("x", "y"):
        if axis in selection and len(selection[axis]) == 2:
            lo, hi = sorted(selection[axis])
            keep &= (rows[axis] >= lo).to_numpy() & (rows[axis] <= hi).to_numpy()
    return rows[keep]
