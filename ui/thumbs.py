"""Small cached thumbnails and bounded previews of library files; only files inside the library's roots."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from PIL import Image

from indexer import ImageError, PixseekError
from indexer.model import to_rgb
from indexer.sources import guarded, member_address, open_image, open_source, source_stat, split_address

THUMB_SIDE = 256  # pixels, long side: a 50-result page is about 50 x 10 KB
PREVIEW_SIDE = 1600  # the "open" view: enough for a screen, never a full 50 MP decode into the page
THUMBS = "thumbs"


class NotServable(PixseekError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path}: not inside this library's folders; the UI shows only indexed folders")


def inside_roots(path: str | Path, roots: tuple[str, ...]) -> Path:
    """The resolved path, if it lies inside one of the roots (symbolic links resolved first); else NotServable.

    A tar shard member (`<tar>::<member>`) is inside when its tar is."""
    parts = split_address(path)
    resolved = Path(parts[0] if parts else path).resolve()
    if not any(resolved.is_relative_to(Path(root).resolve()) for root in roots):
        raise NotServable(str(path))
    return Path(member_address(resolved, parts[1])) if parts else resolved


def _scaled(path: Path, side: int) -> Image.Image:
    """The image upright (EXIF), RGB, its long side at most `side`; decoded within the indexer's limits."""
    with guarded(str(path)):
        image = to_rgb(open_image(open_source(path), draft_size=side))
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def thumbnail(library: Path, path: Path, side: int = THUMB_SIDE) -> Path:
    """A JPEG thumbnail of `path` (a file or a tar member) under <library>/thumbs, made once per (path, size, mtime)."""
    try:
        stat = source_stat(path)  # a tar member's: its tar's
    except OSError as exc:
        raise ImageError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    key = hashlib.sha1(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{side}".encode()).hexdigest()
    out = library / THUMBS / key[:2] / f"{key}.jpg"
    if out.is_file():
        return out
    image = _scaled(path, side)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        image.save(fh, "JPEG", quality=82)
    os.replace(tmp, out)  # concurrent sessions may race to make the same thumbnail; each rename is whole
    return out


def preview(path: Path, side: int = PREVIEW_SIDE) -> Image.Image:
    """The image for the full view: upright, at most `side` pixels on its long side."""
    return _scaled(path, side)
