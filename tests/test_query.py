"""The query language: terms, weights, negatives, images and ids; errors name the bad token."""

from __future__ import annotations

import pytest

from search.query import QueryError, Term, parse


def test_plain_text_is_one_positive_term():
    assert parse("a red circle") == [Term("text", "a red circle", 1.0)]


def test_weights_and_negatives_from_separate_arguments():
    terms = parse(["beach", "+", "0.5:sunset", "-", "people"])
    assert terms == [Term("text", "beach", 1.0), Term("text", "sunset", 0.5), Term("text", "people", -1.0)]


def test_inline_operators_in_one_string():
    assert [t.weight for t in parse("beach + 0.5:sunset - people")] == [1.0, 0.5, -1.0]


def test_an_image_plus_text_and_an_indexed_id():
    terms = parse(["+", "in winter", "-", "id:12"], images=["ref.jpg"])
    assert [(t.kind, t.weight) for t in terms] == [("image", 1.0), ("text", 1.0), ("id", -1.0)]


def test_bare_words_are_one_text_and_operators_still_split_them():
    assert parse(["a", "red", "circle"]) == [Term("text", "a red circle", 1.0)]
    terms = parse(["red", "car", "-", "people", "at", "night"])
    assert terms == [Term("text", "red car", 1.0), Term("text", "people at night", -1.0)]


def test_text_with_a_colon_that_is_not_a_weight_stays_text():
    assert parse("note: red")[0] == Term("text", "note: red", 1.0)


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ([], "the query is empty"),
        (["id:12", "sunset"], "bad query term 'sunset': expected \\+ or -"),
        (["beach", "-"], "bad query term '-': the query ends with an operator"),
        (["id:abc"], "bad query term 'id:abc': an image id is a whole number"),
        (["0.5:"], "bad query term '0.5:': empty term"),
        (["-", "people"], "only negative terms"),
    ],
)
def test_bad_queries_name_the_bad_token(tokens, message):
    with pytest.raises(QueryError, match=message):
        parse(tokens)
