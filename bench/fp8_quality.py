"""The FP8 vision tower's quality gate (issue 23), on this machine's CPU (torch multiplies float8 in software):

    python bench/fp8_quality.py          # about five minutes on 2 cores; writes bench/results/fp8_quality.json

- tiny-shapes retrieval: the 2,000-image evaluation library (search.evaluation, the search-quality tests'
  queries of 5 to 400 true matches) indexed with the torch runtime in float32, twice in bfloat16 and in fp8;
  mean precision and recall of `--relevant`, top-10 and top-200 on each, whether fp8 moves them more than
  bfloat16 itself does (`retrieval`), and the cosine between the bfloat16 and fp8 vectors of each image;
- the gate's own figure (min cosine FP8 vs bfloat16 over runtimes.fp8.gate_crops' 256 photos) for
  tiny-shapes and for ViT-g/14's widths with 2 of its 40 blocks (random weights: the arithmetic on the
  real shapes, not the real model's activations, which no machine here has).
Speed is the GPU's (bench/gpu_index.py's small_fp8 / large_fp8 phases).
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, machine

from indexer.model.directory import architecture, bpe_dir
from indexer.model.load import build_encoder, load_encoder
from indexer.model.runtimes import fp8
from indexer.model.state import random_state
from indexer.sources.synthetic import RELEVANCE_SIZE, relevance_queries
from search import Searcher, evaluate, synthetic_library


def vectors(library: Path) -> dict[str, np.ndarray]:
    with sqlite3.connect(library / "catalog.sqlite") as db:
        rows = db.execute(
            "SELECT f.relpath, e.vector FROM files f JOIN embeddings e ON e.image_id = f.image_id"
        ).fetchall()
    return {path: np.frombuffer(blob, np.float32) for path, blob in rows}


RUNS = (("float32", "float32"), ("bfloat16", "bfloat16"), ("bfloat16_again", "bfloat16"), ("fp8", "fp8"))
METRICS = (("relevant", "mean_precision"), ("relevant", "mean_recall"), ("top10", "mean_precision"))
METRICS += (("top10", "mean_recall"), ("top200", "mean_precision"), ("top200", "mean_recall"))


def retrieval(work: Path) -> dict:
    """The evaluation library indexed in float32, twice in bfloat16 and in fp8, judged by `judge`."""
    out: dict = {}
    libraries = {}
    for name, dtype in RUNS:
        started = time.perf_counter()
        (work / name).mkdir()
        lib, samples = synthetic_library(work / name, RELEVANCE_SIZE, "tiny-shapes", runtime="torch", dtype=dtype)
        seconds = time.perf_counter() - started
        queries = relevance_queries(samples)
        searcher = Searcher(lib)
        out[name] = {
            "index_s": round(seconds, 1),
            "relevant": evaluate(searcher, queries, k=RELEVANCE_SIZE, relevant=True),
            "top10": evaluate(searcher, queries, k=10),
            "top200": evaluate(searcher, queries, k=200),
        }
        out["queries"] = len(queries)
        libraries[name] = vectors(lib)
        print(name, out[name], flush=True)
    a, b = libraries["bfloat16"], libraries["fp8"]
    cosine = np.array([float(a[p] @ b[p]) for p in a])
    out["vector_cosine"] = {"min": round(float(cosine.min()), 5), "mean": round(float(cosine.mean()), 6)}
    judge(out)
    return out


def judge(out: dict) -> None:
    """`unchanged`: no metric of fp8 is further from the nearest of the float32 and bfloat16 runs than bfloat16's
    own runs are from each other or from float32 (the calibrated `--relevant` cutoff moves a few borderline
    images between two bfloat16 runs already; an fp8 figure nearer float32's than bfloat16's is no change)."""
    out["tolerance"], out["fp8_shift"] = {}, {}
    for k, m in METRICS:
        bf16 = out["bfloat16"][k][m]
        spread = max(abs(bf16 - out["bfloat16_again"][k][m]), abs(bf16 - out["float32"][k][m]))
        out["tolerance"][f"{k}_{m}"] = round(spread, 4)
        nearest = min(abs(out["fp8"][k][m] - out[run][k][m]) for run in ("float32", "bfloat16", "bfloat16_again"))
        out["fp8_shift"][f"{k}_{m}"] = round(nearest, 4)
    out["unchanged"] = all(out["fp8_shift"][key] <= out["tolerance"][key] for key in out["tolerance"])


def gates() -> dict:
    tiny = load_encoder("tiny-shapes", runtime="torch", device="cpu", dtype="fp8", batch_size=64)
    tiny.tower("vision")
    config = architecture("vit-g-14")
    config = dataclasses.replace(config, vision=dataclasses.replace(config.vision, layers=2))
    started = time.perf_counter()
    wide = build_encoder(
        "vit-g-14-2-blocks", bpe_dir(), config, random_state(config, 0), runtime="torch", device="cpu",
        dtype="fp8", batch_size=64,
    )  # fmt: skip
    wide.tower("vision")
    return {
        "images": fp8.GATE_IMAGES,
        "threshold": fp8.MIN_COSINE,
        "tiny_shapes_min_cosine": round(tiny.fp8_min_cosine, 5),
        "vit_g_14_widths_2_blocks_random_min_cosine": round(wide.fp8_min_cosine, 5),
        "vit_g_14_2_blocks_gate_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pixseek-bench-fp8-"))
    try:
        result = {"machine": machine(None), "gate": gates()}
        print("gate", result["gate"], flush=True)
        result["tiny_shapes_retrieval"] = retrieval(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit("fp8_quality", result)


if __name__ == "__main__":
    main()
