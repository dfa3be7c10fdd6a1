"""One image file to what the index needs: content hash, metadata (EXIF), perceptual hash and model crop.

The file's bytes are read once; the hash and the decode both use them, so a file that changes
while it is read cannot get the hash of one version and the pixels of another.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageOps

from indexer.errors import ImageError
from indexer.model import EXIF_ERRORS, resize_crop, to_rgb

from .guard import TimeUp, guarded, time_limit
from .images import DECODE_ERRORS, MAX_PIXELS, open_image
from .tars import read_source

# PIL logs some refusals at ERROR ("More samples per pixel than can be decoded"); with no handler configured,
# Python prints them on stderr, which `pixseek index` keeps for its skipping lines. The refusal itself
# reaches the catalog as the file's reason. An application that configures logging still sees them.
logging.getLogger("PIL").addHandler(logging.NullHandler())

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
TAG_MAKE, TAG_MODEL, TAG_DATETIME, TAG_ORIENTATION = 0x010F, 0x0110, 0x0132, 0x0112
TAG_DATETIME_ORIGINAL = 0x9003


@dataclass(frozen=True)
class ImageMeta:
    width: int  # upright, full resolution
    height: int
    format: str
    taken_at: datetime | None
    camera_make: str | None
    camera_model: str | None
    gps_lat: float | None
    gps_lon: float | None
    orientation: int | None
    phash: str  # 64-bit pHash of the upright image, 16 hex digits


@dataclass(frozen=True)
class Decoded:
    content_hash: str  # sha256 of the file's bytes
    size: int  # bytes
    meta: ImageMeta
    crop: np.ndarray  # uint8 (S, S, 3): the model's input before normalisation


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip() if value is not None else ""
    return text or None


def _datetime(value) -> datetime | None:
    text = _text(value)
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S") if text else None
    except ValueError:
        return None  # cameras write "0000:00:00 00:00:00" and worse


def _degrees(dms, ref) -> float | None:
    try:
        value = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    return -value if _text(ref) in ("S", "W") else value


def exif_fields(image: Image.Image) -> dict:
    try:
        exif = image.getexif()
        sub, gps = exif.get_ifd(EXIF_IFD), exif.get_ifd(GPS_IFD)
    except EXIF_ERRORS:
        return {}
    orientation = exif.get(TAG_ORIENTATION)
    return {
        "taken_at": _datetime(sub.get(TAG_DATETIME_ORIGINAL) or exif.get(TAG_DATETIME)),
        "camera_make": _text(exif.get(TAG_MAKE)),
        "camera_model": _text(exif.get(TAG_MODEL)),
        "gps_lat": _degrees(gps.get(2), gps.get(1)) if gps else None,
        "gps_lon": _degrees(gps.get(4), gps.get(3)) if gps else None,
        "orientation": orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None,
    }


def _meta(head: Image.Image, upright: Image.Image, turned: bool) -> ImageMeta:
    """`turned`: whether making the decoded pixels upright swapped their width and height. That, not the
    orientation tag, says whether the header's size is the displayed one: Pillow's TIFF reader and
    pillow-heif turn the image themselves and report the turned size."""
    fields = exif_fields(head)
    width, height = head.size
    if turned:
        width, height = height, width
    phash = str(imagehash.phash(ImageOps.grayscale(upright)))
    defaults = dict.fromkeys(("taken_at", "camera_make", "camera_model", "gps_lat", "gps_lon", "orientation"))
    return ImageMeta(width=width, height=height, format=head.format or "unknown", phash=phash, **{**defaults, **fields})


def decode_bytes(
    data: bytes, where: str, size: int, *, draft: bool = True, max_pixels: int = MAX_PIXELS, digest: str | None = None
) -> Decoded:
    """Hash, metadata and model crop (size x size) of one image file's bytes (`digest`: their sha256, if known)."""
    digest = digest or hashlib.sha256(data).hexdigest()
    with guarded(where):  # the pixel limit is checked again without PIL's warning
        return _decode(data, where, size, draft, max_pixels, digest)


def _decode(data: bytes, where: str, size: int, draft: bool, max_pixels: int, digest: str) -> Decoded:
    try:
        head = Image.open(io.BytesIO(data))  # header only: full size and EXIF before any draft scaling
    except (*DECODE_ERRORS, Image.DecompressionBombError, Image.DecompressionBombWarning):
        head = None  # open_image below raises the error that names the problem
    stream = io.BytesIO(data)
    stream.name = where  # errors raised while opening name the file, not "<stream>"
    image = open_image(stream, draft_size=2 * size if draft else None, max_pixels=max_pixels)
    try:
        upright = to_rgb(image)
        crop = resize_crop(upright, size)
        meta = _meta(head or image, upright, turned=upright.size != image.size)
    except DECODE_ERRORS as exc:
        raise ImageError(where, f"cannot decode ({' '.join(str(exc).split())})") from exc
    return Decoded(content_hash=digest, size=len(data), meta=meta, crop=crop)


def decode_file(
    path: str | Path, size: int, *, draft: bool = True, max_pixels: int = MAX_PIXELS, seconds: float = 60.0
) -> Decoded:
    """decode_bytes of a file, or of a tar shard member (`<tar>::<member>`), read once; ImageError (with the
    path) on any failure, and when reading and decoding take over `seconds` (in the main thread; 0: no limit),
    the indexer's --file-time-limit default."""
    try:
        with time_limit(seconds):
            return decode_bytes(read_source(path), str(path), size, draft=draft, max_pixels=max_pixels)
    except TimeUp:
        raise ImageError(str(path), f"took over {seconds:g} s to read and decode") from None
