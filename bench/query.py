"""Query latency on the 2-core CPU: p50/p99 of a 5-word text search, one query at a time.

    python bench/query.py                 # tiny-shapes library (2000 images) and ViT-g/14 over 1M vectors
    python bench/query.py --vit-n 200000  # a smaller vector set for the ViT-g/14 part

- tiny-shapes: `Searcher.search` end to end (text encode + index + catalog) on a generated library.
- ViT-g/14: the full text tower with random weights (EOT-truncated) and the library's vector index
  (IVF-PQ with exact re-ranking) over N synthetic 1024-d vectors, per query: encode, then search; for
  each runtime and dtype (Searcher's default on a CPU with native bfloat16 is torch bfloat16).
  The catalog lookup of the hits is the tiny library's (an indexed lookup of k ids, independent of N).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, machine, random_encoder
from encode import queries

from indexer.library.vectors import VectorIndex
from indexer.model.load import query_runtime
from search import synthetic_library
from search.searcher import Searcher


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
        library, _ = synthetic_library(Path(tmp), n_images, "tiny-shapes")
        searcher = Searcher(library)  # what a user gets: the query runtime chosen for this machine
        texts = queries(n_queries, seed=3)
        searcher.search(texts[0], k=20)  # model load and index open are not per-query costs
        total = timed_each(lambda q: searcher.search(q, k=20), texts)
        hits = searcher.search(texts[0], k=20).hits
        ids = np.array([h.image_id for h in hits])
        lookup = timed_each(lambda _: searcher._hits(ids, np.ones(len(ids), np.float32)), range(50))
    return {
        "images": n_images,
        "runtime": f"{searcher.encoder.runtime}-{searcher.encoder.dtype}",
        "queries": n_queries,
        **percentiles(total),
        "catalog_lookup_p50_ms": percentiles(lookup)["p50_ms"],
    }


def _vit_latency(index: VectorIndex, texts: list[str], runtime: str, dtype: str) -> dict:
    enc = random_encoder("vit-g-14", runtime, "cpu", dtype, batch_size=1)
    enc.encode_texts(texts[:2])
    total = timed_each(lambda t: index.search(enc.encode_texts([t]), 20), texts)
    encode = timed_each(lambda t: enc.encode_texts([t]), texts)
    return {**percentiles(total), "text_encode_p50_ms": percentiles(encode)["p50_ms"]}


def vector_index(n_vectors: int, directory: Path) -> VectorIndex:
    """The index over n_vectors synthetic vectors saved in `directory`, built there first if it is not."""
    from vectors import Synthetic, generate

    index = VectorIndex.open(directory, 1024)
    if index.ntotal != n_vectors:
        index.rebuild(np.arange(n_vectors, dtype=np.int64), generate(Synthetic(1024, 300, 0), n_vectors))
        index.save()
    return index


def bench_vit(n_vectors: int, n_queries: int, configs: list[tuple[str, str]], index_dir: Path | None) -> dict:
    """Per (runtime, dtype): p50/p99 of text encode + index search over n_vectors 1024-d vectors."""
    with tempfile.TemporaryDirectory() as tmp:
        index = vector_index(n_vectors, index_dir or Path(tmp))
        texts = queries(n_queries, seed=4)
        out = {"vectors": n_vectors, "factory": index.manifest["factory"], "nprobe": index.manifest["nprobe"]}
        out["queries"] = n_queries
        out["searcher_default"] = "-".join(query_runtime("auto", "cpu", "auto"))
        for runtime, dtype in configs:
            out[f"{runtime}-{dtype}"] = _vit_latency(index, texts, runtime, dtype)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny-images", type=int, default=2000)
    parser.add_argument("--vit-n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument(
        "--configs", default="paddle-float32,torch-float32,torch-bfloat16", help="runtime-dtype pairs for ViT-g/14"
    )
    parser.add_argument("--index-dir", type=Path, help="keep the built vector index here and reuse it next time")
    parser.add_argument("--build-only", action="store_true", help="only build the vector index (with --index-dir)")
    args = parser.parse_args()
    if args.build_only:
        print(f"{vector_index(args.vit_n, args.index_dir).ntotal} vectors in {args.index_dir}")
        return
    result = {"machine": machine(None), "tiny_shapes": bench_tiny(args.tiny_images, args.queries)}
    configs = [tuple(c.split("-", 1)) for c in args.configs.split(",")]
    vit = bench_vit(args.vit_n, min(args.queries, 50), configs, args.index_dir)
    lookup = result["tiny_shapes"]["catalog_lookup_p50_ms"]
    for runtime, dtype in configs:
        vit[f"{runtime}-{dtype}"]["p50_ms_with_catalog_lookup"] = round(vit[f"{runtime}-{dtype}"]["p50_ms"] + lookup, 2)
    result["vit_g_14"] = vit
    emit("query-cpu", result)


if __name__ == "__main__":
    main()
