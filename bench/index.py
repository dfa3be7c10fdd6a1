"""End-to-end indexing speed: images/s and per-stage seconds on generated JPEG folders (CPU, tiny model).

    python bench/index.py --photos 40 --small 400 --workers 2

Two folders of synthetic photo-like JPEGs (gradients, shapes, noise; not real photos): phone-sized
4000x3000 (about 12 MP) and 500x375. Each is indexed into a fresh library with the bundled model;
`stages` are the seconds the main process spent in each step (`read` is time spent waiting for the
worker processes that read, hash and decode).
"""

from __future__ import annotations

import argparse
import tempfile
from multiprocessing import Pool
from pathlib import Path

from common import emit, machine, slug
from draft_effect import synthetic_photo

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings


def _write(job: tuple[Path, int, int, int]) -> None:
    path, width, height, seed = job
    synthetic_photo(width, height, seed).save(path, "JPEG", quality=90)


def make_folder(folder: Path, n: int, size: tuple[int, int], workers: int) -> Path:
    folder.mkdir(parents=True)
    with Pool(workers) as pool:
        pool.map(_write, [(folder / f"{i:05d}.jpg", *size, i) for i in range(n)])
    return folder


def bench_folder(folder: Path, library: Path, model: str, settings: IndexSettings) -> dict:
    summary = index([folder], library, model, settings)
    n = summary.indexed
    work = summary.seconds - summary.stages.get("load_model", 0.0)
    return {
        "images": n,
        "seconds": round(summary.seconds, 2),
        "images_per_s": round(n / summary.seconds, 2),
        "images_per_s_excluding_model_load": round(n / work, 2),
        "stages": summary.as_dict()["stages"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40, help="4000x3000 JPEGs")
    parser.add_argument("--small", type=int, default=400, help="500x375 JPEGs")
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-draft", action="store_true")
    args = parser.parse_args()
    settings = IndexSettings(
        runtime="paddle", device="cpu", workers=args.workers, batch_size=args.batch_size, draft=not args.no_draft
    )
    result = {
        "model": args.model,
        "machine": machine(None),
        "workers": args.workers,
        "draft": settings.draft,
        "images": "synthetic photo-like JPEGs, quality 90",
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, n, size in (("12mp_4000x3000", args.photos, (4000, 3000)), ("500x375", args.small, (500, 375))):
            folder = make_folder(tmp / name, n, size, args.workers)
            result[name] = bench_folder(folder, tmp / f"lib-{name}", args.model, settings)
    emit(slug("index", args.model, "cpu", "draft" if settings.draft else "nodraft"), result)


if __name__ == "__main__":
    main()
