"""The Search page's query in the CLI's language: the search box's text, then the extra id terms (thumbs up/down,
"more like this", the map's selection), and the words each part is shown with."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from search import Term

DOWN_WEIGHT = 0.5  # a thumbs-down pushes away from an image without cancelling a query that resembles it
OPERATORS = ("+", "-")


@dataclass(frozen=True)
class IdTerm:
    image_id: int
    weight: float  # > 0 more like it, < 0 less like it
    label: str  # what the page shows: the file name

    @property
    def token(self) -> str:
        w = abs(self.weight)
        return f"id:{self.image_id}" if w == 1 else f"{w:g}:id:{self.image_id}"

    @property
    def shown(self) -> str:
        """What the query bar names it by: "id:12 (00012.jpg)"."""
        return f"id:{self.image_id} ({self.label})"


def text_tokens(text: str) -> list[str]:
    """The search box split as a shell splits the CLI's arguments (quotes group words), so `apple - fruit` and
    `"red car" + 0.5:sunset` mean there what they mean to `pixseek search`."""
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote, as in "a cat's toy", is part of the text
        return text.split()


def tokens(text: str, terms: Sequence[IdTerm], images: int = 0) -> list[str]:
    """Query tokens for search.parse: the text, then each term with its operator (after `images` image files)."""
    out = text_tokens(text)
    for term in terms:
        out += ["-" if term.weight < 0 else "+", term.token]
    if out and out[0] == "+" and not images:
        out = out[1:]
    if out and out[0] not in OPERATORS and images:
        out = ["+", *out]
    return out


def text_of(terms: Sequence[Term]) -> str:
    """Text terms written back as the search box takes them: what is left after one of them is removed."""
    words = []
    for term in terms:
        body = term.value if abs(term.weight) == 1 else f"{abs(term.weight):g}:{term.value}"
        words += ["-" if term.weight < 0 else "+", body]
    return " ".join(words[1:] if words[:1] == ["+"] else words)


def _signed(weight: float, what: str) -> str:
    scale = "" if abs(weight) == 1 else f"{abs(weight):g} × "
    return ("− " if weight < 0 else "") + scale + what


def text_label(term: Term) -> str:
    """A text term as the query bar shows it: "apple", − "fruit", 0.5 × "sunset"."""
    return _signed(term.weight, f'"{term.value}"')


def id_label(term: IdTerm) -> str:
    """An indexed image in the query: similar to id:12 (00012.jpg), − id:12 (00012.jpg); the Map's selection as one
    part: similar to 5 images from the map."""
    return _signed(term.weight, ("similar to " if term.weight > 0 else "") + term.shown)


def toggled(terms: Sequence[IdTerm], image_id: int, weight: float, label: str) -> list[IdTerm]:
    """The terms with this image's term set to `weight` (replacing an earlier vote on it)."""
    return [t for t in terms if t.image_id != image_id] + [IdTerm(image_id, weight, label)]
