"""The app in a real browser: `pixseek ui` on the demo library, driven by Playwright with Debian's chromium.

tools/test.sh installs chromium (tests/install_chromium.sh); Playwright's own browser download is never used.
Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
WAIT_MS = 90_000  # the first query loads the model: generous on a busy 2-core machine
VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
RANKED = re.compile(r"^#\d+ ·")  # a result's caption
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ACTIONS = ("Similar", "Add", "Avoid", "Open")
MAIN = '[data-testid="stMain"]'  # the page without its sidebar (whose select boxes have "Open" buttons too)
TILES = f'{MAIN} [data-testid="stImage"] img'  # after a text search: the result thumbnails

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium; tools/test.sh installs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, app: subprocess.Popen) -> None:
    for _ in range(300):
        if app.poll() is not None:
            raise RuntimeError(f"pixseek ui exited with {app.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("pixseek ui did not answer within 90 s")


@pytest.fixture(scope="module")
def served(demo_library):
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "pixseek-ui.log", "wb")
    command = [sys.executable, "-m", "ui.cli", "ui", "-l", str(demo_library.library), "--port", str(port)]
    app = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, app)
        yield url
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)
        log.close()


def test_browser_text_search_then_upload_finds_the_image_first(served, demo_library):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(served)
        box = page.get_by_label("Describe what you are looking for")
        box.fill("a red circle")
        box.press("Enter")
        images = page.locator('[data-testid="stImage"] img')
        images.first.wait_for(timeout=WAIT_MS)
        assert images.count() >= 1
        page.screenshot(path=str(ARTIFACTS / "search-text.png"), full_page=True)

        box.fill("")
        box.press("Enter")
        expect(page.get_by_text("Type what you are looking for")).to_be_visible(timeout=WAIT_MS)
        upload = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        upload.set_input_files(str(demo_library.photos / "photos" / "chelsea.png"))
        first = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="#1 ·")
        expect(first).to_contain_text("chelsea.png", timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "search-upload.png"), full_page=True)
        browser.close()


@dataclass
class Searched:
    page: object  # playwright Page, the Search page showing the results of "a red circle"
    viewport: dict
    requested: list[str]  # every URL the page asked for since it was opened

    def boxes(self) -> list[dict]:
        tiles = self.page.locator(TILES)
        return [tiles.nth(i).bounding_box() for i in range(tiles.count())]


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def searched(request, served, chromium):
    """The Search page in a desktop or a phone-sized window after a text search, every request recorded."""
    viewport, phone = VIEWPORTS[request.param], request.param == "phone"
    context = chromium.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(served)
    box = page.get_by_label("Describe what you are looking for")
    box.fill("a red circle")
    box.press("Enter")
    page.locator(TILES).nth(19).wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    yield Searched(page, viewport, requested)
    page.screenshot(path=str(ARTIFACTS / f"search-{request.param}.png"))
    context.close()


def _inside(box: dict, viewport: dict) -> bool:
    return box["y"] >= 0 and box["x"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5


def test_a_result_below_the_first_row_opens_in_a_dialog_on_screen(searched):
    from playwright.sync_api import expect

    page, boxes = searched.page, searched.boxes()
    rows = sorted({round(b["y"]) for b in boxes})
    chosen = next(i for i, b in enumerate(boxes) if round(b["y"]) == rows[2])  # the first tile of the third row
    name = page.locator(f'{MAIN} [data-testid="stCaptionContainer"]', has_text=RANKED).nth(chosen).inner_text()
    page.locator(MAIN).get_by_role("button", name="Open", exact=True).nth(chosen).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    page.wait_for_timeout(500)  # the dialog's opening animation
    assert _inside(dialog.bounding_box(), searched.viewport)
    assert _inside(dialog.locator('[data-testid="stImage"] img').bounding_box(), searched.viewport)
    path = dialog.locator('[data-testid="stCode"]').inner_text().strip()
    assert path.startswith("/") and path.replace("\n", "").endswith(name.split(" · ")[2].split()[0])
    page.screenshot(path=str(ARTIFACTS / f"search-open-{searched.viewport['width']}.png"))
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden(timeout=WAIT_MS)


def test_every_thumbnail_tile_is_the_same_square(searched):
    sizes = {(round(b["width"]), round(b["height"])) for b in searched.boxes()}
    assert len(sizes) == 1 and len({*sizes.pop()}) == 1


def test_result_actions_are_named_buttons_big_enough_to_tap(searched):
    grid = searched.page.locator(MAIN)
    for name in ACTIONS:
        buttons = grid.get_by_role("button", name=name, exact=True)
        assert buttons.count() == 20
        box = buttons.first.bounding_box()
        assert box["width"] >= 40 and box["height"] >= 40


def test_the_first_screen_shows_at_least_two_results(searched):
    on_screen = [b for b in searched.boxes() if b["y"] < searched.viewport["height"]]
    assert len(on_screen) >= 2


def test_the_page_asks_nothing_of_another_host(searched):
    hosts = {urllib.parse.urlsplit(url).hostname for url in searched.requested if not url.startswith("data:")}
    assert hosts <= LOCAL_HOSTS


def test_no_streamlit_exception_is_shown(searched):
    assert searched.page.locator('[data-testid="stException"]').count() == 0
