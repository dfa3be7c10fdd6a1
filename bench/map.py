"""Map page load on the demo library (345 images, tiny-shapes), server side, through streamlit's AppTest.

    python bench/map.py [--runs 3]

Each run builds nothing new: one demo library (`pixseek demo --no-serve`) serves all runs, and each run is a
fresh process with an empty thumbnail cache. cold: the page's first run there (imports, projection, hover
thumbnails); rerun: what a brush or a click costs after it (the points come from the cache kept per
version of the library); chart_bytes: the chart element sent to the browser. Medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, emit, machine, run_pixseek

PAGE = ROOT / "ui" / "app_pages" / "map_page.py"


def page_run(library: Path) -> dict:
    """One cold run and one rerun of the Map page in this process."""
    from streamlit.testing.v1 import AppTest

    os.environ["PIXSEEK_LIBRARY"] = str(library)
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - start
    chart = next(n for n in at._tree.children[0].children.values() if n.type == "vega_lite_chart")
    points = int(at.caption[0].value.split()[0])
    return {"cold_s": cold, "rerun_s": rerun, "chart_bytes": len(chart.proto.SerializeToString()), "points": points}


def child_run(library: Path) -> dict:
    shutil.rmtree(library / "thumbs", ignore_errors=True)
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import map; "
    code += f"print(json.dumps(map.page_run(map.Path({str(library)!r}))))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "demo"
        run_pixseek(["demo", "--no-serve", "-l", str(library)], dict(os.environ))
        runs = [child_run(library) for _ in range(args.runs)]
    median = {k: round(statistics.median(r[k] for r in runs), 3) for k in ("cold_s", "rerun_s")}
    emit(
        "map",
        {"machine": machine(None), "runs": args.runs, **median, **{k: runs[0][k] for k in ("chart_bytes", "points")}},
    )


if __name__ == "__main__":
    main()
