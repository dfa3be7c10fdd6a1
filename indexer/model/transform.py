"""Image files to model input: open_clip's ViT-g/14 eval transform in numpy and PIL, without torch.

open_clip builds, for ViT-g-14 (resize_mode 'shortest', interpolation 'bicubic'):
Resize(224, BICUBIC) -> CenterCrop(224) -> convert('RGB') -> ToTensor -> Normalize(mean, std).
`resize_crop` and `normalize` reproduce those steps bit for bit (tests/test_preprocess.py:
max abs difference 0 on 34 images of varied size, mode and orientation). `to_rgb` runs first
and does more than open_clip's convert('RGB'): EXIF orientation, alpha composited on white,
16-bit and float data scaled instead of clipped.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .config import PreprocessConfig

Crops = NDArray[np.uint8]  # (n, S, S, 3), RGB
Pixels = NDArray[np.float32]  # (n, 3, S, S), normalised with the model's mean/std


# Beyond this resized long side (aspect ratio over 64:1 at 224) the exact path would allocate
# 224 x (224 * aspect) pixels only to crop 224 x 224 of them; resize just the crop's box instead.
MAX_RESIZED_RATIO = 64
ORIENTATION = 0x0112
# EXIF orientation -> the transpose that shows the image upright (as PIL.ImageOps.exif_transpose).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# What PIL raises on malformed EXIF, or on undecodable image data.
EXIF_ERRORS = (SyntaxError, ValueError, TypeError, KeyError, IndexError, OSError, struct.error)
ALPHA_MODES = {"RGBA", "RGBa", "LA", "PA"}


def _upright(image: Image.Image) -> Image.Image:
    # Transposing directly (not via exif_transpose) skips its full copy of every unrotated image
    # and its re-serialisation of the EXIF block, which is one more place for bad EXIF to raise.
    try:
        method = UPRIGHT.get(image.getexif().get(ORIENTATION, 1))
    except EXIF_ERRORS:
        return image
    if method is None:
        return image
    upright = image.transpose(method)
    # The copy keeps the metadata that says "rotate"; drop it so a second to_rgb does not rotate again.
    for key in ("exif", "xmp", "XML:com.adobe.xmp"):
        upright.info.pop(key, None)
    return upright


def _on_white(image: Image.Image) -> Image.Image:
    # Fully transparent pixels often hold black RGB; CLIP should see the background a viewer shows.
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _to_8bit(a: np.ndarray, bits: int | None) -> NDArray[np.uint8]:
    """Scale (h, w) integer or float data to 0..255: by 2**bits - 1 if given, else by its own range."""
    is_float = a.dtype.kind == "f"
    a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if bits is not None:
        top = float(2**bits - 1)
    elif is_float and lo >= 0 and hi <= 1:
        top = 1.0
    elif lo >= 0:
        top = float(2 ** max(8, int(hi).bit_length()) - 1)  # the bit depth the values actually use
    else:
        a, top = a - lo, max(hi - lo, 1.0)
    return np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8)


def _deep_to_rgb(image: Image.Image) -> Image.Image:
    a = np.asarray(image)
    bits = 16 if image.mode.startswith("I;16") and a.dtype.kind == "u" else None
    return Image.fromarray(_to_8bit(a, bits), "L").convert("RGB")


def to_rgb(image: Image.Image) -> Image.Image:
    """First frame, upright per EXIF, as RGB: alpha on white, 16-bit / 32-bit / float scaled to 8 bits."""
    # Back to the first frame only if moved off it. Pillow numbers a PSD's layers 1..n from `_min_frame` 1
    # and opens it at its flattened composite, reported as frame 1 too: seek(0) is refused there, and
    # seek(1) would give the first layer instead of the picture.
    first = getattr(image, "_min_frame", 0)
    if getattr(image, "n_frames", 1) > 1 and image.tell() != first:
        image.seek(first)
    image = _upright(image)
    mode = image.mode
    if mode == "RGB" and "transparency" not in image.info:
        return image
    if mode == "La":
        image, mode = image.convert("LA"), "LA"
    if mode in ALPHA_MODES or (mode in ("P", "L", "RGB") and "transparency" in image.info):
        return _on_white(image)
    if mode.startswith("I") or mode == "F":
        return _deep_to_rgb(image)
    return image.convert("RGB")  # 1, L, P, CMYK (Adobe inversion handled by PIL), YCbCr, HSV, LAB


def _resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(w, h) after torchvision Resize(size): short side to size, long side truncated as it does."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def crop_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(resized w, resized h, left, top) of Resize(size) then CenterCrop(size) for a width x height image."""
    new_w, new_h = _resized_size(width, height, size)
    # torchvision's centre-crop offsets: Python round(), which rounds halves to even.
    return new_w, new_h, int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))


def resize_crop(image: Image.Image, size: int) -> NDArray[np.uint8]:
    """uint8 (size, size, 3): torchvision Resize(size, BICUBIC) then CenterCrop(size) of an RGB image."""
    if image.mode != "RGB":
        raise ValueError(f"resize_crop needs an RGB image, got mode {image.mode!r}; call to_rgb first")
    width, height = image.size
    new_w, new_h, left, top = crop_geometry(width, height, size)
    if max(new_w, new_h) > MAX_RESIZED_RATIO * size:
        sx, sy = width / new_w, height / new_h
        box = (max(0.0, left * sx), max(0.0, top * sy), min(width, (left + size) * sx), min(height, (top + size) * sy))
        return np.array(image.resize((size, size), Image.Resampling.BICUBIC, box=box))
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
    return np.array(image.crop((left, top, left + size, top + size)))  # writable copy


def normalize(batch: Crops, pre: PreprocessConfig) -> Pixels:
    """float32 (n, 3, S, S) from uint8 (n, S, S, 3): x / 255, then (x - mean) / std, as ToTensor + Normalize."""
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] != 3:
        raise ValueError(f"batch must be uint8 (n, S, S, 3), got {batch.dtype} {batch.shape}")
    x = batch.transpose(0, 3, 1, 2).astype(np.float32, order="C")
    x /= np.float32(255)
    x -= np.asarray(pre.mean, np.float32)[:, None, None]
    x /= np.asarray(pre.std, np.float32)[:, None, None]
    return x


def preprocess(images: Sequence[Image.Image], pre: PreprocessConfig) -> Pixels:
    """float32 (n, 3, S, S) model input for n PIL images of any mode, size and orientation."""
    if not images:
        return np.zeros((0, 3, pre.size, pre.size), np.float32)
    return normalize(np.stack([resize_crop(to_rgb(im), pre.size) for im in images]), pre)
