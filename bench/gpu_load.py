"""Model start on a GPU: how long `pixseek index` waits for ViT-g/14 before its first batch.

    python bench/gpu_load.py --card "NVIDIA H200"        # random weights written in the release format

The model directory holds seeded random weights in the release's own format (fp32 model_state.pdparams,
5.47 GB). First the weights cache is built (`pixseek models info`: the checkpoint read once and the
towers written as bfloat16 safetensors), then `pixseek index --device cuda` runs twice on fresh folders
of small JPEGs; reported: the run's load_model stage (what waits before the first batch: the vision
tower mapped from the cache and copied to the device), its wall time and peak RSS. Writes
bench/results/gpu_load-<arch>-<card>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, machine, make_release_model, run_pixseek, slug
from PIL import Image


def photos(folder: Path, n: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)).save(folder / f"{i:05d}.jpg")
    return folder


def index_run(model: Path, folder: Path, library: Path, env: dict) -> dict:
    start = time.perf_counter()
    args = ["index", str(folder), "-l", str(library), "-m", str(model), "--device", "cuda", "--json"]
    done = subprocess.run([sys.executable, "-m", "ui.cli", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"index failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    return {
        "wall_s": round(time.perf_counter() - start, 2),
        "indexed": summary["indexed"],
        "load_model_s": summary["stages"].get("load_model"),
        "stages": summary["stages"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit-g-14")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--card", default=None)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="pixseek-gpu-load-"))
    model = work / args.arch
    env = {**os.environ, "PIXSEEK_CACHE_DIR": str(work / "cache")}
    try:
        result = {"arch": args.arch, "machine": machine(args.card), **make_release_model(args.arch, model)}
        result["cache_build"] = run_pixseek(["models", "info", str(model), "--json"], env)
        runs = []
        for i in range(2):
            folder = photos(work / f"photos{i}", args.images, seed=i)
            runs.append(index_run(model, folder, work / f"library{i}", env))
        result["index_runs"] = runs
        emit(slug("gpu_load", args.arch, args.card), result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
