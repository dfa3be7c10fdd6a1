"""A bounded, deterministic fuzz run in CI: mutated images into the decoder, generated queries into the parser.

The long run is `python bench/fuzz.py` (bench/results/fuzz.json): it runs this test with
PIXSEEK_FUZZ_CASES random cases per target and collects what PIXSEEK_FUZZ_REPORT receives.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from .fuzzing import TARGETS

EXAMPLES = {"decode": 400, "query": 600, "recipe": 400}
LONG_RUN = int(os.environ.get("PIXSEEK_FUZZ_CASES", "0"))  # bench/fuzz.py: this many random cases per target
REPORT = os.environ.get("PIXSEEK_FUZZ_REPORT")  # bench/fuzz.py: a folder for one JSON result per target
CI = settings(
    deadline=None,
    derandomize=not LONG_RUN,  # the same cases on every CI run: a failure here is a finding, never flakiness
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzzed_input_gives_a_result_or_the_typed_error(name, tally):
    target, strategy = TARGETS[name]
    problems: set[str] = set()
    cases, start = tally["fuzz_cases"], time.perf_counter()

    @settings(CI, max_examples=LONG_RUN or EXAMPLES[name])
    @given(strategy)
    def check(case):
        tally["fuzz_cases"] += 1
        problem = target(case)
        if problem is not None:
            problems.add(problem)
        assert problem is None, problem

    try:
        check()
    finally:
        tally["fuzz_crashes"] += len(problems)  # distinct failures, not every shrinking step
        if REPORT:
            seconds = round(time.perf_counter() - start, 1)
            result = {"cases": tally["fuzz_cases"] - cases, "crashes": len(problems), "found": sorted(problems)}
            (Path(REPORT) / f"{name}.json").write_text(json.dumps({**result, "seconds": seconds}))


def test_a_weight_too_large_for_a_float_is_refused_not_turned_into_infinity():
    """Found by the query fuzzing: 400 digits parsed to inf, and inf * vector is a NaN query."""
    from search.query import QueryError, parse

    with pytest.raises(QueryError, match="the weight is too large"):
        parse(["beach", "+", "1" + "0" * 400 + ":sunset"])


def test_a_recipe_nested_too_deeply_is_a_bad_recipe():
    from search.curate import BadRecipe, Recipe

    with pytest.raises(BadRecipe):
        Recipe.from_json("[" * 100_000)


def test_an_image_path_of_an_unknown_users_home_is_kept_as_written():
    """Found by bench/fuzz.py: Path.expanduser raised RuntimeError on "~nosuchuser/x.jpg"."""
    from search.query import parse

    assert parse(["image:~nosuchuser-pixseek/x.jpg"])[0].value == "~nosuchuser-pixseek/x.jpg"
