"""True captions of a sample's shapes in varied English templates: every colour, kind, size, count,
position and background word in them is true."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .vocabulary import COUNTS, Shape

PREFIXES = (
    "a photo of",
    "a picture of",
    "an image of",
    "a drawing of",
    "a simple drawing of",
    "an illustration of",
    "a rendering of",
    "a cartoon of",
)


BACKGROUND_FORMS = (
    "{objs} on {a_bg} background",
    "{objs} on {a_bg} background",
    "{objs} against {a_bg} background",
    "{objs} in front of {a_bg} background",
    "{objs} with {a_bg} background",
    "{objs}, {bg} background",
    "{prefix} {objs} on {a_bg} background",
    "{prefix} {objs} on {a_bg} background",
    "{prefix} {objs}, {bg} background",
    "{a_bg} background with {objs}",
    "{objs} on plain {bg} background",
    "{be} {objs} on {a_bg} background",
)


PLAIN_FORMS = ("{objs}", "{objs}", "{prefix} {objs}", "{prefix} {objs}", "{be} {objs}")


TERSE_FORMS = ("{objs}, {bg} background", "{objs}")  # these drop the article before a single shape


def article(word: str) -> str:
    """Return "a" or "an" for the word that follows."""
    return "an" if word[0] in "aeiou" else "a"


def with_article(word: str) -> str:
    """The word after its "a" or "an": "an orange"."""
    return f"{article(word)} {word}"


def _where(position: str, rng: np.random.Generator) -> str:
    """Return a phrase placing a shape, e.g. "at the top left", "on the left", "in the centre"."""
    if position == "centre":
        return str(rng.choice(["in the centre", "at the centre", "in the centre of the image"]))
    if position in ("left", "right"):
        return str(rng.choice([f"on the {position}", f"at the {position}", f"on the {position} side"]))
    if position in ("top", "bottom"):
        return str(rng.choice([f"at the {position}", f"at the {position} of the image", f"near the {position}"]))
    return str(rng.choice([f"at the {position}", f"in the {position}", f"in the {position} corner"]))


def _group_phrase(shapes: list[Shape], rng: np.random.Generator, terse: bool) -> str:
    """Describe every shape of one colour and kind: count, maybe size, colour, kind, maybe position."""
    first, n = shapes[0], len(shapes)
    words = [first.colour, first.kind if n == 1 else first.kind + "s"]
    if len({s.size for s in shapes}) == 1 and rng.random() < 0.45:
        words.insert(0, first.size)
    if n > 1:
        words.insert(0, COUNTS[n - 1])
    elif rng.random() < 0.3:
        words.insert(0, "one")
    elif not terse:
        words.insert(0, article(words[0]))
    if n == 1 and rng.random() < 0.35:
        words.append(_where(first.position, rng))
    return " ".join(words)


def _join(phrases: list[str]) -> str:
    """Join phrases as English: "a", "a and b", "a, b and c"."""
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def by_colour_and_kind(shapes: Sequence[Shape]) -> dict[tuple[str, str], list[Shape]]:
    """The shapes grouped by (colour, kind), in first-seen order: what one caption phrase describes."""
    groups: dict[tuple[str, str], list[Shape]] = {}
    for s in shapes:
        groups.setdefault((s.colour, s.kind), []).append(s)
    return groups


def caption(shapes: Sequence[Shape], background: str, rng: np.random.Generator) -> str:
    """Return a true caption for these shapes, in a template chosen by rng; two in three name the background."""
    groups = by_colour_and_kind(shapes)
    order = rng.permutation(len(groups))
    forms = BACKGROUND_FORMS if rng.random() < 0.65 else PLAIN_FORMS
    form = str(rng.choice(forms))
    terse = form in TERSE_FORMS and rng.random() < 0.6
    phrases = [_group_phrase(list(groups.values())[i], rng, terse) for i in order]
    be = "there are" if phrases[0].split()[0] in COUNTS[1:] else "there is"
    text = form.format(
        objs=_join(phrases),
        bg=background,
        a_bg=with_article(background),
        prefix=rng.choice(PREFIXES),
        be=be,
    )
    return text[0].upper() + text[1:] + "." if rng.random() < 0.15 else text
