"""WebDataset tar shards as input: list a shard's image samples, read one member's bytes.

A tar member is addressed as `<tar path>::<member name>`, e.g. `/data/shard-00000.tar::000123.jpg`. In
the catalog its relpath is `<tar relpath>::<member name>` under its root, so the paths that search,
thumbnails, export and `--image` take are these addresses, and `read_source` opens them like files.

Samples are grouped by key as WebDataset does (img2dataset, LAION): the member name up to the first dot
of its last component, so 000123.jpg, 000123.txt and 000123.json are one sample. The image member is
indexed; the .txt becomes its caption and the .json its sample metadata; other members are not indexed.

Hand-written on tarfile rather than webdataset's iterators: those stream every member's bytes in order,
while indexing needs each image member's offset (reader workers read only the members to (re)index, and
one catalog path opens one member alone); and importing webdataset costs seconds (it imports torch) in
every reader process. Only uncompressed tars: offsets must be seekable.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from indexer.errors import ImageError, PixseekError

from .files import IMAGE_EXTENSIONS, read_bytes

MEMBER_SEP = "::"
TAR_SUFFIX = ".tar"
CAPTION_EXTS = ("txt", "caption")  # WebDataset's caption keys (img2dataset writes .txt)
SIDECAR_BYTES = 1 << 20  # a caption or .json larger than this is not kept
RESYNC_LIMIT = 64 << 20  # bytes searched for the next valid header after a corrupt one
# WebDataset's key rule (webdataset.tariterators.base_plus_ext): key = up to the first dot of the last part.
_KEY = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")


class InsideShard(PixseekError):
    """An action that moves, links or deletes a file was asked of a member of a tar shard."""

    def __init__(self, path: str, action: str):
        self.path, self.action = path, action
        super().__init__(f"{path}: a member of a tar shard; cannot {action} it (export the subset instead)")


@dataclass(frozen=True)
class Member:
    """One image member of a shard, with its sample's caption and metadata."""

    name: str
    offset: int  # byte offset of its data in the tar
    size: int  # bytes
    caption: str | None = None
    meta: dict | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Listing:
    members: list[Member]  # image members, in tar order
    error: str | None = None  # why part of the tar could not be read (the members found are still listed)


def is_shard(name: str) -> bool:
    return name.lower().endswith(TAR_SUFFIX)


def member_address(tar: str | Path, member: str) -> str:
    """`<tar>::<member>`: the catalog path of one member."""
    return f"{tar}{MEMBER_SEP}{member}"


def split_address(path: str | Path) -> tuple[str, str] | None:
    """(tar path, member name) of a member address; None for a plain path."""
    head, sep, member = str(path).partition(TAR_SUFFIX + MEMBER_SEP)
    return (head + TAR_SUFFIX, member) if sep and member else None


def list_shard(path: Path, image_exts: frozenset[str]) -> Listing:
    """The image members of the tar at path; a corrupt stretch is skipped to the next valid header and reported."""
    samples: dict[str, dict] = {}
    images: list[tuple[str, tarfile.TarInfo]] = []
    try:
        with open(path, "rb") as fh:
            error = _walk(fh, os.fstat(fh.fileno()).st_size, image_exts, samples, images)
    except OSError as exc:
        return Listing([], f"cannot read the tar ({exc.strerror or exc})")
    members = [_member(info, samples.get(key, {})) for key, info in images]
    return Listing(members, error)


def _walk(fh, size: int, image_exts: frozenset[str], samples: dict, images: list) -> str | None:
    """Read every header from the start, resyncing after a corrupt one; returns the first problem met."""
    start, error = 0, None
    while start is not None:
        fh.seek(start)
        end, problem = _read_members(fh, start, image_exts, samples, images)
        # Past the end of the file: the last member is cut short, which reading it reports (one error, not two).
        if (problem is None or end >= size) and _zero_or_end(fh, end, size):
            return error
        error = error or f"corrupt tar at byte {end}: {problem or 'invalid header'}; later members read after it"
        start = _resync(fh, end + tarfile.BLOCKSIZE, size)
    return error


def _read_members(fh, start: int, image_exts: frozenset[str], samples: dict, images: list) -> tuple[int, str | None]:
    """Members from `start` (fh is there) until tarfile stops; (offset where it stopped, its error or None)."""
    tar = None
    try:
        tar = tarfile.open(fileobj=fh, mode="r:")
        for info in tar:
            _take(tar, info, image_exts, samples, images)
    except (tarfile.TarError, EOFError, OSError) as exc:
        return (tar.offset if tar else start), " ".join(str(exc).split())
    return tar.offset, None


def _take(tar: tarfile.TarFile, info: tarfile.TarInfo, image_exts: frozenset[str], samples: dict, images: list):
    match = _KEY.match(info.name) if info.isfile() else None
    if match is None:
        return
    key, ext = match.group(1), match.group(2).lower()
    if "." + ext.rsplit(".", 1)[-1] in image_exts:
        images.append((key, info))
    elif ext in (*CAPTION_EXTS, "json") and info.size <= SIDECAR_BYTES:
        samples.setdefault(key, {})[ext] = tar.extractfile(info).read()


def _zero_or_end(fh, offset: int, size: int) -> bool:
    """Whether the tar ended cleanly at offset: the end of the file, or an end-of-archive (zero) block."""
    if offset >= size:
        return True
    fh.seek(offset)
    return fh.read(tarfile.BLOCKSIZE).count(0) == tarfile.BLOCKSIZE


def _resync(fh, offset: int, size: int) -> int | None:
    """Offset of the next block that parses as a tar header, or None."""
    stop = min(size, offset + RESYNC_LIMIT)
    for at in range(offset, stop, tarfile.BLOCKSIZE):
        fh.seek(at)
        try:
            tarfile.TarInfo.frombuf(fh.read(tarfile.BLOCKSIZE), tarfile.ENCODING, "surrogateescape")
        except tarfile.HeaderError:
            continue
        return at
    return None


def _member(info: tarfile.TarInfo, sidecars: dict) -> Member:
    caption = next((sidecars[e] for e in CAPTION_EXTS if e in sidecars), None)
    return Member(info.name, info.offset_data, info.size, _text(caption), _json(sidecars.get("json")))


def _text(data: bytes | None) -> str | None:
    text = data.decode("utf-8", "replace").strip() if data else ""
    return text or None


def _json(data: bytes | None) -> dict | None:
    try:
        value = json.loads(data) if data else None
    except ValueError:
        return {"unreadable_json": _text(data)}  # kept as text: the sample's metadata is not lost
    return value if isinstance(value, dict) else ({"value": value} if value is not None else None)


def read_member(tar: Path, offset: int, size: int, where: str) -> bytes:
    """The member's bytes; ImageError when the tar cannot be read or ends inside the member."""
    try:
        with open(tar, "rb") as fh:
            fh.seek(offset)
            data = fh.read(size)
    except OSError as exc:
        raise ImageError(where, f"cannot read the tar ({exc.strerror or exc})") from exc
    if len(data) < size:
        raise ImageError(where, f"truncated tar member: {len(data)} of {size} bytes present")
    if not data:
        raise ImageError(where, "empty file")
    return data


def read_source(path: str | Path) -> bytes:
    """The bytes of a catalog path: a file, or a tar member (`<tar>::<member>`); ImageError when unreadable."""

    parts = split_address(path)
    if parts is None:
        return read_bytes(Path(path))
    tar = Path(parts[0])
    try:
        info = tar.stat()
    except OSError as exc:
        raise ImageError(str(path), f"cannot read the tar ({exc.strerror or exc})") from exc
    member = _members(str(tar), info.st_size, info.st_mtime_ns).get(parts[1])
    if member is None:
        raise ImageError(str(path), "no such image member in the tar")
    return read_member(tar, member.offset, member.size, str(path))


@lru_cache(maxsize=16)
def _members(tar: str, size: int, mtime_ns: int) -> dict[str, Member]:
    """Member name -> Member of a tar's image members; cached per (tar, size, mtime), for pages of thumbnails."""

    return {m.name: m for m in list_shard(Path(tar), IMAGE_EXTENSIONS).members}


def holding_file(path: str | Path) -> str:
    """The file that holds a catalog path's bytes: the file itself, or the tar of a member."""
    parts = split_address(path)
    return parts[0] if parts else str(path)


def source_stat(path: str | Path) -> os.stat_result:
    """The stat of a catalog path's file: the file itself, or the tar that holds the member."""
    return os.stat(holding_file(path))


def open_source(path: str | Path) -> Path | io.BytesIO:
    """What an image opener takes for a catalog path: the path itself, or a stream of the member's bytes."""
    if split_address(path) is None:
        return Path(path)
    stream = io.BytesIO(read_source(path))
    stream.name = str(path)  # errors raised while decoding name the member, not "<stream>"
    return stream


def refuse_members(paths: Iterable[str], action: str) -> None:
    """InsideShard for the first tar member among paths: moving, linking or deleting one would change its tar."""
    member = next((p for p in paths if split_address(p) is not None), None)
    if member is not None:
        raise InsideShard(member, action)
