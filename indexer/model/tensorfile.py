"""safetensors files for the weights cache: written tensor by tensor, read back as memory maps.

The format is Hugging Face's (an 8-byte little-endian header length, a JSON header of name -> dtype,
shape and byte range, then the raw little-endian data), so `safetensors.torch.load_file` reads these
files as they are. Written and read here rather than through `safetensors.numpy` because that module
has no bfloat16 (numpy has no such dtype) and hands out copies: the cache exists to be mapped, not
copied. bfloat16 tensors are held in numpy as uint16 bit patterns (`BF16`); `to_float32` widens them.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from indexer.errors import BadModelFile

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}  # BF16: the bit patterns
NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}
ALIGN = 64  # the data starts on a 64-byte boundary; one dtype per file keeps every tensor aligned to its items
MAX_HEADER = 100 << 20


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bits of float data, rounded to nearest even (as torch's .bfloat16() does)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def to_float32(x: np.ndarray, dtype: str) -> np.ndarray:
    """float32 values of a stored tensor: bfloat16 bits widened by a 16-bit shift, float16 converted."""
    if dtype == "BF16":
        wide = x.astype(np.uint32)
        wide <<= np.uint32(16)
        return wide.view(np.float32)
    return x if x.dtype == np.float32 else x.astype(np.float32)


def stored(x: np.ndarray, dtype: str) -> np.ndarray:
    """The array as written for `dtype` (F32, F16, or BF16 bit patterns)."""
    if dtype == "BF16":
        return to_bfloat16(x)
    return np.ascontiguousarray(x, dtype=DTYPES[dtype])


def write(path: Path, tensors: Iterable[tuple[str, np.ndarray]], dtype: str, shapes: dict[str, tuple]) -> int:
    """Write (name, array) pairs, converted to `dtype` (F32, F16, BF16), into `path` one at a time;
    `shapes` (name -> shape, in order) fixes the header before any data. Returns the file's size."""
    itemsize = np.dtype(DTYPES[dtype]).itemsize
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape)) * itemsize
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size  # safetensors allows no holes between tensors
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % ALIGN)  # the data starts aligned too
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text)
        start = fh.tell()
        for name, array in tensors:
            if tuple(array.shape) != tuple(shapes[name]):
                raise ValueError(f"{name}: shape {array.shape}, header says {shapes[name]}")
            fh.seek(start + header[name]["data_offsets"][0])
            fh.write(stored(array, dtype).tobytes())
        fh.truncate(start + offset)
        fh.flush()
        os.fsync(fh.fileno())
    return start + offset


def read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """({name: memory-mapped array}, {name: stored dtype}). The map is copy-on-write (writes stay private;
    torch wants writable arrays). BadModelFile when the file is not a whole safetensors file: a truncated
    one is refused, never half used."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            if not 0 < length <= min(MAX_HEADER, size - 8):
                raise ValueError(f"header length {length}")
            header = json.loads(fh.read(length))
        data = np.memmap(path, dtype=np.uint8, mode="c") if size > 8 + length else np.zeros(0, np.uint8)
    except (OSError, ValueError, struct.error) as exc:
        raise BadModelFile(str(path), f"not a readable safetensors file ({exc})") from exc
    header.pop("__metadata__", None)
    arrays, dtypes = {}, {}
    for name, info in header.items():
        begin, end = (8 + length + o for o in info["data_offsets"])
        dtype = DTYPES.get(info["dtype"])
        if dtype is None or end > size or end - begin != int(np.prod(info["shape"])) * np.dtype(dtype).itemsize:
            raise BadModelFile(str(path), f"tensor {name} does not fit the file (truncated or damaged)")
        arrays[name] = data[begin:end].view(dtype).reshape(info["shape"])
        dtypes[name] = info["dtype"]
    return arrays, dtypes
