"""A bounded, deterministic fuzz run in CI: mutated images into the decoder, generated queries into the parser.

The long run is `python bench/fuzz.py` (bench/results/fuzz.json).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from .fuzzing import TARGETS

EXAMPLES = {"decode": 400, "query": 600, "recipe": 400}
CI = settings(
    deadline=None,
    derandomize=True,  # the same cases on every CI run: a failure here is a finding, never flakiness
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzzed_input_gives_a_result_or_the_typed_error(name, tally):
    target, strategy = TARGETS[name]
    problems: set[str] = set()

    @settings(CI, max_examples=EXAMPLES[name])
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
