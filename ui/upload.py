"""Images given to the UI as a query: an upload is size-checked and decoded as the indexer decodes, then kept."""

from __future__ import annotations

from pathlib import Path

from indexer import PixseekError
from indexer.sources import IMAGE_EXTENSIONS, decode_bytes

from .serve import UPLOAD_LIMIT_MB

UPLOAD_LIMIT = UPLOAD_LIMIT_MB * 1024 * 1024


class UploadRejected(PixseekError):
    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


def save_upload(data: bytes, name: str, folder: Path) -> Path:
    """The upload written to `folder` (named by its hash) once it decodes; UploadRejected or ImageError if not."""
    if len(data) > UPLOAD_LIMIT:
        raise UploadRejected(name, f"it is over the upload limit of {UPLOAD_LIMIT_MB} MB")
    if not data:
        raise UploadRejected(name, "the file is empty")
    # The indexer's decode: its pixel limit refuses a decompression bomb from the header, before decoding.
    decoded = decode_bytes(data, name, 32)
    suffix = Path(name).suffix.lower()
    path = folder / (decoded.content_hash[:24] + (suffix if suffix in IMAGE_EXTENSIONS else ".img"))
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path
