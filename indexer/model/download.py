"""Resumable, checksum-verified download of a model's files from plain http(s) URLs.

Hand-written on the stdlib because nothing at hand does this job: huggingface_hub's downloader
only speaks to the Hugging Face hub layout (repo ids, revisions, its own cache tree), and the
ViT-g/14 files are plain URLs on the PaddleNLP BOS bucket; pip and requests have no resumable,
verified download. A 5.1 GB weights file over a flaky line must survive dropped connections and
killed runs, and a corrupted file must never reach the model directory.

Each file goes to `<dest>/<name>.part`, is resumed with `Range: bytes=N-`, hashed while it
streams, checked against its size and sha256, and only then renamed to `<dest>/<name>`.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from indexer.errors import DownloadError

MANIFEST = ".download.json"
_CHUNK = 64 * 1024  # small enough for a smooth progress bar, large enough to be cheap per byte
_BACKOFF_S = 0.5  # first wait before a retry; doubles per failure in a row, capped below
_BACKOFF_MAX_S = 30.0
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-\d+/(\d+|\*)")


@dataclass(frozen=True)
class RemoteFile:
    name: str  # a plain file name inside the model directory, e.g. "model_state.pdparams"
    url: str  # http:// or https://
    size: int | None  # bytes; verified when known
    sha256: str | None  # hex; verified when known, computed on first download when not


Progress = Callable[[str, int, int | None], None]  # (file name, bytes done, total bytes or None)


class _Transient(Exception):
    """A failure worth retrying: a dropped connection, a short body, a 5xx answer."""


_RETRIED = (_Transient, urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


def download_model(
    files: Sequence[RemoteFile],
    dest: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 60.0,
    retries: int = 5,
) -> list[Path]:
    """Fetch `files` into `dest`, verified; return their final paths in order and write the manifest.

    `timeout` is seconds per socket operation; `retries` is how many failed attempts in a row
    without the .part growing are tolerated for one file before giving up.
    """
    _check_all(files)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths, entries = [], []
    for f in files:
        digest = _installed(f, dest / f.name, progress)
        if digest is None:
            digest = _download(f, dest, progress, timeout, max(retries, 1))
        paths.append(dest / f.name)
        entries.append(RemoteFile(f.name, f.url, (dest / f.name).stat().st_size, digest))
    _write_manifest(dest, entries)
    return paths


def read_manifest(dest: Path) -> list[RemoteFile]:
    """Return the files the last successful `download_model` into `dest` installed, hashes included."""
    data = json.loads((Path(dest) / MANIFEST).read_text(encoding="utf-8"))
    return [RemoteFile(**entry) for entry in data["files"]]


def sha256_file(path: Path) -> str:
    """Return the sha256 of a file as lowercase hex, reading it in chunks."""
    digest = hashlib.sha256()
    _hash_into(digest, Path(path))
    return digest.hexdigest()


def _hash_into(digest: hashlib._Hash, path: Path) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)


def _check_all(files: Sequence[RemoteFile]) -> None:
    # Every file is checked before the first byte moves, so a bad list fails fast and writes nothing.
    for f in files:
        _check(f)
    names = [f.name for f in files]
    for name in {n for n in names if names.count(n) > 1}:
        raise DownloadError(next(f.url for f in files if f.name == name), f"file name {name!r} is listed twice")


def _check(f: RemoteFile) -> None:
    if not f.name or f.name in (".", "..") or any(c in f.name for c in "/\\\0") or f.name == MANIFEST:
        raise DownloadError(f.url, f"refused file name {f.name!r}: it must be a plain file name")
    parts = urlsplit(f.url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise DownloadError(f.url, "only http:// and https:// URLs can be downloaded")
    if f.sha256 is not None and not _SHA256.fullmatch(f.sha256):
        raise DownloadError(f.url, f"sha256 must be 64 hex digits, got {f.sha256!r}")
    if f.size is not None and f.size < 0:
        raise DownloadError(f.url, f"size must be at least 0, got {f.size}")


def _installed(f: RemoteFile, final: Path, progress: Progress | None) -> str | None:
    """Return the sha256 of `final` if it is already the right file, else None."""
    if not final.is_file() or (f.size is not None and final.stat().st_size != f.size):
        return None
    digest = sha256_file(final)
    if f.sha256 is not None and digest != f.sha256.lower():
        return None
    _part(final).unlink(missing_ok=True)
    if progress:
        size = final.stat().st_size
        progress(f.name, size, size)
    return digest


def _part(final: Path) -> Path:
    return final.with_name(final.name + ".part")


def _download(f: RemoteFile, dest: Path, progress: Progress | None, timeout: float, retries: int) -> str:
    part = _part(dest / f.name)
    digest = _fetch(f, part, progress, timeout, retries)
    _verify(f, part, digest)
    os.replace(part, dest / f.name)
    return digest


def _fetch(f: RemoteFile, part: Path, progress: Progress | None, timeout: float, retries: int) -> str:
    """Bring `part` to the whole file, retrying with backoff; return its sha256."""
    failures, longest = 0, _size(part)
    while True:
        try:
            return _attempt(f, part, progress, timeout)
        except _RETRIED as e:
            reason = _reason(e)
        except OSError as e:  # not the network's fault (disk full, permissions): retrying cannot help
            raise DownloadError(f.url, f"cannot write {part}: {e}") from e
        # Progress resets the count, so a long download over a flaky line is not cut short.
        failures = 1 if _size(part) > longest else failures + 1
        longest = max(longest, _size(part))
        if failures >= retries:
            plural = "s" if failures > 1 else ""
            raise DownloadError(f.url, f"gave up after {failures} failed attempt{plural} in a row: {reason}")
        time.sleep(min(_BACKOFF_S * 2 ** (failures - 1), _BACKOFF_MAX_S))


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _reason(e: Exception) -> str:
    if isinstance(e, _Transient):
        return str(e)
    if isinstance(e, urllib.error.URLError):
        return f"cannot connect: {e.reason}"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _attempt(f: RemoteFile, part: Path, progress: Progress | None, timeout: float) -> str:
    """One request that resumes `part` from its size and streams to the end; return its sha256."""
    have = _size(part)
    if f.size is not None and have == f.size:
        return sha256_file(part)  # a killed run may have finished the transfer but not the rename
    if f.size is not None and have > f.size:
        part.unlink()
        have = 0
    try:
        resp = _open(f.url, have, timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and have:
            return _unsatisfiable(part, e)
        raise _http_error(f, e) from None
    with resp:
        offset, total = _placement(f, part, resp, have)
        digest = hashlib.sha256()
        if offset:
            _hash_into(digest, part)  # resume: the hash covers the bytes already on disk first
        _stream(f, resp, part, offset, total, digest, progress)
    return digest.hexdigest()


def _open(url: str, have: int, timeout: float) -> http.client.HTTPResponse:
    # Only http(s) handlers: a redirect cannot lead to file:// or ftp://.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    headers = {"User-Agent": "pixseek", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    return opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)


def _unsatisfiable(part: Path, e: urllib.error.HTTPError) -> str:
    """416 to `Range: bytes=<.part size>-`: the .part is complete if the server's total agrees."""
    match = re.fullmatch(r"bytes\s+\*/(\d+)", e.headers.get("Content-Range", "").strip())
    if match and int(match.group(1)) == _size(part):
        return sha256_file(part)
    part.unlink()
    raise _Transient("the server refused to resume the partial file; starting over")


def _http_error(f: RemoteFile, e: urllib.error.HTTPError) -> Exception:
    message = f"HTTP {e.code} {e.reason}"
    return _Transient(message) if e.code >= 500 or e.code == 429 else DownloadError(f.url, message)


def _placement(f: RemoteFile, part: Path, resp: http.client.HTTPResponse, have: int) -> tuple[int, int | None]:
    """Return (offset the body starts at, total file size or None) and check the total against `f.size`."""
    if resp.status == 206:
        match = _CONTENT_RANGE.fullmatch(resp.headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != have:
            part.unlink(missing_ok=True)
            raise _Transient(f"the server resumed at the wrong place (asked for byte {have}); starting over")
        offset, total = have, None if match.group(2) == "*" else int(match.group(2))
    else:  # 200: the server ignored Range (or none was sent) and sends the whole file
        length = resp.headers.get("Content-Length")
        offset, total = 0, int(length) if length and length.isdigit() else None
    if f.size is not None and total is not None and total != f.size:
        part.unlink(missing_ok=True)
        raise DownloadError(f.url, f"size mismatch: expected {f.size} bytes, the server has {total}")
    return offset, total if total is not None else f.size


def _stream(
    f: RemoteFile,
    resp: http.client.HTTPResponse,
    part: Path,
    offset: int,
    total: int | None,
    digest: hashlib._Hash,
    progress: Progress | None,
) -> None:
    done = offset
    with open(part, "ab" if offset else "wb") as out:
        while chunk := resp.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if total is not None and done > total:
                break  # more than the file's size: _verify rejects it
            if progress:
                progress(f.name, done, total)
    # http.client returns a short body without complaint when the peer closes early.
    if total is not None and done < total:
        raise _Transient(f"connection closed after {done} of {total} bytes")


def _verify(f: RemoteFile, part: Path, digest: str) -> None:
    """Delete `part` and raise unless it has the expected size and sha256."""
    size = part.stat().st_size
    if f.size is not None and size != f.size:
        part.unlink()
        raise DownloadError(f.url, f"size mismatch: expected {f.size} bytes, got {size}")
    if f.sha256 is not None and digest != f.sha256.lower():
        part.unlink()
        raise DownloadError(f.url, f"sha256 mismatch: expected {f.sha256.lower()}, got {digest}")


def _write_manifest(dest: Path, entries: list[RemoteFile]) -> None:
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"files": [asdict(e) for e in entries]}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, dest / MANIFEST)
