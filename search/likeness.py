"""How alike two images' pixels are: the near-identical tier's decision on a candidate pair.

A pHash looks at grey levels only, so two different pictures with one layout (a purple star on white, a red
star on orange: equal grey levels) come out close. Each image is read once into a `Print`: its 256-bit
pHash in the eight flips and quarter turns of the picture (the dihedral group), and small colour
thumbnails at three centre zooms (for crops up to 10%). A pair is compared under every flip/turn and zoom:
- bits: the fewest differing bits of the 256-bit pHashes (grey-level structure at 64 x 64);
- changed: the share of the picture that differs in colour in a solid patch, after one gain and offset
  for all channels (brightness and contrast) is fitted. A copy's differences are thin (edges blurred or
  shifted by a resize, JPEG ringing) and vanish under a 3 x 3 erosion; a different shape or colour is a
  patch that survives it. The outer eighth of each side is not compared: captions, watermarks and
  timestamps sit there.
A picture under SMALL_SIDE pixels (a quarter-size copy of a small image) holds none of the detail the
256-bit hash and the 32 x 32 colours look at, so a pair with one is compared at its scale: the 64-bit
pHash (the hash's lowest 8 x 8 frequencies, counted four times to stay in bits of 256) and colours on
an 8 x 8 grid where no cell may differ by more than SMALL_STEP; upright only, since eight turns of so few
bits find coincidences.
bench/dedup_quality.py measures the thresholds (search.dedup's defaults) per transform family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from PIL import Image, ImageOps
from scipy import ndimage

from indexer import ImageError
from indexer.model import to_rgb
from indexer.sources import guarded, open_image, open_source

FINE_HASH_SIZE = 16  # 16 x 16 = 256-bit pHash
COARSE_HASH_SIZE = 8  # 8 x 8 = 64 bits: the frequencies a picture of SMALL_SIDE pixels still holds
# A picture is first reduced to this shorter side (JPEGs decoded at >= it): everything after looks at 64 px or
# less of it, and reading the print of each image of a library is most of what dedup costs.
WORKING_SIDE = 128
THUMB = 32  # colour thumbnails are THUMB x THUMB
SMALL_GRID = 8  # a small pair's colours are compared on SMALL_GRID x SMALL_GRID cells
ZOOMS = (1.0, 0.95, 0.9)  # centre crops kept of each thumbnail's image
ZOOM_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 0), (2, 0))  # (zoom of a, zoom of b) tried
ZOOMS_A, ZOOMS_B = (np.array(z) for z in zip(*ZOOM_PAIRS, strict=True))
INNER = 1 - 2 / 8  # the share of each side compared
COLOUR_STEP = 30.0  # a pixel differs when its RMS channel residual exceeds this (0-255 scale)
# The 256-bit hash covers 7.5 cycles across the compared three quarters of a side, which a picture needs
# about 32 pixels for: bench/dedup_quality.py's half-size copies of its smallest shapes (32 px) still pass.
SMALL_SIDE = 32
# A cell of a small pair differs past this: on bench/dedup_quality.py's tuning set the worst cell of a
# quarter-size copy against its original was 68, of distinct small pairs within the hash threshold 74 or more.
SMALL_STEP = 71.0
GAIN = (0.75, 1.33)  # brightness/contrast change allowed by the fit
OFFSET = 60.0
# Turn k: k // 2 quarter turns counter-clockwise, then mirrored when k is odd.
TURNS = ("as is", "mirrored", "turned 90", "turned 90 and mirrored", "turned 180", "flipped upside down")
TURNS += ("turned 270", "turned 270 and mirrored")


@dataclass(frozen=True)
class Print:
    """What the check needs of one image, all of the picture without its outer eighth: the 256-bit pHash
    per zoom and turn, packed (zooms, 8, 32), its 64-bit coarse part per zoom, packed (zooms, 8), and colour
    thumbnails (zooms, T, T, 3); side: the picture's shorter side in pixels as read (a JPEG is read at no
    less than WORKING_SIDE)."""

    fine: NDArray[np.uint8]
    coarse: NDArray[np.uint8]
    thumbs: NDArray[np.uint8]
    side: int


@dataclass(frozen=True)
class Likeness:
    bits: int  # fewest differing bits of 256 over the turns
    upright_bits: int  # fewest differing bits of 256 with neither side turned (zooms only)
    changed: float  # share of the compared area differing in solid patches, at the best turn and zoom
    turn: int  # index into TURNS of that best turn


def turned(a: np.ndarray, k: int) -> np.ndarray:
    """Turn k (see TURNS) of an image array whose last three axes are (rows, columns, channels)."""
    out = np.rot90(a, k // 2, axes=(-3, -2))
    return out[..., ::-1, :] if k % 2 else out


def read_print(path: str) -> Print | None:
    """The Print of the upright image at path, or None when it cannot be read now."""
    try:
        with guarded(path), open_image(open_source(path), draft_size=WORKING_SIDE) as image:
            rgb = to_rgb(image)
            rgb.load()
    except ImageError:
        return None
    return make_print(rgb)


def make_print(rgb: Image.Image) -> Print:
    """The Print of an RGB image."""
    side = min(rgb.size)
    if side > WORKING_SIDE:
        scale = WORKING_SIDE / side
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BOX)
    fine, coarse, thumbs = [], [], []
    for zoom in ZOOMS:
        image = _zoomed(rgb, zoom)
        thumbs.append(np.asarray(image.resize((THUMB, THUMB), Image.Resampling.BOX)))
        grey = np.asarray(ImageOps.grayscale(_zoomed(image, INNER)).resize((64, 64), Image.Resampling.LANCZOS))
        dct = [_dct(turned(grey[..., None], k)[..., 0]) for k in range(8)]
        fine.append([_bits(c, FINE_HASH_SIZE) for c in dct])
        coarse.append(_bits(dct[0], COARSE_HASH_SIZE))
    return Print(np.array(fine), np.array(coarse), np.stack(thumbs), side)


def _dct(grey: np.ndarray) -> np.ndarray:
    return scipy.fft.dct(scipy.fft.dct(grey.astype(np.float64), axis=0), axis=1)


def _bits(dct: np.ndarray, size: int) -> NDArray[np.uint8]:
    """pHash of the lowest size x size frequencies, packed: each above their median (imagehash.phash's rule)."""
    low = dct[:size, :size]
    return np.packbits(low > np.median(low))


def _zoomed(image: Image.Image, keep: float) -> Image.Image:
    w, h = image.size
    dx, dy = round(w * (1 - keep) / 2), round(h * (1 - keep) / 2)
    return image.crop((dx, dy, w - dx, h - dy)) if dx or dy else image


def compare(a: Print, b: Print, max_bits: int = 256) -> Likeness:
    """How alike a and b are, under the best turn of b; past max_bits the colours are not compared (changed 1)."""
    if min(a.side, b.side) < SMALL_SIDE:
        return _compare_small(a, b, max_bits)
    per_turn = _differ(a.fine[ZOOMS_A, :1], b.fine[ZOOMS_B]).min(axis=0)  # (zoom pairs, 8) -> (8,)
    bits, upright = int(per_turn.min()), int(per_turn[0])
    if bits > max_bits:
        return Likeness(bits, upright, 1.0, 0)
    inner = slice(THUMB // 8, THUMB - THUMB // 8)
    xa = np.stack([a.thumbs[za] for za, _ in ZOOM_PAIRS])[:, None, inner, inner]  # (z, 1, s, s, 3)
    xb = np.stack([np.stack([turned(b.thumbs[zb], k) for k in range(8)]) for _, zb in ZOOM_PAIRS])
    residual = _residual(xa, xb[:, :, inner, inner])  # (z, 8, s, s)
    z, k = np.unravel_index(residual.mean(axis=(2, 3)).argmin(), residual.shape[:2])
    patches = ndimage.binary_erosion(residual[z, k] > COLOUR_STEP, np.ones((3, 3), bool))
    return Likeness(bits, upright, float(patches.mean()), int(k))


def _compare_small(a: Print, b: Print, max_bits: int) -> Likeness:
    """compare() for a pair with a picture under SMALL_SIDE: upright, coarse hash, colours on the small grid."""
    scale = FINE_HASH_SIZE**2 // COARSE_HASH_SIZE**2  # in bits of 256, like the fine hash
    bits = scale * int(_differ(a.coarse[ZOOMS_A], b.coarse[ZOOMS_B]).min())
    if bits > max_bits:
        return Likeness(bits, bits, 1.0, 0)
    cells = slice(SMALL_GRID // 8, SMALL_GRID - SMALL_GRID // 8)
    xa = np.stack([_cells(a.thumbs[za]) for za, _ in ZOOM_PAIRS])[:, cells, cells]
    xb = np.stack([_cells(b.thumbs[zb]) for _, zb in ZOOM_PAIRS])[:, cells, cells]
    residual = _residual(xa, xb)  # (z, s, s)
    worst = residual[residual.mean(axis=(1, 2)).argmin()]
    return Likeness(bits, bits, float((worst > SMALL_STEP).mean()), 0)


def _differ(x: NDArray[np.uint8], y: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Differing bits of packed hashes along the last axis (broadcast over the others)."""
    return np.unpackbits(x ^ y, axis=-1).sum(axis=-1, dtype=np.int64)


def _cells(thumb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """A (T, T, 3) thumbnail averaged over SMALL_GRID x SMALL_GRID cells."""
    n = THUMB // SMALL_GRID
    return thumb.reshape(SMALL_GRID, n, SMALL_GRID, n, 3).mean(axis=(1, 3), dtype=np.float32)


def _residual(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """RMS over channels of xa - (g * xb + c), g and c (one each per map) fitted by least squares and clipped."""
    xa, xb = np.broadcast_arrays(np.asarray(xa, np.float32), np.asarray(xb, np.float32))
    axes = (-3, -2, -1)
    ma, mb = xa.mean(axis=axes, keepdims=True), xb.mean(axis=axes, keepdims=True)
    var = ((xb - mb) ** 2).sum(axis=axes, keepdims=True)
    gain = np.clip(((xa - ma) * (xb - mb)).sum(axis=axes, keepdims=True) / (var + 1e-6), *GAIN)
    offset = np.clip(ma - gain * mb, -OFFSET, OFFSET)
    return np.sqrt(((xa - gain * xb - offset) ** 2).mean(axis=-1))
