"""The long fuzz run: many more random cases than CI's bounded, fixed-seed one (tests/reliability/test_fuzz.py).

    python bench/fuzz.py [--cases N]      # N cases per target (default 20000); writes bench/results/fuzz.json

Prints one JSON line: per target the cases run, the distinct crashes found (with their messages) and seconds.
"""

from __future__ import annotations

import argparse
import time

from common import emit, machine
from hypothesis import HealthCheck, given, settings

from tests.reliability.fuzzing import TARGETS


def fuzz(name: str, cases: int) -> dict:
    """Run one target for `cases` random cases; a crash is recorded, not raised, so the run goes on."""
    target, strategy = TARGETS[name]
    problems: set[str] = set()
    count = 0

    @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(case):
        nonlocal count
        count += 1
        problem = target(case)
        if problem is not None:
            problems.add(problem)

    start = time.perf_counter()
    check()
    return {
        "cases": count,
        "crashes": len(problems),
        "found": sorted(problems),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="cases per target")
    args = parser.parse_args()
    results = {name: fuzz(name, args.cases) for name in sorted(TARGETS)}
    emit("fuzz", {"machine": machine(None), "cases_per_target": args.cases, "targets": results})


if __name__ == "__main__":
    main()
