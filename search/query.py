"""The query language: text, image files and indexed image ids, with weights and negatives.

    "beach" + "0.5:sunset" - "people"       weighted and negative text terms
    --image ref.jpg + "in winter"            an image plus text
    id:123 - "blue background"               an indexed image minus text

Each argument is a term or an operator (`+`, `-`); a term may carry a weight prefix `W:`.
A single argument may also hold a whole expression with spaced operators ("beach + 0.5:sunset").
Bare words next to each other are one text, as rclip takes them: `pixseek search a red circle`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer import PixseekError

_WEIGHT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)):(.*)$", re.S)
_INLINE_OPERATOR = re.compile(r"\s+([+-])\s+")


class QueryError(PixseekError):
    """A query that cannot be parsed; the message names the bad token."""

    def __init__(self, token: str, reason: str):
        self.token, self.reason = token, reason
        super().__init__(f"bad query term {token!r}: {reason}" if token else f"bad query: {reason}")


@dataclass(frozen=True)
class Term:
    kind: str  # "text", "image" (a file) or "id" (an indexed image)
    value: str  # the text, the file path, or the image id
    weight: float  # signed: negatives subtract


def _term(token: str, sign: float) -> Term:
    weight, body = 1.0, token
    match = _WEIGHT.match(token)
    if match:
        weight, body = float(match.group(1)), match.group(2)
        if not math.isfinite(weight):  # hundreds of digits overflow to inf, and inf * vector is NaN
            raise QueryError(token, "the weight is too large")
    if not body.strip():
        raise QueryError(token, "empty term")
    if body.startswith("id:"):
        if not body[3:].isdigit() or int(body[3:]) >= 2**63:
            raise QueryError(token, "an image id is a whole number, as in id:123")
        return Term("id", body[3:], sign * weight)
    if body.startswith("image:"):
        if not body[6:].strip():
            raise QueryError(token, "an image term needs a file path, as in image:photo.jpg")
        return Term("image", os.path.expanduser(body[6:]), sign * weight)
    return Term("text", body, sign * weight)


def _split(tokens: Sequence[str]) -> list[str]:
    """Arguments with inline spaced operators broken out: "a + b" -> "a", "+", "b"."""
    out: list[str] = []
    for token in tokens:
        parts = _INLINE_OPERATOR.split(token)
        out += [p for p in parts if p != ""] if len(parts) > 1 else [token]
    return out


def _plain(token: str) -> bool:
    return token not in ("+", "-") and not _WEIGHT.match(token) and not token.startswith(("id:", "image:"))


def _joined(tokens: list[str]) -> list[str]:
    """Runs of plain words (no operator, weight, id: or image: among them) joined into one text."""
    out: list[str] = []
    for token in tokens:
        if out and _plain(token) and _plain(out[-1]):
            out[-1] = f"{out[-1]} {token}"
        else:
            out.append(token)
    return out


def parse(tokens: Sequence[str] | str, images: Sequence[str | Path] = ()) -> list[Term]:
    """Terms of a query given as CLI arguments (or one string) plus --image files (weight 1)."""
    tokens = [tokens] if isinstance(tokens, str) else list(tokens)
    # os.path.expanduser leaves "~nobody/x" as it is where Path.expanduser raises RuntimeError (found by fuzzing).
    terms = [Term("image", os.path.expanduser(p), 1.0) for p in images]
    sign: float | None = None if terms else 1.0
    for token in _joined(_split(tokens)):
        if token in ("+", "-"):
            if sign is not None and terms:
                raise QueryError(token, "two operators in a row")
            sign = 1.0 if token == "+" else -1.0
            continue
        if sign is None:
            raise QueryError(token, "expected + or - between terms")
        terms.append(_term(token, sign))
        sign = None
    if sign is not None and tokens:
        raise QueryError(tokens[-1], "the query ends with an operator")
    if not terms:
        raise QueryError("", "the query is empty; give text, --image PATH or id:N")
    if all(t.weight <= 0 for t in terms):
        raise QueryError("", "the query has only negative terms; add something to look for")
    return terms
