"""Dedup at scale: the semantic tier's candidate generation on the production index (IVF-PQ) plus the exact
re-score, over 1M vectors, with recall of planted duplicate pairs.

    python bench/dedup_scale.py                 # 1M x 1024-d: ~4 min to build the index, then the run
    python bench/dedup_scale.py --n 100000      # quicker

Base: bench/vectors.py's image-like synthetic vectors (clusters, a low-rank within-cluster variation,
isotropic noise). Planted: copies of random base vectors moved to cosine ~0.96 (FACTS: planted pairs at
exact cosine ~0.96 score ~0.77 under PQ). Every vector queries the index (search.pairs.cosine_pairs: range
search a margin below the threshold, re-score on float32 vectors, threshold only the exact score). The
float32 vectors are served from memory here; a library serves them from the catalog (see catalog_fetch).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, machine
from vectors import Synthetic, unit

from indexer.library.vectors import VectorIndex, set_threads
from search.pairs import DEDUP_NPROBE, cosine_pairs


def planted_copies(xb: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows copied, copies): n random rows of xb, each moved to cosine ~0.96 with its original."""
    rng = np.random.default_rng(seed + 7)
    rows = np.sort(rng.choice(len(xb), n, replace=False))
    noise = unit(rng.standard_normal((n, xb.shape[1]), dtype=np.float32))
    return rows, unit(xb[rows] + 0.29 * noise)


def vectors(args) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) base vectors with the planted copies in the last rows, filled in place; and the rows copied."""
    syn, xb = Synthetic(args.d, 300, args.seed), np.empty((args.n, args.d), np.float32)
    originals = args.n - args.planted
    for start in range(0, originals, 100_000):
        xb[start : min(start + 100_000, originals)] = syn.base(min(100_000, originals - start))
    rows, xb[originals:] = planted_copies(xb[:originals], args.planted, args.seed)
    return xb, rows


def run(index: VectorIndex, xb: np.ndarray, truth: set, min_cosine: float, nprobe: int) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    a, b, dist = cosine_pairs(index, lambda ids: xb[ids], np.arange(len(xb)), min_cosine, nprobe=nprobe)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    found = set(zip(a.tolist(), b.tolist(), strict=True))
    row = {"nprobe": nprobe, "candidates_and_rescore_s": round(seconds, 1), "cpu_s": round(cpu, 1)}
    row["pairs_found"] = len(found)  # cpu_s: this process's CPU time, which other users of the cores do not inflate
    row |= {
        "planted_recall": round(len(found & truth) / len(truth), 5),
        "below_threshold": int((dist > 1 - min_cosine).sum()),
    }
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--planted", type=int, default=10_000)
    parser.add_argument("--min-cosine", type=float, default=0.9)
    parser.add_argument("--nprobes", default=str(DEDUP_NPROBE), help="IVF lists per query, one run each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads, load = set_threads(None), round(os.getloadavg()[0], 1)
    start = time.perf_counter()
    xb, rows = vectors(args)
    truth = set(zip(rows.tolist(), range(args.n - args.planted, args.n), strict=True))
    exact = np.einsum("ij,ij->i", xb[rows], xb[args.n - args.planted :])
    generated_s = time.perf_counter() - start
    workdir = Path(tempfile.mkdtemp(prefix="pixseek-bench-dedup-scale-"))
    index = VectorIndex.open(workdir, args.d)
    start = time.perf_counter()
    index.rebuild(np.arange(args.n, dtype=np.int64), xb)
    build_s = time.perf_counter() - start
    runs = [run(index, xb, truth, args.min_cosine, int(p)) for p in args.nprobes.split(",") if p]
    shutil.rmtree(workdir)
    emit(
        f"dedup_scale-{args.n // 1000}k-cpu",
        {
            "machine": machine(None),
            "threads": threads,
            "n": args.n,
            "d": args.d,
            "factory": index.manifest["factory"],
            "planted_pairs": args.planted,
            "planted_exact_cosine_mean": round(float(exact.mean()), 4),
            "planted_exact_cosine_min": round(float(exact.min()), 4),
            "min_cosine": args.min_cosine,
            "generate_s": round(generated_s, 1),
            "index_build_s": round(build_s, 1),
            "runs": runs,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "load_average_at_start_and_end": [load, round(os.getloadavg()[0], 1)],  # other users of the 2 cores
        },
    )


if __name__ == "__main__":
    main()
