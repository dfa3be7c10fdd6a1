"""Opening an image file: the formats Pillow (and pillow-heif) read, within pixel limits, with one-line reasons."""

from __future__ import annotations

import os
import re
import struct
from typing import BinaryIO

import pillow_heif
from PIL import Image, UnidentifiedImageError

from indexer.errors import ImageError, ImageTooLarge

pillow_heif.register_heif_opener()


if hasattr(pillow_heif, "register_avif_opener"):  # older pillow-heif; Pillow >= 11.2 reads AVIF itself
    pillow_heif.register_avif_opener()


# PIL's own decompression-bomb threshold, so both checks agree by default.
MAX_PIXELS = 89_478_485


# RuntimeError (the AVIF and HEIF decoders) and TypeError (TIFF: "Missing dimensions") are how some decoders
# say the data is corrupt: both found by bench/fuzz.py.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, RuntimeError, TypeError, struct.error)


def _name(source: str | os.PathLike | BinaryIO) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _reason(exc: BaseException) -> str:
    """One line saying why PIL could not read a file, without repeating its path."""
    if isinstance(exc, UnidentifiedImageError):
        return "not a recognised image format"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read ({exc.strerror})"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"cannot decode ({text})"


def _bomb_pixels(exc: BaseException) -> int:
    # PIL's message is the only place its decompression-bomb check states the pixel count.
    found = re.search(r"\((\d+) pixels\)", str(exc))
    return int(found.group(1)) if found else 0


def _open(source: str | os.PathLike | BinaryIO, where: str, max_pixels: int) -> Image.Image:
    # PIL checks its own limit inside open(): above 2 * MAX_IMAGE_PIXELS it raises, above
    # MAX_IMAGE_PIXELS it warns (an exception too where warnings are errors).
    try:
        return Image.open(source)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(where, _bomb_pixels(exc), min(max_pixels, 2 * Image.MAX_IMAGE_PIXELS)) from exc
    except Image.DecompressionBombWarning as exc:
        raise ImageTooLarge(where, _bomb_pixels(exc), min(max_pixels, Image.MAX_IMAGE_PIXELS)) from exc
    except DECODE_ERRORS as exc:
        raise ImageError(where, _reason(exc)) from exc


def open_image(
    source: str | os.PathLike | BinaryIO, *, draft_size: int | None = None, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Decoded first frame of an image file; JPEGs shrunk by DCT scaling while the short side stays >= draft_size.

    Raises ImageTooLarge (from the header, before decoding) above max_pixels, ImageError when unreadable.
    """
    where = _name(source)
    image = _open(source, where, max_pixels)
    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise ImageTooLarge(where, pixels, max_pixels)
    try:
        if draft_size and image.format in ("JPEG", "MPO"):
            # PIL picks the largest scale 1/2, 1/4 or 1/8 that keeps both sides >= draft_size.
            image.draft("RGB", (draft_size, draft_size))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Containers (ICNS, ICO, MPO) learn a frame's real size only when it loads, past the header check.
        image.close()
        raise ImageTooLarge(where, _bomb_pixels(exc), min(max_pixels, Image.MAX_IMAGE_PIXELS)) from exc
    except DECODE_ERRORS as exc:
        image.close()
        raise ImageError(where, _reason(exc)) from exc
    return image
