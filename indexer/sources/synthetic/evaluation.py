"""Held-out evaluations on the synthetic set, with queries whose true matches are known.

- The bundled model's figures (tools/eval_tiny.py prints them; tests/test_tiny_model.py asserts them):
  colour+shape text queries ("a red circle"): mean precision@10, relevant = the image holds such a shape;
  colour+shape+background queries ("a red circle on a blue background"), over the triples that have at
  least 10 matching images in the set (precision@10 is not defined as a fraction of 10 otherwise);
  image->image: a JPEG-recompressed (quality 40), 20%-cropped or half-size copy of an image has the
  original among its top-3 neighbours.
- Search relevance (search.evaluation, bench/relevance.py): queries with 5 to hundreds of true matches each.

An encoder is anything with `encode_texts` and `encode_images` returning unit vectors (indexer.model.Encoder).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from itertools import product

import numpy as np
from PIL import Image

from .captions import with_article
from .generator import generate
from .vocabulary import COLOURS, KINDS, matches

EVAL_SEED = 1_000_003  # never used for training
EVAL_SIZE = 1000


def eval_set(n: int = EVAL_SIZE, seed: int = EVAL_SEED) -> list:
    return generate(n, seed=seed)


def colour_shape_queries(samples: list) -> list[tuple[str, np.ndarray]]:
    """("a red circle", relevant mask) for every colour and shape with at least 10 matches."""
    out = []
    for colour, kind in product(COLOURS, KINDS):
        mask = np.array([matches(s, colour=colour, kind=kind) for s in samples])
        if mask.sum() >= 10:
            out.append((f"a {colour} {kind}", mask))
    return out


def background_queries(samples: list) -> list[tuple[str, np.ndarray]]:
    """("a red circle on a blue background", relevant mask) for triples with at least 10 matches."""
    out = []
    for colour, kind, bg in product(COLOURS, KINDS, COLOURS):
        if colour == bg:
            continue
        mask = np.array([matches(s, colour=colour, kind=kind, background=bg) for s in samples])
        if mask.sum() >= 10:
            out.append((f"a {colour} {kind} on a {bg} background", mask))
    return out


def precision_at_k(encoder, image_vectors: np.ndarray, queries: list, k: int = 10) -> float:
    """Mean over queries of the fraction of the top k images that are relevant."""
    text = encoder.encode_texts([q for q, _ in queries])
    scores = text @ image_vectors.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean([mask[row].mean() for (_, mask), row in zip(queries, top, strict=True)]))


def _jpeg40(image: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=40)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _crop20(image: Image.Image) -> Image.Image:
    """Keep 80% of the area: 10.6% off each side."""
    w, h = image.size
    dx, dy = round(w * 0.0528), round(h * 0.0528)
    return image.crop((dx, dy, w - dx, h - dy))


def _half(image: Image.Image) -> Image.Image:
    return image.resize((max(1, image.width // 2), max(1, image.height // 2)), Image.BICUBIC)


EDITS = {"jpeg_q40": _jpeg40, "crop_20pct": _crop20, "resize_half": _half}


def image_top3(encoder, samples: list, image_vectors: np.ndarray, n: int = 300) -> dict[str, float]:
    """Per edit: fraction of edited copies whose original is among their top-3 neighbours."""
    out = {}
    picks = range(0, len(samples), max(1, len(samples) // n))
    for name, edit in EDITS.items():
        query = encoder.encode_images([edit(samples[i].image) for i in picks])
        top = np.argsort(-(query @ image_vectors.T), axis=1)[:, :3]
        out[name] = float(np.mean([i in row for i, row in zip(picks, top, strict=True)]))
    return out


def evaluate_model(encoder, samples: list | None = None) -> dict:
    """All figures of the tiny model on the held-out set."""
    samples = samples if samples is not None else eval_set()
    vectors = encoder.encode_images([s.image for s in samples])
    cs, bg = colour_shape_queries(samples), background_queries(samples)
    top3 = image_top3(encoder, samples, vectors)
    return {
        "images": len(samples),
        "colour_shape_queries": len(cs),
        "colour_shape_p_at_10": round(precision_at_k(encoder, vectors, cs), 4),
        "background_queries": len(bg),
        "colour_shape_background_p_at_10": round(precision_at_k(encoder, vectors, bg), 4),
        "image_top3": {k: round(v, 4) for k, v in top3.items()},
        "image_top3_min": round(min(top3.values()), 4),
    }


RELEVANCE_SEED = 424_242  # a seed never used for training
RELEVANCE_SIZE = 2000

Predicate = Callable[[object], bool]


def _has(colour: str | None = None, kind: str | None = None, background: str | None = None) -> Predicate:
    return lambda s: matches(s, colour=colour, kind=kind, background=background)


def candidate_queries() -> dict[str, list[tuple[str, Predicate]]]:
    """Background-only, colour+shape and colour+shape+background queries, by kind."""
    colours, kinds = COLOURS, KINDS
    return {
        "background": [(f"{with_article(bg)} background", lambda s, bg=bg: s.background == bg) for bg in colours],
        "colour+shape": [(with_article(f"{c} {k}"), _has(c, k)) for c, k in product(colours, kinds)],
        "colour+shape+background": [
            (f"{with_article(f'{c} {k}')} on {with_article(bg)} background", _has(c, k, bg))
            for c, k, bg in product(colours, kinds, colours)
            if c != bg
        ],
    }


def relevance_queries(
    samples: list, low: int = 5, high: int = 400, per_kind: int = 12, seed: int = 0
) -> list[tuple[str, list[bool]]]:
    """(query, relevance per sample): `per_kind` queries of each kind, drawn at random (seeded) among
    those whose match count is in [low, high]."""
    rng = np.random.default_rng(seed)
    out = []
    for candidates in candidate_queries().values():
        masks = [(text, [bool(p(s)) for s in samples]) for text, p in candidates]
        fit = [q for q in masks if low <= sum(q[1]) <= high]
        out += [fit[i] for i in sorted(rng.choice(len(fit), min(per_kind, len(fit)), replace=False))]
    return out
