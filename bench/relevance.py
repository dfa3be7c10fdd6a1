"""How well `--relevant` decides how many results a query has: precision and recall over queries.

    python bench/relevance.py            # tiny-shapes on a generated 2000-image library

Queries have very different numbers of true matches (5 to 400): a fixed top-k cannot reach good
precision and recall on all of them at once; the per-query cutoff should. Writes
bench/results/relevance-tiny-shapes.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, emit

sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tools")]
from relevance_queries import LIBRARY_SEED, LIBRARY_SIZE, queries  # noqa: E402

from indexer.pipeline import IndexSettings, index  # noqa: E402
from search import Searcher  # noqa: E402
from ui import shapes  # noqa: E402


def build_library(folder: Path, n: int, model: str) -> tuple[Path, list]:
    """Write n generated images (file name = sample index), index them; return (library, samples)."""
    images = folder / "images"
    images.mkdir()
    samples = shapes.generate(n, LIBRARY_SEED)
    for i, sample in enumerate(samples):
        sample.image.save(images / f"{i:05d}.png")
    index([images], folder / "lib", model, IndexSettings(workers=2, batch_size=128))
    return folder / "lib", samples


def scores(found: list[int], mask: list[bool]) -> tuple[float, float]:
    """(precision, recall) of the found sample indices against the relevance mask."""
    hits = sum(mask[i] for i in found)
    return (hits / len(found) if found else 1.0), hits / max(1, sum(mask))


def evaluate(searcher: Searcher, qs: list, **search) -> dict:
    pr = []
    for text, mask in qs:
        hits = searcher.search(text, **search).hits
        pr.append(scores([int(Path(h.path).stem) for h in hits], mask))
    p, r = np.mean(pr, axis=0)
    return {"mean_precision": round(float(p), 4), "mean_recall": round(float(r), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--n", type=int, default=LIBRARY_SIZE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library, samples = build_library(Path(tmp), args.n, args.model)
        qs = queries(samples)
        searcher = Searcher(library, runtime="paddle", device="cpu")
        result = {
            "model": args.model,
            "images": args.n,
            "queries": len(qs),
            "true_matches_min_max": [min(sum(m) for _, m in qs), max(sum(m) for _, m in qs)],
        }
        for strictness in (0.0, 0.25, 0.5, 0.75, 1.0):
            result[f"relevant_strictness_{strictness}"] = evaluate(
                searcher, qs, k=args.n, relevant=True, strictness=strictness
            )
        for k in (10, 50, 200):
            result[f"fixed_top_{k}"] = evaluate(searcher, qs, k=k)
    emit(f"relevance-{Path(args.model).name}", result)


if __name__ == "__main__":
    main()
