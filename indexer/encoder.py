"""The encoder interface both runtimes implement, and `load_model`, the one way to get one.

An encoder turns PIL images or preprocessed pixels and strings into L2-normalised float32
vectors. Runtimes implement only the two raw forward passes (`_vision`, `_text`); batching,
preprocessing, text bucketing and normalisation live here once.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from . import preprocess
from .model_config import ModelConfig
from .tokenizer import Tokenizer

Embeddings = NDArray[np.float32]  # (n, d), L2-normalised rows
Pixels = NDArray[np.float32]  # (n, 3, S, S), normalised with the model's mean/std
TokenIds = NDArray[np.int64]  # (n, L), [sot] + ids + [eot] + zero padding

# Text lengths are rounded up to a multiple of this: the causal mask makes the output at the
# end-of-text token independent of anything after it, so a 5-word query runs on 8 tokens, not 77,
# and queries of similar length still share one batch.
TEXT_BUCKET = 8


def l2_normalize(x: NDArray[np.floating]) -> Embeddings:
    """Rows scaled to unit length, as float32; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def text_buckets(ids: TokenIds, context: int) -> dict[int, list[int]]:
    """Group rows of zero-padded ids by their bucketed length (end-of-text included)."""
    lengths = ids.argmax(axis=1) + 1  # end-of-text has the highest id in the vocabulary
    groups: dict[int, list[int]] = {}
    for row, length in enumerate(lengths):
        bucket = min(context, -(-int(length) // TEXT_BUCKET) * TEXT_BUCKET)
        groups.setdefault(bucket, []).append(row)
    return groups


class Encoder(ABC):
    """A loaded CLIP model: `encode_images` and `encode_texts` give (n, dim) unit vectors."""

    runtime: str = ""

    def __init__(self, name: str, path: Path, config: ModelConfig, device: str, batch_size: int = 32):
        self.name, self.path, self.config, self.device = name, path, config, device
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_dir(path)
        self._weights_sha256: str | None = None

    @property
    def dim(self) -> int:
        return self.config.embed_dim

    @abstractmethod
    def _vision(self, pixels: Pixels) -> NDArray[np.float32]:
        """Unnormalised image features (n, dim) for one batch."""

    @abstractmethod
    def _text(self, ids: TokenIds) -> NDArray[np.float32]:
        """Unnormalised text features (n, dim) for one batch of equal-length rows."""

    def encode_pixels(self, pixels: Pixels | NDArray[np.uint8]) -> Embeddings:
        """(n, dim) unit vectors from float32 (n, 3, S, S) pixels or uint8 (n, S, S, 3) crops."""
        pixels = np.asarray(pixels)
        if pixels.dtype == np.uint8:
            pixels = preprocess.normalize(pixels, self.config.preprocess)
        size = self.config.vision.image_size
        if pixels.ndim != 4 or pixels.shape[1:] != (3, size, size):
            raise ValueError(f"pixels must be (n, 3, {size}, {size}), got {pixels.shape}")
        out = np.zeros((len(pixels), self.dim), np.float32)
        for start in range(0, len(pixels), self.batch_size):
            batch = np.ascontiguousarray(pixels[start : start + self.batch_size], dtype=np.float32)
            out[start : start + len(batch)] = self._vision(batch)
        return l2_normalize(out)

    def encode_images(self, images: Sequence[Image.Image]) -> Embeddings:
        """(n, dim) unit vectors for PIL images (EXIF-rotated, converted, resized, cropped here)."""
        out = np.zeros((len(images), self.dim), np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            out[start : start + len(chunk)] = self.encode_pixels(preprocess.preprocess(chunk, self.config.preprocess))
        return out

    def tokenize(self, texts: Sequence[str]) -> TokenIds:
        """Zero-padded (n, context) ids, truncated keeping the end-of-text token."""
        return self.tokenizer.tokenize(list(texts), self.config.text.context)

    def encode_texts(self, texts: Sequence[str], *, pad_to_context: bool = False) -> Embeddings:
        """(n, dim) unit vectors; each text runs truncated at its end-of-text token unless padded."""
        if isinstance(texts, str):
            raise TypeError("encode_texts takes a list of strings, not one string")
        ids = self.tokenize(texts)
        out = np.zeros((len(ids), self.dim), np.float32)
        groups = {ids.shape[1]: list(range(len(ids)))} if pad_to_context else text_buckets(ids, ids.shape[1])
        for length, rows in groups.items():
            for start in range(0, len(rows), self.batch_size):
                part = rows[start : start + self.batch_size]
                out[part] = self._text(np.ascontiguousarray(ids[part, :length]))
        return l2_normalize(out)

    @property
    def weights_sha256(self) -> str:
        """sha256 of model_state.pdparams, cached beside it keyed by size and mtime."""
        if self._weights_sha256 is None:
            self._weights_sha256 = weights_sha256(self.path / "model_state.pdparams")
        return self._weights_sha256

    def describe(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "runtime": self.runtime,
            "device": self.device,
            "dim": self.dim,
        }


def weights_sha256(path: Path) -> str:
    """sha256 of a weights file; the digest is cached in a sidecar so a 5 GB file is hashed once."""
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar = path.with_name(path.name + ".sha256.json")
    try:
        cached = json.loads(sidecar.read_text())
        if cached.get("key") == key:
            return cached["sha256"]
    except (OSError, ValueError, AttributeError):
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    try:
        sidecar.write_text(json.dumps({"key": key, "sha256": digest.hexdigest()}))
    except OSError:
        pass  # a read-only model directory only costs a re-hash next time
    return digest.hexdigest()


def load_model(
    name_or_path: str | Path = "tiny-shapes",
    runtime: str = "auto",
    device: str = "auto",
    *,
    dtype: str = "auto",
    batch_size: int = 32,
) -> Encoder:
    """Load a model by registered name or directory on the chosen runtime ('paddle', 'torch', 'auto')."""
    from .loading import load_encoder

    return load_encoder(str(name_or_path), runtime=runtime, device=device, dtype=dtype, batch_size=batch_size)
