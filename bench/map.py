"""Map page load on the demo library (345 images, tiny-shapes), server side, through streamlit's AppTest.

    python bench/map.py

- page: the Map page's first run in this process with an empty thumbnail cache (cold), then a rerun (what a
  brush or a click costs: the projection and hover thumbnails come from the cache keyed by the library's
  version), and the bytes of the chart element sent to the browser.
- frame: building the points' frame alone, cold and warm, with the old hover settings (96 px, one thread,
  rebuilt on every rerun) and the current ones (64 px, THUMB_THREADS threads, built once per version).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, emit, machine
from streamlit.testing.v1 import AppTest

from search import Searcher, facets, first_paths, library_points
from ui import demo, mapview

PAGE = ROOT / "ui" / "app_pages" / "map_page.py"


def page_run(library: Path) -> dict:
    os.environ["PIXSEEK_LIBRARY"] = str(library)
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - start
    chart = next(n for n in at._tree.children[0].children.values() if n.type == "vega_lite_chart")
    return {"cold_s": round(cold, 3), "rerun_s": round(rerun, 3), "chart_bytes": len(chart.proto.SerializeToString())}


def frame_times(library: Path, side: int, threads: int) -> dict:
    shutil.rmtree(library / "thumbs", ignore_errors=True)
    mapview.HOVER_SIDE, mapview.THUMB_THREADS = side, threads
    searcher = Searcher(library)
    roots = facets(searcher.db).roots
    out = {"images": len(library_points(searcher)[0])}
    for label in ("cold_s", "warm_s"):
        start = time.perf_counter()
        ids, xy = library_points(searcher)
        mapview.frame(ids, xy, first_paths(searcher.db, ids), library, roots)
        out[label] = round(time.perf_counter() - start, 3)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = demo.build(Path(tmp) / "demo").library
        shutil.rmtree(library / "thumbs", ignore_errors=True)
        page = page_run(library)
        current = (mapview.HOVER_SIDE, mapview.THUMB_THREADS)
        old = frame_times(library, 96, 1)
        new = frame_times(library, *current)
    emit("map", {"machine": machine(None), "page": page, "frame_old": old, "frame_new": new})


if __name__ == "__main__":
    main()
