"""How well searches find what they should: precision and recall over queries whose true matches are
known, on a generated library of the synthetic set (indexer.sources.synthetic). The search-quality tests
and bench/relevance.py measure `--relevant` against fixed top-k with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer import IndexSettings, index
from indexer.sources.synthetic import RELEVANCE_SEED, Sample, generate

from .searcher import Searcher


def synthetic_library(
    folder: Path, n: int, model: str, seed: int = RELEVANCE_SEED, **settings
) -> tuple[Path, list[Sample]]:
    """Write n generated images under folder/images (file stem = sample index), index them into
    folder/lib (`settings`: more IndexSettings, e.g. runtime and dtype); return (library, samples)."""
    images = folder / "images"
    images.mkdir()
    samples = generate(n, seed)
    for i, sample in enumerate(samples):
        sample.image.save(images / f"{i:05d}.png")
    index([images], folder / "lib", model, IndexSettings(**{"workers": 2, "batch_size": 128, **settings}))
    return folder / "lib", samples


def precision_recall(found: list[int], mask: list[bool]) -> tuple[float, float]:
    """(precision, recall) of the found sample indices against the relevance mask."""
    hits = sum(mask[i] for i in found)
    return (hits / len(found) if found else 1.0), hits / max(1, sum(mask))


def evaluate(searcher: Searcher, queries: list[tuple[str, list[bool]]], **search) -> dict:
    """Mean precision and recall of `searcher.search(text, **search)` over (text, relevance mask) queries,
    on a library made by `synthetic_library`."""
    pr = []
    for text, mask in queries:
        hits = searcher.search(text, **search).hits
        pr.append(precision_recall([int(Path(h.path).stem) for h in hits], mask))
    p, r = np.mean(pr, axis=0)
    return {"mean_precision": round(float(p), 4), "mean_recall": round(float(r), 4)}
