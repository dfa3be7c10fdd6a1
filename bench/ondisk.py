"""The IVF-PQ build in blocks (indexer.library.ondisk) at 10M vectors: build time, peak RAM, bytes/vector,
recall, latency.

    python bench/ondisk.py                        # 10M x 1024-d in blocks of 250k, 2 worker processes
    python bench/ondisk.py --n 1000000 --block 250000

The vectors are bench/vectors.py's synthetic image-like base and text-like queries. No process ever
holds more than one block: each worker generates its block from its own seed, encodes it with the
trained parameters, and also returns the block's exact top-k for the queries, so the ground truth
needs no second pass over 10M vectors. Recall@10 is given for the PQ codes alone and for the top-100
PQ candidates (what an exact re-rank of 100 candidates would reach: the true top-10 it contains).
Peak RAM is the largest resident set of the main process and of any worker.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import faiss
import numpy as np
from common import emit, machine
from vectors import Synthetic, exact_top_k, generate

from indexer.library import ondisk
from indexer.library.topk import recall_at_k

SEED, CLUSTERS, D = 0, 300, 1024


def _synthetic(stream: int) -> Synthetic:
    syn = Synthetic(D, CLUSTERS, SEED)  # the same centres and rotation in every process
    syn.rng = np.random.default_rng([SEED, stream])
    return syn


def _fill(args: tuple) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Generate block i, write it, and return its exact top-k for the queries, its peak RSS (KB), seconds."""
    i, size, trained, out, xq, k = args
    faiss.omp_set_num_threads(1)  # one core per worker process
    xb = generate(_synthetic(i + 1), size)  # in chunks: few temporaries
    start = time.perf_counter()
    ondisk.fill_block(trained, np.arange(i * size, (i + 1) * size, dtype=np.int64), xb, out)
    seconds = time.perf_counter() - start
    D_, I_ = exact_top_k(xb, xq, k)
    return D_, I_ + i * size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, seconds


def _merge_truth(parts: list, k: int) -> np.ndarray:
    D_ = np.hstack([p[0] for p in parts])
    I_ = np.hstack([p[1] for p in parts])
    return np.take_along_axis(I_, np.argsort(-D_, axis=1)[:, :k], 1)


def _latency(index, xq: np.ndarray, k: int) -> dict:
    times = []
    for q in xq:
        start = time.perf_counter()
        index.search(q[None], k)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def run(args, work: Path) -> dict:
    xq = _synthetic(0).text_queries(args.queries)
    started = time.perf_counter()
    trained = ondisk.train(_synthetic(10_000).base(args.train), args.factory, work)
    train_s = time.perf_counter() - started
    n_blocks = args.n // args.block
    jobs = [(i, args.block, trained, work / f"block{i:04d}.index", xq, 100) for i in range(n_blocks)]
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_fill, jobs))
    fill_s = time.perf_counter() - started - train_s
    merged = ondisk.merge(trained, [j[3] for j in jobs], work / "served")
    build_s = time.perf_counter() - started
    for j in jobs:
        j[3].unlink()
    index = ondisk.open_merged(merged, args.nprobe)
    truth = _merge_truth(parts, 10)
    _, found = ondisk.search(index, xq, 100)
    lists = (work / "served" / ondisk.LISTS).stat().st_size
    return {
        "n": n_blocks * args.block,
        "d": D,
        "factory": args.factory,
        "blocks": n_blocks,
        "workers": args.workers,
        "train_sample": args.train,
        "train_s": round(train_s, 1),
        "fill_s": round(fill_s, 1),
        "build_s_total": round(build_s, 1),
        "fill_s_per_block_median": round(float(np.median([p[3] for p in parts])), 1),
        "peak_rss_gb_worker": round(max(p[2] for p in parts) / 2**20, 2),
        "peak_rss_gb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "ivfdata_bytes_per_vector": round(lists / (n_blocks * args.block), 1),
        "nprobe": args.nprobe,
        "queries": args.queries,
        "recall_at_10_pq": round(recall_at_k(found[:, :10], truth), 4),
        "recall_at_10_rerank_top100": round(recall_at_k(found, truth), 4),
        **_latency(index, xq, 10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--block", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--factory", default="IVF1024,PQ64")
    parser.add_argument("--train", type=int, default=100_000, help="training sample size")
    parser.add_argument("--nprobe", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="pixseek-ondisk-"))
    try:
        result = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit(f"ondisk-{result['n'] // 1_000_000}M-cpu", {"machine": machine(None), **result})


if __name__ == "__main__":
    main()
