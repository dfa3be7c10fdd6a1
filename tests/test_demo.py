"""`pixseek demo`: builds a library of shapes, photos and planted duplicates, searches it, reuses it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner
from ui_demo import build_demo, is_red_circle

from ui import demo
from ui.cli.main import app


def test_demo_top_hit_for_a_red_circle_is_a_red_circle(demo_library):
    hits = demo_library.top_hits("a red circle")
    assert len(hits) == 3
    assert is_red_circle(demo_library.truth(hits[0]))


def test_demo_prints_every_query_with_results_that_exist(demo_library):
    for query in demo.QUERIES:
        hits = demo_library.top_hits(query)
        assert hits and all(Path(p).is_file() for p in hits)


def test_demo_library_has_folders_dates_photos_and_planted_copies(demo_library):
    truth = demo.truth(demo_library.photos)
    albums = {p.split("/")[1] for p in truth if p.startswith("shapes/")}
    assert albums == set(demo.ALBUMS)
    assert sum("original" in t for t in truth.values()) == 2 * len(demo.COPIED) + len(demo.EXACT_COPIES)
    assert (demo_library.photos / "photos" / "chelsea.png").is_file()  # shipped inside scikit-image's wheel
    # the byte-identical copies share their original's vector
    assert "3 copies of images already indexed" in demo_library.output


def test_a_second_demo_run_reuses_the_library(demo_library, tmp_path):
    again = build_demo(demo_library.library)
    assert "reused photos" in again.output and "0 indexed," in again.output
    assert again.top_hits("a red circle") == demo_library.top_hits("a red circle")


def test_demo_into_a_file_fails_with_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(app, ["demo", "--no-serve", "-l", str(tmp_path / "file")])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "pick another with -l DIR" in result.output


def test_ui_refuses_a_port_out_of_range_with_one_line():
    result = CliRunner().invoke(app, ["ui", "--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in result.output and "Traceback" not in result.output
