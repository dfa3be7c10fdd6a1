"""Query latency on the 2-core CPU: p50/p99 of a 5-word text search, one query at a time.

    python bench/query.py                 # tiny-shapes library (2000 images) and ViT-g/14 over 1M vectors
    python bench/query.py --vit-n 200000  # a smaller vector set for the ViT-g/14 part

- tiny-shapes: `Searcher.search` end to end (text encode + index + catalog) on a generated library.
- ViT-g/14: the full text tower with random weights (EOT-truncated) and the library's vector index
  (IVF-PQ with exact re-ranking) over N synthetic 1024-d vectors, per query: encode, then search.
  The catalog lookup of the hits is the tiny library's (an indexed lookup of k ids, independent of N).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, emit, machine, random_encoder
from encode import queries

sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]
from relevance import build_library  # noqa: E402

from indexer.vectors import VectorIndex  # noqa: E402
from search import Searcher  # noqa: E402


def percentiles(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def timed_each(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


def bench_tiny(n_images: int, n_queries: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        library, _ = build_library(Path(tmp), n_images, "tiny-shapes")
        searcher = Searcher(library, runtime="paddle", device="cpu")
        texts = queries(n_queries, seed=3)
        searcher.search(texts[0], k=20)  # model load and index open are not per-query costs
        total = timed_each(lambda q: searcher.search(q, k=20), texts)
        hits = searcher.search(texts[0], k=20).hits
        ids = np.array([h.image_id for h in hits])
        lookup = timed_each(lambda _: searcher._hits(ids, np.ones(len(ids), np.float32)), range(50))
    return {
        "images": n_images,
        "queries": n_queries,
        **percentiles(total),
        "catalog_lookup_p50_ms": percentiles(lookup)["p50_ms"],
    }


def bench_vit(n_vectors: int, n_queries: int, runtime: str) -> dict:
    from vectors import Synthetic, generate

    syn = Synthetic(1024, 300, 0)
    enc = random_encoder("vit-g-14", runtime, "cpu", "auto", batch_size=1)
    with tempfile.TemporaryDirectory() as tmp:
        index = VectorIndex.open(tmp, 1024)
        index.rebuild(np.arange(n_vectors, dtype=np.int64), generate(syn, n_vectors))
        texts = queries(n_queries, seed=4)
        enc.encode_texts(texts[:2])

        def one(text: str) -> None:
            index.search(enc.encode_texts([text]), 20)

        total = timed_each(one, texts)
        encode = timed_each(lambda t: enc.encode_texts([t]), texts)
        manifest = index.manifest
    return {
        "vectors": n_vectors,
        "factory": manifest["factory"],
        "nprobe": manifest["nprobe"],
        "runtime": enc.runtime,
        "queries": n_queries,
        **percentiles(total),
        "text_encode_p50_ms": percentiles(encode)["p50_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny-images", type=int, default=2000)
    parser.add_argument("--vit-n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--runtime", default="paddle")
    args = parser.parse_args()
    result = {"machine": machine(None), "tiny_shapes": bench_tiny(args.tiny_images, args.queries)}
    vit = bench_vit(args.vit_n, min(args.queries, 50), args.runtime)
    vit["p50_ms_with_catalog_lookup"] = round(vit["p50_ms"] + result["tiny_shapes"]["catalog_lookup_p50_ms"], 2)
    result["vit_g_14"] = vit
    emit(f"query-cpu-{args.runtime}", result)


if __name__ == "__main__":
    main()
