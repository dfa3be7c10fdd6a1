"""The tiny model's figures on a held-out synthetic set (seed never used in training).

    python tools/eval_tiny.py [MODEL] [--runtime torch --device cuda]   # default: models/tiny-shapes; one JSON line

- colour+shape text queries ("a red circle"): mean precision@10, relevant = the image holds such a shape;
- colour+shape+background queries ("a red circle on a blue background"), over the triples that have at
  least 10 matching images in the set (precision@10 is not defined as a fraction of 10 otherwise);
- image->image: a JPEG-recompressed (quality 40), 20%-cropped or half-size copy of an image has the
  original among its top-3 neighbours.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from itertools import product
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from ui import shapes  # noqa: E402

EVAL_SEED = 1_000_003  # never used for training
EVAL_SIZE = 1000


def eval_set(n: int = EVAL_SIZE, seed: int = EVAL_SEED) -> list:
    return shapes.generate(n, seed=seed)


def colour_shape_queries(samples: list) -> list[tuple[str, np.ndarray]]:
    """("a red circle", relevant mask) for every colour and shape with at least 10 matches."""
    out = []
    for colour, kind in product(shapes.COLOURS, shapes.KINDS):
        mask = np.array([shapes.matches(s, colour=colour, kind=kind) for s in samples])
        if mask.sum() >= 10:
            out.append((f"a {colour} {kind}", mask))
    return out


def background_queries(samples: list) -> list[tuple[str, np.ndarray]]:
    """("a red circle on a blue background", relevant mask) for triples with at least 10 matches."""
    out = []
    for colour, kind, bg in product(shapes.COLOURS, shapes.KINDS, shapes.COLOURS):
        if colour == bg:
            continue
        mask = np.array([shapes.matches(s, colour=colour, kind=kind, background=bg) for s in samples])
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


def evaluate(encoder, samples: list | None = None) -> dict:
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


def main() -> None:
    from indexer import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(ROOT / "models" / "tiny-shapes"))
    parser.add_argument("--runtime", default="paddle")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(json.dumps(evaluate(load_model(args.model, runtime=args.runtime, device=args.device, batch_size=256))))


if __name__ == "__main__":
    main()
