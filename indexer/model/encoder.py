"""The encoder interface both runtimes implement, and `load_model`, the one way to get one.

An encoder turns PIL images or preprocessed pixels and strings into L2-normalised float32
vectors. Runtimes implement only the two raw forward passes (`_vision`, `_text`); batching,
preprocessing, text bucketing and normalisation live here once.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from indexer.errors import ModelError

from . import transform
from .cache import cache_root
from .checkpoint import weights_file
from .config import ModelConfig
from .download import sha256_file
from .tokenizer import TokenIds, Tokenizer
from .transform import Crops, Pixels

Embeddings = NDArray[np.float32]  # (n, d), L2-normalised rows

# Text lengths are rounded up to a multiple of this: the causal mask makes the output at the
# end-of-text token independent of anything after it, so a 5-word query runs on 8 tokens, not 77,
# and queries of similar length still share one batch.
TEXT_BUCKET = 8


# Names accepted for --dtype, mapped to the framework dtype name.
DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    # The vision tower's matmuls in FP8 on the torch runtime (runtimes.fp8); never chosen by auto.
    "float8": "float8",
    "fp8": "float8",
}


def resolve_dtype(dtype: str, device: str, gpu_default: str, cpu_default: str = "float32", fp8: bool = False) -> str:
    """The framework dtype name for --dtype; 'auto' is `cpu_default` on the CPU and `gpu_default` on a GPU.
    `fp8`: whether the runtime has an FP8 vision tower (else fp8 is refused)."""
    if dtype == "auto":
        return gpu_default if device.startswith("cuda") else cpu_default
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; use auto, {', '.join(DTYPES)}")
    if DTYPES[dtype] == "float8" and not fp8:
        raise ModelError("--dtype fp8 runs on the torch runtime only (--runtime torch, on a Hopper-class GPU)")
    return DTYPES[dtype]


def installed(*modules: str) -> bool:
    """Whether every module can be imported, without importing it (Paddle's import takes seconds)."""
    return all(importlib.util.find_spec(m) is not None for m in modules)


def l2_normalize(x: NDArray[np.floating]) -> Embeddings:
    """Rows scaled to unit length, as float32; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def text_buckets(ids: TokenIds, context: int) -> dict[int, list[int]]:
    """Group rows of zero-padded ids by bucketed length; each group runs at its longest member's length."""
    lengths = ids.argmax(axis=1) + 1  # end-of-text has the highest id in the vocabulary
    groups: dict[int, list[int]] = {}
    for row, length in enumerate(lengths):
        groups.setdefault(min(context, -(-int(length) // TEXT_BUCKET) * TEXT_BUCKET), []).append(row)
    return {int(lengths[rows].max()): rows for rows in groups.values()}


class Encoder(ABC):
    """A CLIP model: `encode_images` and `encode_texts` give (n, dim) unit vectors.

    Towers are built when first used, from `weights` (indexer.model.towers): a text query never reads
    the vision tower's weights, an index run never reads the text tower's.
    """

    runtime: str = ""
    layout: str = "open_clip"  # the weights layout the runtime builds from (indexer.model.cache.LAYOUTS)

    @staticmethod
    def resolve(dtype: str, device: str) -> str:
        """The weights' precision this runtime uses for --dtype on `device`."""
        return resolve_dtype(dtype, device, gpu_default="bfloat16")

    @staticmethod
    def stored(dtype: str) -> str:
        """The precision its weights are cached in, for a model run in `dtype`."""
        return dtype

    def __init__(
        self, name: str, path: Path, config: ModelConfig, weights, device: str, dtype: str, batch_size: int = 32
    ):
        self.name, self.path, self.config, self.device, self.dtype = name, path, config, device, dtype
        self.weights, self.batch_size = weights, batch_size
        self._towers: dict[str, object] = {}
        self._lock = threading.Lock()  # the UI's threads may ask for a tower at the same time
        self._tokenizer: Tokenizer | None = None
        self._weights_sha256: str | None = weights.source_sha256

    def tower(self, name: str):
        """The runtime's "text" or "vision" tower, built from its weights on first use."""
        with self._lock:
            if name not in self._towers:
                arrays, dtypes = self.weights.tower(name)
                self._towers[name] = self._build(name, arrays, dtypes)
            return self._towers[name]

    @abstractmethod
    def _build(self, tower: str, arrays: dict[str, np.ndarray], dtypes: dict[str, str]):
        """The runtime's tower from its weights ({name: array}, {name: stored dtype}) in `layout`."""

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer.from_dir(self.path)
        return self._tokenizer

    @property
    def dim(self) -> int:
        return self.config.embed_dim

    @abstractmethod
    def _vision(self, pixels: Pixels) -> NDArray[np.float32]:
        """Unnormalised image features (n, dim) for one batch."""

    @abstractmethod
    def _text(self, ids: TokenIds) -> NDArray[np.float32]:
        """Unnormalised text features (n, dim) for one batch of equal-length rows."""

    def encode_pixels(self, pixels: Pixels | Crops) -> Embeddings:
        """(n, dim) unit vectors from float32 (n, 3, S, S) pixels or uint8 (n, S, S, 3) crops."""
        pixels = np.asarray(pixels)
        size = self.config.vision.image_size
        crops = pixels.dtype == np.uint8
        expected = (size, size, 3) if crops else (3, size, size)
        if pixels.ndim != 4 or pixels.shape[1:] != expected:
            raise ValueError(f"pixels must be (n, {', '.join(map(str, expected))}), got {pixels.shape}")
        out = np.zeros((len(pixels), self.dim), np.float32)
        for start in range(0, len(pixels), self.batch_size):
            batch = pixels[start : start + self.batch_size]
            if crops:
                out[start : start + len(batch)] = self._vision_crops(np.ascontiguousarray(batch))
            else:
                out[start : start + len(batch)] = self._vision(np.ascontiguousarray(batch, dtype=np.float32))
        return l2_normalize(out)

    def _vision_crops(self, crops: Crops) -> NDArray[np.float32]:
        """Unnormalised features of uint8 crops; runtimes that can normalise on the device override it."""
        return self._vision(transform.normalize(crops, self.config.preprocess))

    def encode_images(self, images: Sequence[Image.Image]) -> Embeddings:
        """(n, dim) unit vectors for PIL images (EXIF-rotated, converted, resized, cropped here)."""
        size = self.config.vision.image_size
        out = np.zeros((len(images), self.dim), np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            crops = np.stack([transform.resize_crop(transform.to_rgb(im), size) for im in chunk])
            out[start : start + len(chunk)] = self.encode_pixels(crops)
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
        """sha256 of the weights file (cached per path, size and mtime)."""
        if self._weights_sha256 is None:
            self._weights_sha256 = weights_sha256(weights_file(self.path))
        return self._weights_sha256

    def describe(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "runtime": self.runtime,
            "device": self.device,
            "dtype": self.dtype,
            "dim": self.dim,
        }


def weights_sha256(path: Path) -> str:
    """sha256 of a weights file, cached in the user cache directory so a 5 GB file is hashed once."""
    stat = path.resolve().stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    cache = cache_root() / "weights-sha256.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = sha256_file(path)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known, indent=1))
        except OSError:
            pass  # an unwritable cache only costs a re-hash next time
    return known[key]
