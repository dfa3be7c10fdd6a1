"""Data for dedup (tests, bench/dedup.py): scikit-image's bundled photos (they ship in the wheel, nothing is
downloaded), procedural images, and the copies a library collects (re-encoded, resized, cropped, ...)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from skimage import data

PHOTOS = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text",
)  # fmt: skip
# Two photos of one scene from a stereo rig: similar, but not copies of each other.
STEREO = ("motorcycle_left", "motorcycle_right")


def photo(name: str) -> Image.Image:
    """One of scikit-image's bundled images as an 8-bit RGB or L PIL image."""
    if name in STEREO:
        return Image.fromarray(data.stereo_motorcycle()[STEREO.index(name)])
    pixels = getattr(data, name)()
    if pixels.dtype != np.uint8:
        pixels = (pixels * 255).round().astype(np.uint8)
    image = Image.fromarray(pixels)
    return image.convert("RGB") if image.mode not in ("RGB", "L") else image


def procedural(seed: int, size: tuple[int, int] = (480, 360), ellipses_seed: int | None = None) -> Image.Image:
    """A smooth random colour field (from seed) with six random ellipses (from ellipses_seed, default seed):
    distinct for every seed; two ellipses seeds on one field are similar but distinct images."""
    field = np.random.default_rng(seed).integers(0, 256, (4, 4, 3)).astype(np.uint8)
    image = Image.fromarray(field).resize(size, Image.BICUBIC)
    rng = np.random.default_rng([seed, seed if ellipses_seed is None else ellipses_seed, 1])
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y, r = rng.integers(0, size[0]), rng.integers(0, size[1]), rng.integers(20, 90)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image


def _scaled(image: Image.Image, s: float) -> Image.Image:
    return image.resize((max(8, round(image.width * s)), max(8, round(image.height * s))), Image.BICUBIC)


def _cropped(image: Image.Image, share: float) -> Image.Image:
    """Keep the centre (1 - share) of each side."""
    w, h = image.size
    dx, dy = round(w * share / 2), round(h * share / 2)
    return image.crop((dx, dy, w - dx, h - dy))


def _text(image: Image.Image) -> Image.Image:
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, out.height - out.height // 8, out.width, out.height), fill=(0, 0, 0))
    draw.text((8, out.height - out.height // 8 + 2), "(c) pixseek 2026 holiday", fill=(255, 255, 255))
    return out


# family -> [(name, transform, JPEG quality of the saved copy)]; the bases are saved as PNG.
Transform = Callable[[Image.Image], Image.Image]
COPY_TRANSFORMS: dict[str, list[tuple[str, Transform, int]]] = {
    "jpeg": [(f"q{q}", lambda im: im, q) for q in (75, 30, 10)],
    "resize": [(f"x{s}", lambda im, s=s: _scaled(im, s), 90) for s in (0.5, 0.25)],
    "crop": [(f"crop{p}", lambda im, p=p: _cropped(im, p / 100), 90) for p in (10, 30)],
    "rotate": [(f"rot{a}", lambda im, a=a: im.rotate(a, Image.BICUBIC), 90) for a in (5, 25)],
    "flip": [("flip", ImageOps.mirror, 90)],
    "jitter": [("jitter", lambda im: ImageEnhance.Color(ImageEnhance.Brightness(im).enhance(1.15)).enhance(1.3), 90)],
    "grayscale": [("gray", lambda im: im.convert("L"), 90)],
    "text": [("text", _text, 90)],
}


def write_copies(base: Image.Image, folder: Path, stem: str, families: tuple[str, ...]) -> dict[str, Path]:
    """The base as <stem>.png and each copy as <stem>_<name>.jpg; returns {name: path}, "base" included."""
    folder.mkdir(parents=True, exist_ok=True)
    base = base.convert("RGB") if base.mode not in ("RGB", "L") else base
    out = {"base": folder / f"{stem}.png"}
    base.save(out["base"])
    for family in families:
        for name, transform, quality in COPY_TRANSFORMS[family]:
            out[name] = folder / f"{stem}_{name}.jpg"
            transform(base).save(out[name], quality=quality)
    return out
