"""The app in a real browser: `pixseek ui` on the demo library, driven by Playwright with Debian's chromium.

tools/test.sh installs chromium (tests/install_chromium.sh); Playwright's own browser download is never used.
Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
WAIT_MS = 90_000  # the first query loads the model: generous on a busy 2-core machine

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
