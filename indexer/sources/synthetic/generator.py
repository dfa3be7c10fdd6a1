"""A deterministic synthetic captioned image set: coloured shapes on plain or textured backgrounds.

    python tools/make_shapes.py OUT_DIR --n 1000 --seed 7    # writes 00000.png/.jpg ... and captions.jsonl

Every sample is a pure function of (seed, index), so a set can be made lazily or in parallel, and a
seed never used in training gives a held-out evaluation set. Captions are built from the shapes as
placed, so every colour, kind, size, count, position and background word in them is true. Shapes
stay inside the central square of the image (CLIP preprocessing resizes the short side and centre-
crops), with positions named on a 3x3 grid of that square.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .captions import caption
from .vocabulary import COLOURS, KINDS, POSITIONS, RGB, SIZES, TEXTURES, Sample, Shape

Bound = tuple[float, float, float]  # a placed shape's centre x, y and circumradius, as fractions of the square


SIDE_RANGE = (64, 160)  # pixels, both width and height
ASPECT_RANGE = (0.6, 1.7)  # width / height
JPEG_QUALITY_RANGE = (30, 90)
MAX_ROTATION = 10.0  # degrees
EXTENT = 0.58  # half-extent / width that bounds every kind along x and y, upright or rotated by MAX_ROTATION
REACH = {"circle": 0.5, "square": 0.71, "triangle": 0.58, "star": 0.53}  # circumradius / width, for overlaps
EDGE_MARGIN = 0.01  # fractions of the short side
CELL_MARGIN = 0.04  # keeps centres off grid lines, so the position word is unambiguous
GAP = 0.03  # between the bounds of two shapes


@dataclass(frozen=True)
class _Placed:
    """A shape with its geometry in the final image: centre (x, y) and width, in pixels."""

    shape: Shape
    x: float
    y: float
    width: float


def _image_size(rng: np.random.Generator) -> tuple[int, int]:
    """Return (width, height) in SIDE_RANGE with aspect in ASPECT_RANGE; one in five is square."""
    lo, hi = SIDE_RANGE
    if rng.random() < 0.2:
        side = int(rng.integers(lo, hi + 1))
        return side, side
    aspect = math.exp(rng.uniform(math.log(ASPECT_RANGE[0]), math.log(ASPECT_RANGE[1])))
    height = int(rng.integers(lo, int(min(hi, hi / aspect)) + 1))
    width = int(np.clip(round(height * aspect), lo, hi))
    return width, height


def _draft_shapes(rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """Return 1-3 (kind, colour, size); repeats of one colour and kind are common, to teach counts."""
    n = int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))
    same_size = rng.random() < 0.7
    size = str(rng.choice(list(SIZES)))
    drafts: list[tuple[str, str, str]] = []
    for _ in range(n):
        repeat = drafts and rng.random() < 0.45
        kind, colour = drafts[-1][:2] if repeat else (str(rng.choice(KINDS)), str(rng.choice(list(COLOURS))))
        drafts.append((kind, colour, size if same_size else str(rng.choice(list(SIZES)))))
    return drafts


def _cell_range(cell: int, half: float) -> tuple[float, float]:
    """Return the (lo, hi) centre coordinates, as fractions of the square, inside grid cell 0-2."""
    lo = max(cell / 3 + (CELL_MARGIN if cell else 0), half + EDGE_MARGIN)
    hi = min((cell + 1) / 3 - (CELL_MARGIN if cell < 2 else 0), 1 - half - EDGE_MARGIN)
    return lo, hi


def _try_spot(rng: np.random.Generator, kind: str, width: float, taken: list[Bound]) -> tuple[float, float, int] | None:
    """Return (x, y, cell index) in unit-square fractions for a shape of this width, or None."""
    half, reach = EXTENT * width, REACH[kind] * width
    cell = int(rng.integers(9))
    (x_lo, x_hi), (y_lo, y_hi) = _cell_range(cell % 3, half), _cell_range(cell // 3, half)
    if x_lo > x_hi or y_lo > y_hi:
        return None
    x, y = rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)
    if any(math.hypot(x - tx, y - ty) < reach + t_reach + GAP for tx, ty, t_reach in taken):
        return None
    return x, y, cell


def _place(
    rng: np.random.Generator, drafts: list[tuple[str, str, str]], box: tuple[float, float, float]
) -> list[_Placed]:
    """Return _Placed shapes inside the square box (left, top, side), not overlapping."""
    left, top, side = box
    taken: list[Bound] = []
    placed = []
    for kind, colour, size in drafts:
        for attempt in range(1000):
            # Three large shapes do not always fit; after 30 tries this one becomes small.
            size = "small" if attempt >= 30 else size
            width = rng.uniform(*SIZES[size])
            spot = _try_spot(rng, kind, width, taken)
            if spot is not None:
                break
        else:
            raise RuntimeError("no free spot for a small shape")  # unreachable: the corners always fit
        x, y, cell = spot
        taken.append((x, y, REACH[kind] * width))
        shape = Shape(kind, colour, size, POSITIONS[cell])
        placed.append(_Placed(shape, left + x * side, top + y * side, width * side))
    return placed


def _shade(rgb: RGB, amount: int) -> RGB:
    """Return the colour moved by `amount` towards mid grey, so white and black stay recognisable."""
    sign = -1 if sum(rgb) > 3 * 128 else 1
    return tuple(int(np.clip(c + sign * amount, 0, 255)) for c in rgb)  # type: ignore[return-value]


def _background(rng: np.random.Generator, size: tuple[int, int], rgb: RGB, texture: str | None) -> Image.Image:
    """Return a plain or textured canvas; textures keep the hue and stay within 35 levels of rgb."""
    if texture is None:
        return Image.new("RGB", size, rgb)
    w, h = size
    base = np.asarray(rgb, np.int16)
    if texture == "noise":
        pixels = base + rng.integers(-18, 19, (h, w, 1), dtype=np.int16)
    elif texture == "stripes":
        period, angle = int(rng.integers(6, 17)), rng.uniform(0, math.pi)
        t = np.add.outer(np.arange(h) * math.sin(angle), np.arange(w) * math.cos(angle))
        pixels = np.where(((t // (period / 2)) % 2 == 1)[..., None], np.asarray(_shade(rgb, 35), np.int16), base)
    else:
        angle = rng.uniform(0, 2 * math.pi)
        t = np.add.outer(np.arange(h) * math.sin(angle), np.arange(w) * math.cos(angle))
        t = (t - t.min()) / max(np.ptp(t), 1.0)
        pixels = base + (np.asarray(_shade(rgb, 35), np.int16) - base) * t[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _star(x: float, y: float, outer: float) -> list[tuple[float, float]]:
    """Return the 10 vertices of an upright five-pointed star centred at (x, y)."""
    radii = [outer, 0.42 * outer] * 5
    return [(x + r * math.sin(i * math.pi / 5), y - r * math.cos(i * math.pi / 5)) for i, r in enumerate(radii)]


def _draw(draw: ImageDraw.ImageDraw, kind: str, x: float, y: float, width: float, fill: RGB) -> None:
    """Draw one upright shape of this width (pixels) centred at (x, y)."""
    half = width / 2
    if kind == "circle":
        draw.ellipse((x - half, y - half, x + half, y + half), fill=fill)
    elif kind == "square":
        draw.rectangle((x - half, y - half, x + half, y + half), fill=fill)
    elif kind == "triangle":
        # Equilateral, pointing up, centred on its centroid.
        draw.polygon(
            [(x, y - width / math.sqrt(3)), (x + half, y + half / math.sqrt(3)), (x - half, y + half / math.sqrt(3))],
            fill=fill,
        )
    else:
        draw.polygon(_star(x, y, width / (2 * math.sin(2 * math.pi / 5))), fill=fill)


def _render(
    rng: np.random.Generator,
    size: tuple[int, int],
    placed: list[_Placed],
    bg: str,
    texture: str | None,
    rotation: float,
) -> Image.Image:
    """Return the scene as an image of `size`; rotated scenes are drawn on a padded canvas first."""
    w, h = size
    pad = math.ceil(0.13 * max(w, h)) + 1 if rotation else 0  # covers the corners a 10 degree turn brings in
    canvas = _background(rng, (w + 2 * pad, h + 2 * pad), COLOURS[bg], texture)
    draw = ImageDraw.Draw(canvas)
    for p in placed:
        x, y = _unrotate(p.x - w / 2, p.y - h / 2, rotation)
        _draw(draw, p.shape.kind, x + pad + w / 2, y + pad + h / 2, p.width, COLOURS[p.shape.colour])
    if not rotation:
        return canvas
    turned = canvas.rotate(rotation, resample=Image.Resampling.BILINEAR, fillcolor=COLOURS[bg])
    return turned.crop((pad, pad, pad + w, pad + h))


def _unrotate(dx: float, dy: float, degrees: float) -> tuple[float, float]:
    """Return where an offset from the centre must be drawn so that Image.rotate(degrees) moves it to (dx, dy)."""
    # Image.rotate turns counter-clockwise on screen, i.e. clockwise in y-down maths; undo that.
    a = math.radians(degrees)
    return dx * math.cos(a) - dy * math.sin(a), dx * math.sin(a) + dy * math.cos(a)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Return the image after a JPEG round trip at this quality."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    decoded = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    decoded.info.clear()  # keep only pixels, so equal samples compare equal whatever the encoder wrote
    return decoded


def sample(index: int, seed: int) -> Sample:
    """Return sample `index` of the set made from `seed`; independent of every other index."""
    rng = np.random.default_rng([seed, index])
    size = _image_size(rng)
    side = min(size)
    placed = _place(rng, _draft_shapes(rng), ((size[0] - side) / 2, (size[1] - side) / 2, side))
    shapes = tuple(p.shape for p in placed)
    background = str(rng.choice([c for c in COLOURS if c not in {s.colour for s in shapes}]))
    texture = str(rng.choice(TEXTURES)) if rng.random() < 0.5 else None
    rotation = round(float(rng.uniform(-MAX_ROTATION, MAX_ROTATION)), 2) if rng.random() < 0.3 else 0.0
    quality = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1)) if rng.random() < 0.3 else None
    image = _render(rng, size, placed, background, texture, rotation)
    image = _jpeg(image, quality) if quality is not None else image
    text = caption(shapes, background, rng)
    boxes = tuple((p.x, p.y, p.width) for p in placed)
    return Sample(image, text, shapes, background, texture is not None, quality, rotation, boxes)


def generate(n: int, seed: int) -> list[Sample]:
    """Return samples 0..n-1 of the set made from `seed`."""
    return [sample(i, seed) for i in range(n)]


def write(s: Sample, out_dir: Path, index: int) -> dict:
    """Write the image as NNNNN.png, or NNNNN.jpg at its JPEG quality; return its captions.jsonl record."""
    # A JPEG sample is re-encoded at its own quality: close to, not bit-identical with, sample.image.
    name = f"{index:05d}." + ("jpg" if s.jpeg_quality else "png")
    s.image.save(out_dir / name, **({"quality": s.jpeg_quality} if s.jpeg_quality else {}))
    return {"file": name, **_record(s)}


def _record(s: Sample) -> dict:
    """Return the sample's ground truth as JSON-ready values."""
    shapes = [{"kind": t.kind, "colour": t.colour, "size": t.size, "position": t.position} for t in s.shapes]
    return {
        "caption": s.caption,
        "background": s.background,
        "textured": s.textured,
        "jpeg_quality": s.jpeg_quality,
        "rotation": s.rotation,
        "shapes": shapes,
    }
