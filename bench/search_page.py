"""The Search page as a user waits for it: `pixseek ui` on the demo library in headless Chromium (Playwright).

    python bench/search_page.py                 # desktop (1400x1000) and phone (390x844) windows, 8 later queries each

For each window a fresh `pixseek ui` (its model not loaded yet, the thumbnail cache emptied): the time from
opening the page to its search box, from opening it to the first query's 20 thumbnails (the query typed as soon
as the box is there: what a user who knows what to type waits), and from pressing Enter on each new query to its
results. Uses Debian's /usr/bin/chromium. Writes bench/results/search_page-demo-cpu.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, emit, machine

QUERIES = ("a red circle", "a blue square", "two yellow stars", "a green triangle on a white background")  # the demo's
CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
TILES = '[data-testid="stMain"] [data-testid="stImage"] img'
WAIT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app(library: Path, env: dict):
    """A fresh `pixseek ui` on the library; its URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "ui.cli", "ui", "-l", str(library), "--port", str(port)]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=60)


def _query(page, text: str) -> None:
    box = page.get_by_label("Describe what you are looking for")
    box.fill(text)
    box.press("Enter")


def _results_of(page, text: str, before: str | None) -> None:
    """Wait until the page shows `text` as its query and a full grid whose first thumbnail is not `before`."""
    page.get_by_role("button", name=f'"{text}" ✕', exact=True).wait_for(timeout=WAIT_MS)
    page.wait_for_function(
        "([sel, before]) => { const t = document.querySelectorAll(sel);"
        " return t.length >= 20 && t[0].complete && t[19].complete && t[0].src !== before; }",
        arg=[TILES, before],
        timeout=WAIT_MS,
    )


def _first_src(page) -> str:
    return page.locator(TILES).first.get_attribute("src")


def window(browser, url: str, name: str, later: int) -> dict:
    """Seconds a user waits in one window: page to search box, page to first results, each later query."""
    phone = name == "phone"
    context = browser.new_context(viewport=VIEWPORTS[name], is_mobile=phone, has_touch=phone)
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.get_by_label("Describe what you are looking for").wait_for(timeout=WAIT_MS)
    ready = time.perf_counter() - start
    _query(page, QUERIES[0])
    _results_of(page, QUERIES[0], None)
    first = time.perf_counter() - start
    times = []
    for i in range(1, later + 1):
        text = QUERIES[i % len(QUERIES)]
        before = _first_src(page)
        start = time.perf_counter()
        _query(page, text)
        _results_of(page, text, before)
        times.append(time.perf_counter() - start)
    context.close()
    return {
        "page_to_search_box_s": round(ready, 2),
        "page_to_first_results_s": round(first, 2),
        "new_query_to_results_s": {
            "median": round(statistics.median(times), 2),
            "min": round(min(times), 2),
            "max": round(max(times), 2),
            "n": len(times),
        },
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--later", type=int, default=8, help="new queries timed after the first")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "pixseek-bench-ui")
    args = parser.parse_args()
    env = {**os.environ, "PIXSEEK_CACHE_DIR": str(args.dir / "cache")}
    library = args.dir / "demo"
    subprocess.run([sys.executable, "-m", "ui.cli", "demo", "--no-serve", "-l", str(library)], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    result = {"machine": machine(None), "library": "pixseek demo (tiny-shapes, 345 files)", "queries": list(QUERIES)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for name in VIEWPORTS:
            shutil.rmtree(library / "thumbs", ignore_errors=True)
            with app(library, env) as url:
                result[name] = window(browser, url, name, args.later)
        browser.close()
    emit("search_page-demo-cpu", result)


if __name__ == "__main__":
    main()
