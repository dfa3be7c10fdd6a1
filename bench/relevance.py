"""How well `--relevant` decides how many results a query has: precision and recall over queries.

    python bench/relevance.py            # tiny-shapes on a generated 2000-image library

Queries have very different numbers of true matches (5 to 400): a fixed top-k cannot reach good
precision and recall on all of them at once; the per-query cutoff should. Writes
bench/results/relevance-tiny-shapes.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import emit

from indexer.sources.synthetic import RELEVANCE_SIZE, relevance_queries
from search import Searcher, evaluate, synthetic_library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--n", type=int, default=RELEVANCE_SIZE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library, samples = synthetic_library(Path(tmp), args.n, args.model)
        qs = relevance_queries(samples)
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
