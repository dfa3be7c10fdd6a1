"""The reliability suite's tally: tests record what they tried, and the run ends with one summary line.

    hostile files N tried, 0 crashes, 0 hangs; kills 20, 0 lost, 0 duplicated; concurrent searches M, 0 failed;
    fuzz K cases, 0 crashes; image queries Q tried, 0 tracebacks, 0 noisy; uploads U tried, 0 server errors;
    stderr: 0 lines beside skipping lines

Each figure is what the tests observed (a crash or a hang is counted before the test asserts there was none),
so a failing test shows in the line too.
"""

from __future__ import annotations

from collections import Counter

import pytest

TALLY = pytest.StashKey[Counter]()
FIELDS = (
    ("hostile files {} tried", "hostile_tried"),
    ("{} crashes", "hostile_crashes"),
    ("{} hangs", "hostile_hangs"),
    ("; kills {}", "kills"),
    ("{} lost", "kills_lost"),
    ("{} duplicated", "kills_duplicated"),
    ("; concurrent searches {}", "searches"),
    ("{} failed", "searches_failed"),
    ("; fuzz {} cases", "fuzz_cases"),
    ("{} crashes", "fuzz_crashes"),
    ("; image queries {} tried", "queries"),
    ("{} tracebacks", "query_tracebacks"),
    ("{} noisy", "query_noisy"),
    ("; uploads {} tried", "uploads"),
    ("{} server errors", "upload_server_errors"),
    ("; stderr: {} lines beside skipping lines", "index_stderr_noise"),
)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = Counter()


@pytest.fixture()
def tally(request: pytest.FixtureRequest) -> Counter:
    """The session's counters (see FIELDS); add to them what a test tried and what went wrong."""
    return request.config.stash[TALLY]


def summary_line(counts: Counter) -> str:
    parts = [text.format(counts.get(key, 0)) for text, key in FIELDS]
    return ", ".join(parts).replace(", ;", ";")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts = config.stash.get(TALLY, Counter())
    if counts:
        terminalreporter.write_line(summary_line(counts))
    for key in sorted(k for k in counts if k.startswith("note:")):
        terminalreporter.write_line(key)  # what a figure cannot show, e.g. a check that root cannot make
