"""What JPEG draft decoding (DCT scaling to a short side >= 2 x 224) costs in fidelity and saves in time.

    python bench/draft_effect.py            # 40 images; writes bench/results/draft_effect-cpu.json

The images are synthetic, not photos: 3000x4000 and 4032x3024 JPEGs (quality 90) of smooth
gradients, blurred shapes, hard-edged shapes and seeded noise. Real photos have less pixel noise
and more texture; treat the differences here as indicative. Prints one JSON line.
`compare_draft(paths, encode)` adds vector cosines once an encoder is passed in.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from indexer.model.config import PreprocessConfig
from indexer.model.transform import Pixels, preprocess
from indexer.sources.images import open_image

RESULT = Path(__file__).resolve().parent / "results" / "draft_effect-cpu.json"
SIZES = [(3000, 4000), (4032, 3024)]
QUALITY = 90
Encode = Callable[[Pixels], np.ndarray]  # float32 (n, 3, S, S) -> float32 (n, d)


def _shapes(draw: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, height: int) -> None:
    for _ in range(12):
        x, y, r = rng.integers(0, width), rng.integers(0, height), rng.integers(width // 40, width // 6)
        fill = tuple(int(c) for c in rng.integers(0, 256, 3)) + (200,)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r // 2, x + r, y + r // 2), fill=fill)


def _field(rng: np.random.Generator, width: int, height: int, cell: int, low: int, high: int) -> Image.Image:
    """Smooth RGB texture: random values on a grid of `cell`-pixel squares, bicubic upsampled."""
    coarse = rng.integers(low, high, (height // cell + 2, width // cell + 2, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


def synthetic_photo(width: int, height: int, seed: int) -> Image.Image:
    """RGB image: smooth fields at two scales, blurred and sharp shapes, per-pixel noise."""
    rng = np.random.default_rng(seed)
    image = _field(rng, width, height, 256, 0, 256)
    image = ImageChops.add(image, _field(rng, width, height, 24, 98, 158), 1.0, -128).convert("RGBA")
    soft = Image.new("RGBA", (width // 4, height // 4))
    _shapes(ImageDraw.Draw(soft), rng, width // 4, height // 4)
    soft = soft.filter(ImageFilter.GaussianBlur(3)).resize((width, height), Image.Resampling.BICUBIC)
    image = Image.alpha_composite(image, soft).convert("RGB")
    _shapes(ImageDraw.Draw(image), rng, width, height)
    noise = Image.fromarray(rng.integers(118, 139, (height, width, 3), dtype=np.uint8))
    return ImageChops.add(image, noise, 1.0, -128)


def _write(job: tuple[str, int, int, int]) -> str:
    path, width, height, seed = job
    synthetic_photo(width, height, seed).save(path, "JPEG", quality=QUALITY)
    return path


def make_images(folder: Path, n: int, workers: int) -> list[str]:
    jobs = [(str(folder / f"{i:03d}.jpg"), *SIZES[i % len(SIZES)], i) for i in range(n)]
    with Pool(workers) as pool:
        return pool.map(_write, jobs)


def _timed(path: str, pre: PreprocessConfig, draft_size: int | None) -> tuple[float, Pixels, tuple[int, int]]:
    start = time.perf_counter()
    image = open_image(path, draft_size=draft_size)
    pixels = preprocess([image], pre)
    return (time.perf_counter() - start) * 1000, pixels, image.size


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def compare_draft(paths: Sequence[str], encode: Encode | None = None, *, pre: PreprocessConfig | None = None) -> dict:
    """Time and compare full and draft decodes (draft_size = 2 * pre.size) of the same JPEGs.

    Differences are in normalised-tensor units (one 8-bit level is about 0.015); with `encode`,
    also the cosine between the two vectors of each image.
    """
    pre = pre or PreprocessConfig()
    draft_size = 2 * pre.size
    runs = [(_timed(p, pre, None), _timed(p, pre, draft_size)) for p in paths]
    full = np.concatenate([f[1] for f, _ in runs])
    draft = np.concatenate([d[1] for _, d in runs])
    diff, cos = np.abs(full - draft), _cosines(full, draft)
    result = {
        "images": len(paths),
        "draft_size": draft_size,
        "decoded_sizes_with_draft": sorted({f"{d[2][0]}x{d[2][1]}" for _, d in runs}),
        "full_ms_median": round(statistics.median(f[0] for f, _ in runs), 1),
        "draft_ms_median": round(statistics.median(d[0] for _, d in runs), 1),
        "max_abs_diff": round(float(diff.max()), 4),
        "mean_abs_diff": round(float(diff.mean()), 5),
        "tensor_cosine_min": round(float(cos.min()), 6),
        "tensor_cosine_mean": round(float(cos.mean()), 6),
    }
    result["speedup"] = round(result["full_ms_median"] / result["draft_ms_median"], 2)
    if encode is not None:
        vectors = _cosines(encode(full), encode(draft))
        result["vector_cosine_min"] = round(float(vectors.min()), 6)
        result["vector_cosine_mean"] = round(float(vectors.mean()), 6)
    return result


def cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="number of generated JPEGs")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON result")
    parser.add_argument("--model", default=None, help="also compare vectors of this model (name or directory)")
    args = parser.parse_args()
    encode = None
    if args.model:
        from indexer.model.load import load_model

        encode = load_model(args.model, device="cpu").encode_pixels
    with tempfile.TemporaryDirectory() as folder:
        paths = make_images(Path(folder), args.n, workers=os.cpu_count() or 1)
        result = compare_draft(paths, encode)
    if args.model:
        result["model"] = args.model
    result |= {
        "synthetic_images": True,
        "sizes": [f"{w}x{h}" for w, h in SIZES],
        "jpeg_quality": QUALITY,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "pillow": PIL.__version__,
        "numpy": np.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
