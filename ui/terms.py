"""The extra terms of the Search page's query (thumbs up/down, "more like this", the map's selection)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DOWN_WEIGHT = 0.5  # a thumbs-down pushes away from an image without cancelling a query that resembles it


@dataclass(frozen=True)
class IdTerm:
    image_id: int
    weight: float  # > 0 more like it, < 0 less like it
    label: str  # what the page shows: the file name

    @property
    def token(self) -> str:
        w = abs(self.weight)
        return f"id:{self.image_id}" if w == 1 else f"{w:g}:id:{self.image_id}"


def tokens(text: str, terms: Sequence[IdTerm], images: int = 0) -> list[str]:
    """Query tokens for search.parse: the text, then each term with its operator (after `images` image files)."""
    out = [text.strip()] if text.strip() else []
    for term in terms:
        out += ["-" if term.weight < 0 else "+", term.token]
    if out and out[0] == "+" and not images:
        out = out[1:]
    if out and out[0] not in ("+", "-") and images:
        out = ["+", *out]
    return out


def toggled(terms: Sequence[IdTerm], image_id: int, weight: float, label: str) -> list[IdTerm]:
    """The terms with this image's term set to `weight` (replacing an earlier vote on it)."""
    return [t for t in terms if t.image_id != image_id] + [IdTerm(image_id, weight, label)]


def display(text: str, terms: Sequence[IdTerm], images: Sequence[str] = ()) -> str:
    """The query as the page shows it: "a red circle" + cat.png - 00012.jpg."""
    parts = [f'"{text.strip()}"'] if text.strip() else []
    parts += [f"+ {name}" for name in images]
    parts += [("+ " if t.weight > 0 else "- ") + t.label for t in terms]
    return " ".join(parts).removeprefix("+ ")
