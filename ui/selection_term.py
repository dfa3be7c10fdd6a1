"""The Map's selection as one term of the Search page's query: N distinct images, weighted as one image.

It has IdTerm's face (image_id, weight, label, shown, token), so the Search page lists it as one removable entry
under the same "search_terms" session key, and `terms.tokens` turns it into the query: its images' ids
joined by spaced operators, each weighted 1/N, so the selection counts as much as one text or image term.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SelectionTerm:
    image_ids: tuple[int, ...]  # distinct images (no two copies of one picture), at least one
    weight: float  # > 0 more like these, < 0 less like these
    source: str = "the map"

    @property
    def image_id(self) -> int:
        """A key for the page's remove button; the first id, negated so it never clashes with an IdTerm's."""
        return -self.image_ids[0]

    @property
    def label(self) -> str:
        n = len(self.image_ids)
        return f"{n} image{'s' if n != 1 else ''} from {self.source}"

    @property
    def shown(self) -> str:
        """What the query bar names it by: one part for all its images."""
        return self.label

    @property
    def token(self) -> str:
        """`w:id:1 + w:id:2 ...` with w = 1/N (a negative term's sign is put before the whole, by tokens)."""
        share = f"{abs(self.weight) / len(self.image_ids):.6g}"
        operator = " - " if self.weight < 0 else " + "
        return operator.join(f"{share}:id:{i}" for i in self.image_ids)
