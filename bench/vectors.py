"""Vector index at scale: build time, RAM per vector, batch-1 latency and recall@10 on cross-modal-like queries.

    python bench/vectors.py                 # 1M x 1024-d (~4 GB of float32 base, ~15 min on 2 cores)
    python bench/vectors.py --n 100000      # to tune quickly

Base: image-like unit vectors (a shared mean direction, a few hundred cluster centres, variation in a
low-rank subspace, a little isotropic noise) living in 3/4 of the dimensions (768 of 1024) after a random
rotation. Queries are text-like: a weak pull (0.35) towards one cluster centre, a component in the
256 dimensions the base never uses (the modality gap) and a random direction, so their true top-10
cosines sit far below image-image ones, as text->image queries do (FACTS: cross-modal queries are the
hard case for IVF-PQ). Ground truth is exact, by chunked matrix multiply. Latency is one query per
call, with the refine store in the page cache.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from common import emit, machine

from indexer.library.index_params import choose_params
from indexer.library.topk import recall_at_k
from indexer.library.vectors import VectorIndex, set_threads

BASE_SHARE = 0.75  # of d: the base spans 768 of 1024 dimensions, queries also use the rest
LOW_RANK = 64  # intrinsic dimension of the within-cluster variation


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


class Synthetic:
    """Seeded generator of base (image-like) and query (text-like) vectors in d dimensions."""

    def __init__(self, d: int, clusters: int, seed: int):
        rng = np.random.default_rng(seed)
        self.d, self.b, self.rng = d, int(d * BASE_SHARE), np.random.default_rng(seed + 1)
        self.rotation = np.linalg.qr(rng.standard_normal((d, d)))[0].T.astype(np.float32)  # rows orthonormal
        self.mean = unit(rng.standard_normal((1, self.b)))[0]
        self.centres = unit(rng.standard_normal((clusters, self.b)))
        self.low_rank = unit(rng.standard_normal((LOW_RANK, self.b)))

    def base(self, n: int) -> np.ndarray:
        rng, j = self.rng, self.rng.integers(len(self.centres), size=n)
        detail = rng.standard_normal((n, LOW_RANK), dtype=np.float32) @ self.low_rank / np.sqrt(LOW_RANK)
        iso = rng.standard_normal((n, self.b), dtype=np.float32) / np.sqrt(self.b)
        x = 0.5 * self.mean + 0.8 * self.centres[j] + 0.6 * detail + 0.25 * iso
        return unit(x @ self.rotation[: self.b])

    def text_queries(self, n: int) -> np.ndarray:
        rng, j = self.rng, self.rng.integers(len(self.centres), size=n)
        gap = unit(rng.standard_normal((n, self.d - self.b))) @ self.rotation[self.b :]
        detail = unit(rng.standard_normal((n, LOW_RANK), dtype=np.float32) @ self.low_rank)
        inside = 0.35 * self.centres[j] + 0.25 * detail
        anywhere = unit(rng.standard_normal((n, self.d)))
        return unit(inside @ self.rotation[: self.b] + 0.8 * gap + 0.5 * anywhere)


def generate(syn: Synthetic, n: int, chunk: int = 100_000) -> np.ndarray:
    xb = np.empty((n, syn.d), np.float32)
    for start in range(0, n, chunk):
        xb[start : start + chunk] = syn.base(min(chunk, n - start))
    return xb


def exact_top_k(xb: np.ndarray, xq: np.ndarray, k: int, chunk: int = 100_000):
    """(D, I) of exact inner-product top-k, by chunked matrix multiply."""
    D = np.full((len(xq), k), -np.inf, np.float32)
    I = np.full((len(xq), k), -1, np.int64)  # noqa: E741 -- FAISS's name
    for start in range(0, len(xb), chunk):
        S = xq @ xb[start : start + chunk].T
        allD, allI = np.hstack([D, S]), np.hstack([I, np.arange(start, start + S.shape[1])[None].repeat(len(xq), 0)])
        top = np.argsort(-allD, axis=1)[:, :k]
        D, I = np.take_along_axis(allD, top, 1), np.take_along_axis(allI, top, 1)  # noqa: E741
    return D, I


def latency(index: VectorIndex, xq: np.ndarray, k: int, nprobe: int):
    """(p50 ms, p99 ms, I) searching one query per call."""
    times, found = [], []
    for q in xq:
        start = time.perf_counter()
        found.append(index.search(q[None], k, nprobe=nprobe)[1][0])
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), np.stack(found)


def sweep(index: VectorIndex, xq, truth, k, nprobes, refine_factors) -> list[dict]:
    rows = []
    for rf in refine_factors:
        index.refine_factor = rf
        for nprobe in nprobes:
            p50, p99, found = latency(index, xq, k, nprobe)
            row = {"nprobe": nprobe, "refine_factor": rf, "recall_at_10": round(recall_at_k(found, truth), 4)}
            rows.append({**row, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2)})
            print(rows[-1], flush=True)
    return rows


def build(args, syn: Synthetic, k: int, workdir: Path, threads: int) -> tuple[dict, dict]:
    """Generate base and queries, exact ground truth, build and save the index in workdir."""
    t0 = time.perf_counter()
    xb = generate(syn, args.n)
    q = {"text": syn.text_queries(args.queries), "images": syn.base(args.queries), "tuning": syn.text_queries(200)}
    t_gen = time.perf_counter() - t0
    for name in list(q):
        q[f"{name}_D"], q[f"{name}_truth"] = exact_top_k(xb, q[name], k)
    print(f"generated in {t_gen:.0f} s, ground truth in {time.perf_counter() - t0 - t_gen:.0f} s", flush=True)
    index = VectorIndex.open(workdir, args.d, omp_threads=threads)
    start = time.perf_counter()
    index.rebuild(np.arange(args.n, dtype=np.int64), xb)
    built = {"build_s": round(time.perf_counter() - start, 1)}
    print(f"built {index.manifest['factory']} in {built['build_s']:.0f} s", flush=True)
    del xb
    start = time.perf_counter()
    index.save()
    built["save_s"] = round(time.perf_counter() - start, 1)
    np.savez(workdir / "bench-queries.npz", **q)
    (workdir / "bench-build.json").write_text(json.dumps(built))
    return q, built


def candidates_p50(index: VectorIndex, xq: np.ndarray, k: int) -> float:
    """Median ms of the FAISS candidate search alone (no re-ranking), one query per call."""
    params = faiss.SearchParametersIVF(nprobe=index.nprobe)
    times = []
    for q in xq:
        start = time.perf_counter()
        index.faiss_index.search(q[None], k * index.refine_factor, params=params)
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--nprobes", default="8,16,32,64")
    parser.add_argument("--refine-factors", default="20,40,80,160,320")
    parser.add_argument("--threads", type=int, default=None)
    # Tuned on 200 queries, measured on 1000 others: a little above 0.95 so the held-out recall stays above it.
    parser.add_argument("--tune-target", type=float, default=0.965)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="keep index and ground truth here; reuse them if present")
    args = parser.parse_args()
    k, threads = 10, set_threads(args.threads)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pixseek-bench-vectors-"))
    if (workdir / "bench-build.json").exists():
        q, built = dict(np.load(workdir / "bench-queries.npz")), json.loads((workdir / "bench-build.json").read_text())
    else:
        q, built = build(args, Synthetic(args.d, args.clusters, args.seed), k, workdir, threads)
    start = time.perf_counter()
    index = VectorIndex.open(workdir, args.d, omp_threads=threads)  # searches read the memmapped store
    open_s = time.perf_counter() - start
    ram = len(faiss.serialize_index(index.faiss_index))
    params = choose_params(args.n, args.d)  # today's defaults, even for an index built before they changed
    default = {"nprobe": params.nprobe, "refine_factor": params.refine_factor}
    table = sweep(index, q["text"], q["text_truth"], k, _ints(args.nprobes), _ints(args.refine_factors))
    index.nprobe, index.refine_factor = default["nprobe"], default["refine_factor"]
    p50_default, p99_default, found_default = latency(index, q["text"], k, index.nprobe)
    tuned = index.tune(q["tuning"], k=k, target_recall=args.tune_target)
    p50, p99, found = latency(index, q["text"], k, index.nprobe)
    _, _, image_found = latency(index, q["images"], k, index.nprobe)
    faiss_p50, manifest = candidates_p50(index, q["text"], k), index.manifest
    if not args.workdir:
        shutil.rmtree(workdir)

    result = {
        "machine": machine(None),
        "threads": threads,
        "faiss": faiss.__version__,
        "n": args.n,
        "d": args.d,
        "factory": manifest["factory"],
        "nlist": manifest["nlist"],
        **built,
        "trained_on": manifest["trained_on"],
        "bytes_per_vector_ram": round(ram / args.n, 1),
        "refine_store_bytes_per_vector_disk": 2 * args.d + 8,
        "open_s": round(open_s, 2),
        "defaults": {
            **default,
            "recall_at_10": round(recall_at_k(found_default, q["text_truth"]), 4),
            "p50_ms": round(p50_default, 2),
            "p99_ms": round(p99_default, 2),
        },
        "fastest_with_recall_095": min(
            (row for row in table if row["recall_at_10"] >= 0.95), key=lambda row: row["p50_ms"], default=None
        ),
        "tuned_on_200_other_text_queries": {
            "nprobe": tuned[0],
            "refine_factor": tuned[1],
            "recall": round(tuned[2], 4),
            "target": args.tune_target,
        },
        "text_queries": args.queries,
        "tuned_recall_at_10": round(recall_at_k(found, q["text_truth"]), 4),
        "tuned_p50_ms": round(p50, 2),
        "tuned_p99_ms": round(p99, 2),
        "tuned_faiss_candidates_p50_ms": faiss_p50,
        "tuned_image_query_recall_at_10": round(recall_at_k(image_found, q["images_truth"]), 4),
        "true_top10_cosine_text_mean": round(float(q["text_D"].mean()), 3),
        "true_top10_cosine_image_mean": round(float(q["images_D"].mean()), 3),
        "sweep": table,
        "ground_truth": "exact inner product, chunked matrix multiply on the float32 base",
        "ram_note": "faiss.serialize_index size / n: PQ codes + ids + coarse centroids; the float16 refine "
        "store is memory-mapped (page cache), not counted",
    }
    label = f"{args.n // 1_000_000}M" if args.n % 1_000_000 == 0 else str(args.n)
    emit(f"vectors-{label}-cpu", result)


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


if __name__ == "__main__":
    main()
