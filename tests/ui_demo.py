"""The demo library the UI tests share: `pixseek demo --no-serve` run once per session on a tmp folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from ui import demo
from ui.cli.main import app

PAGES = Path(__file__).parents[1] / "ui" / "app_pages"


@dataclass(frozen=True)
class DemoLibrary:
    library: Path
    photos: Path
    output: str  # what `pixseek demo --no-serve` printed

    def truth(self, path: str | Path) -> dict:
        return demo.truth(self.photos)[Path(path).relative_to(self.photos).as_posix()]

    def top_hits(self, query: str) -> list[str]:
        """The paths the demo printed under `search "query":`."""
        block = self.output.split(f'search "{query}":\n', 1)[1].split("\n\n", 1)[0]
        return re.findall(r"^\s+\d+\. [\d.]+\s+(.+)$", block, re.M)


def build_demo(folder: Path) -> DemoLibrary:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "-l", str(folder)])
    if result.exit_code != 0:
        raise RuntimeError(f"pixseek demo failed ({result.exit_code}): {result.output}")
    return DemoLibrary(folder.resolve(), folder.resolve() / "photos", result.output)


def is_red_circle(truth: dict) -> bool:
    return any(s["colour"] == "red" and s["kind"] == "circle" for s in truth.get("shapes", ()))


def page(name: str) -> AppTest:
    """The app's page ui/app_pages/<name>_page.py, run once."""
    return AppTest.from_file(str(PAGES / f"{name}_page.py"), default_timeout=120).run()
