"""Fuzz targets and hypothesis strategies of test_fuzz.py (which bench/fuzz.py also runs, with more cases).

A target takes one generated case and returns None when the code under test behaved (a result, or the
typed error it promises), or a one-line description of the crash otherwise.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from indexer.errors import PixseekError
from indexer.sources.decode import decode_bytes
from search.curate import Recipe
from search.dedup import DedupSettings
from search.query import QueryError, parse

from .hostile import jpeg_bytes, picture

CROP = 32  # the micro model's input size: small crops keep each case in the millisecond range


def _encoded(fmt: str, image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def seed_images() -> dict[str, bytes]:
    """Small valid files of each format the indexer reads, for mutation."""
    base = picture(3, (48, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Fuzz"
    return {
        "jpeg": jpeg_bytes(base, exif=exif),
        "progressive-jpeg": jpeg_bytes(base, progressive=True),
        "png": _encoded("PNG", base),
        "palette-png": _encoded("PNG", base.convert("P"), transparency=3),
        "gif": _encoded("GIF", base, save_all=True, append_images=[picture(4, (48, 40))]),
        "webp": _encoded("WEBP", base),
        "tiff": _encoded("TIFF", base, exif=exif),
        "bmp": _encoded("BMP", base),
        "heic": _encoded("HEIF", base, quality=60),
        "avif": _encoded("AVIF", base, quality=60),
    }


SEEDS = seed_images()


@st.composite
def mutated_images(draw) -> bytes:
    """A seed image with a few bytes overwritten, bytes inserted or deleted, or its tail cut off."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif at > 0:
            del data[at:]
        if not data:
            break
    return bytes(data)


def decode_target(data: bytes) -> str | None:
    """decode_bytes either gives a (CROP, CROP, 3) uint8 crop or raises ImageError (PixseekError)."""
    try:
        decoded = decode_bytes(data, "fuzz", CROP)
    except PixseekError:
        return None
    except Exception as exc:  # noqa: BLE001  (the finding: anything but the promised error)
        return f"decode_bytes raised {type(exc).__name__}: {exc}"
    crop = decoded.crop
    if crop.shape != (CROP, CROP, 3) or crop.dtype != np.uint8:
        return f"decode_bytes gave a crop of {crop.dtype} {crop.shape}"
    return None


_words = st.one_of(st.sampled_from(["beach", "1", "x y"]), st.text(st.characters(codec="utf-8"), max_size=12))
_weights = st.one_of(
    st.just(""),
    st.from_regex(r"\A[+-]?(\d{1,6}(\.\d{0,3})?|\.\d{1,3}):\Z"),
    st.integers(0, 400).map(lambda zeros: "1" + "0" * zeros + ":"),  # past 10^308 a float is inf
)
_term = st.builds(lambda w, p, b: w + p + b, _weights, st.sampled_from(["", "id:", "image:", "id:x"]), _words)
_wellformed = st.builds(
    lambda first, rest: [first] + [token for pair in rest for token in pair],
    _term,
    st.lists(st.tuples(st.sampled_from(["+", "-"]), _term), max_size=4),
)
_anything = st.lists(st.one_of(_term, st.sampled_from(["+", "-", " + ", "a + b", "- c"])), max_size=8)
query_tokens = st.one_of(_wellformed, _anything)


def query_target(tokens: list[str]) -> str | None:
    """parse either gives terms with finite weights and non-empty bodies, or raises QueryError."""
    try:
        terms = parse(tokens)
    except QueryError:
        return None
    except Exception as exc:  # noqa: BLE001
        return f"parse raised {type(exc).__name__}: {exc}"
    bad = [t for t in terms if not math.isfinite(t.weight) or t.kind not in ("text", "image", "id") or not t.value]
    if bad or all(t.weight <= 0 for t in terms):
        return f"parse gave {bad or terms}"
    return None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_RECIPE = json.loads(Recipe(queries=("a red circle",), dedup=DedupSettings(), diverse=10).to_json())
_FIELDS = (
    [(k,) for k in _RECIPE] + [("filters", k) for k in _RECIPE["filters"]] + [("dedup", k) for k in _RECIPE["dedup"]]
)


@st.composite
def recipe_texts(draw) -> str:
    """A valid recipe with a few fields replaced by other JSON, removed or renamed, sometimes cut short."""
    recipe = json.loads(json.dumps(_RECIPE))
    for _ in range(draw(st.integers(1, 4))):
        *parents, key = draw(st.sampled_from(_FIELDS + [("unknown",), ("filters", "unknown")]))
        holder = recipe[parents[0]] if parents else recipe
        if isinstance(holder, dict):
            holder[key] = draw(_json)
    text = json.dumps(recipe)
    return text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) and draw(st.booleans()) else text


def recipe_target(text: str) -> str | None:
    """Recipe.from_json either gives a Recipe or raises BadRecipe (a PixseekError)."""
    try:
        Recipe.from_json(text)
    except PixseekError:
        return None
    except Exception as exc:  # noqa: BLE001
        return f"Recipe.from_json raised {type(exc).__name__}: {exc}"
    return None


TARGETS: dict[str, tuple[Callable, st.SearchStrategy]] = {
    "decode": (decode_target, mutated_images()),
    "query": (query_target, query_tokens),
    "recipe": (recipe_target, recipe_texts()),
}
