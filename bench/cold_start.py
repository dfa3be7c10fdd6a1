"""Cold start of the full-size model on this machine: the first cache build, `pixseek index` of a few
images and cold `pixseek search` runs (process start to printed results), each with wall time and peak RSS.

    python bench/cold_start.py                    # ViT-g/14, random weights written in the release format
    python bench/cold_start.py --arch vit-g-14 --dir /data/bench --keep

The model directory holds seeded random weights in the PaddleNLP release's own format (fp32
model_state.pdparams, 5.47 GB for ViT-g/14). Every command runs as its own process (`python -m ui.cli`),
with the weights cache in the work folder; the page cache is warm unless it says "dropped". As root,
one more search runs after dropping the page cache (a reboot-like cold disk). Writes
bench/results/cold_start-<arch>-cpu.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from common import emit, machine, make_release_model, run_pixseek
from PIL import Image

from indexer.model import cpu_precision


def drop_page_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit-g-14")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (model, cache, library)")
    parser.add_argument("--searches", type=int, default=3)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="pixseek-cold-"))
    work.mkdir(parents=True, exist_ok=True)
    model, library, photos = work / args.arch, work / "library", work / "photos"
    env = {**os.environ, "PIXSEEK_CACHE_DIR": str(work / "cache"), "PIXSEEK_LIBRARY": str(library)}
    try:
        result = {"arch": args.arch, "machine": machine(None), "cpu_precision": cpu_precision()}
        result |= make_release_model(args.arch, model)
        shutil.rmtree(work / "cache", ignore_errors=True)
        result["cache_build"] = run_pixseek(["models", "info", str(model), "--json"], env)
        photos.mkdir(exist_ok=True)
        for i, colour in enumerate(("red", "blue")):
            Image.new("RGB", (640, 480), colour).save(photos / f"{i}.jpg")
        shutil.rmtree(library, ignore_errors=True)
        result["index_2_images"] = run_pixseek(["index", str(photos), "-m", str(model), "--json"], env)
        result["search"] = [run_pixseek(["search", "a red photo", "-k", "2"], env) for _ in range(args.searches)]
        if drop_page_cache():
            result["search_after_page_cache_dropped"] = run_pixseek(["search", "a red photo", "-k", "2"], env)
        emit(f"cold_start-{args.arch}-cpu", result)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
