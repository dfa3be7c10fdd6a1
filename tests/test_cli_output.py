"""What the terminal shows around `pixseek index`, `ui`, `serve` and `demo`: a summary in words, the demo
model named once, a port in use refused before anything else is printed, no library's INFO lines."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from indexer.sources import synthetic
from ui.cli import app


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        synthetic.write(synthetic.sample(i, 4), folder, i)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    return folder


def test_the_summary_says_what_happened_in_words(photos, tmp_path):
    args = ["index", str(photos), "-l", str(tmp_path / "lib")]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    last = first.stdout.strip().split("\n")[-1]
    assert last.startswith("3 indexed, 2 unreadable in ") and "decoded_on" not in first.output
    again = CliRunner().invoke(app, args)
    assert again.stdout.strip().split("\n")[-1].startswith("0 indexed, 3 unchanged, 2 unreadable (unchanged) in ")


def test_the_model_load_is_its_own_stage_and_rates_count_from_its_end(photos, tmp_path):
    first = CliRunner().invoke(app, ["index", str(photos), "-l", str(tmp_path / "lib")])
    assert first.exit_code == 0, first.output
    assert "model tiny-shapes loaded in " in first.stderr
    bar = next(line for line in first.stderr.splitlines() if line.startswith("indexing"))
    assert " 0.0 images/s" not in bar and "5/5" in bar
    again = CliRunner().invoke(app, ["index", str(photos), "-l", str(tmp_path / "lib")])
    assert "loading model" not in again.stderr and "loaded in" not in again.stderr  # nothing new: no model


def test_piped_the_progress_lines_come_out_whole(photos, tmp_path):
    """Redirected to a log, rich laid the bar out for 80 columns and cut its last columns to "0:… 0:0…"."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = f"from ui.cli import app; app(['index', {str(photos)!r}, '-l', {str(tmp_path / 'lib')!r}])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    bar = next(line for line in done.stderr.splitlines() if line.startswith("indexing"))
    assert "…" not in done.stderr and "5/5" in bar and "images/s" in bar
    assert re.search(r" \d+:\d\d:\d\d \d+:\d\d:\d\d$", bar)  # elapsed and remaining, whole


def test_in_80_columns_the_progress_lines_keep_their_counts_rates_and_times(photos, tmp_path):
    """With the bar 40 columns wide, an 80-column terminal showed "30…" for "301/301" and "0:…" for the times."""
    env = {**os.environ, "COLUMNS": "80"}
    code = f"from ui.cli import app; app(['index', {str(photos)!r}, '-l', {str(tmp_path / 'lib')!r}])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    bar = next(line for line in done.stderr.splitlines() if line.startswith("indexing"))
    assert "…" not in bar and "5/5" in bar and "images/s" in bar and len(bar) <= 80
    assert re.search(r" \d+:\d\d:\d\d \d+:\d\d:\d\d$", bar)
    assert "model tiny-shapes loaded in " in done.stderr


def test_in_80_columns_the_lines_shown_while_the_model_loads_keep_their_counts_and_times(monkeypatch):
    """In a terminal the frames drawn during the load showed "30…" for 300/12,345, "0:00…" for the times (the
    load's longer descriptions widened the first column) and "0.0 images/s" (rates from before the load)."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from ui.cli import index as cli_index

    clock = iter(range(100, 10_000, 5))
    monkeypatch.setattr(cli_index.time, "perf_counter", lambda: float(next(clock)))
    terminal = Console(width=80, force_terminal=True, file=io.StringIO(), color_system=None)
    bar, update = cli_index._index_progress(terminal)

    def frame() -> list[str]:
        screen = Console(width=80, file=io.StringIO(), color_system=None)
        screen.print(bar.get_renderable())
        return screen.file.getvalue().splitlines()

    state = SimpleNamespace(
        stage="scanning", model="vit-g-14", total=12_345, done=300, images=0, load_seconds=None, remaining_s=None
    )
    try:
        update(state)
        state.stage, state.done = "loading model", 2_000
        update(state)
        waiting, loading = frame()
        assert waiting.startswith("waiting for the model") and "2000/12345" in waiting and "images/s" not in waiting
        assert loading.startswith("loading model vit-g-14") and "…" not in waiting + loading
        assert re.search(r" \d+:\d\d:\d\d (\d+:\d\d:\d\d|-:--:--)$", waiting)  # elapsed and remaining, whole
        state.stage, state.load_seconds, state.done, state.images = "indexing", 5.0, 12_345, 12_000
        update(state)
        (line,) = frame()
        assert line.startswith("indexing") and "12345/12345" in line and "images/s" in line and "…" not in line
    finally:
        bar.stop()


def test_the_bundled_demo_model_is_named_as_such_once(photos, tmp_path):
    result = CliRunner().invoke(app, ["index", str(photos), "-l", str(tmp_path / "lib")])
    assert result.stderr.count("tiny-shapes is pixseek's bundled demo model") == 1
    assert "--model vit-g-14 --switch-model" in result.stderr


def test_a_model_directory_gets_no_demo_note(photos, tmp_path, micro_model):
    result = CliRunner().invoke(app, ["index", str(photos), "-l", str(tmp_path / "lib"), "-m", str(micro_model)])
    assert result.exit_code == 0 and "demo model" not in result.stderr


@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("command", [["ui"], ["serve"], ["demo"]])
def test_a_port_in_use_is_one_line_and_nothing_starts(command, busy_port, tmp_path):
    result = CliRunner().invoke(app, [*command, "--port", str(busy_port), "-l", str(tmp_path / "lib")])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == f"error: 127.0.0.1:{busy_port} is already in use (another server?); choose " \
        "another with --port"  # fmt: skip
    assert not (tmp_path / "lib").exists()  # the demo built nothing


def test_no_library_logs_at_info_after_paddlenlp_is_imported(photos, tmp_path):
    """PaddleNLP puts an INFO handler on the root logger; Alembic then announced its context on every
    catalog opened. A real process: the paddle runtime imported, then a command that opens the catalog."""
    pytest.importorskip("paddlenlp")
    CliRunner().invoke(app, ["index", str(photos), "-l", str(tmp_path / "lib")])
    code = (
        "from indexer.model.runtimes.paddle import import_paddle; import_paddle(); "
        f"from ui.cli import app; app(['status', '-l', {str(tmp_path / 'lib')!r}])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "INFO" not in done.stderr and "Context impl" not in done.stderr and "3 ok" in done.stdout


def test_index_help_shows_what_is_written_in_square_brackets():
    """rich reads `[default: ...]` as a markup tag and drops it unless escaped: the help said "new library ; a"."""
    shown = CliRunner().invoke(app, ["index", "--help"], env={"COLUMNS": "400"})
    assert shown.exit_code == 0
    text = " ".join(shown.stdout.split())
    for default in (
        "for a new library [default: tiny-shapes]; a library keeps its own",
        "Images per batch [default: what fits the GPU (<= 256, 64 while its JPEG engines decode); CPU 32]",
        "kernel events [default: network mounts]",
        "ray (Ray Data; pip install pixseek[ray])",
    ):
        assert default in text
