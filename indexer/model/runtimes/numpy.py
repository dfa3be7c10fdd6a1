"""The numpy runtime: open_clip's CLIP forward pass in numpy (OpenBLAS matrix products), on the CPU.

Why a third runtime, written here: a CLI query must answer in about a second, and on a 2-core machine
importing torch takes 2.5 s and 0.7 GB, Paddle with PaddleNLP longer; numpy is already loaded. The
towers are open_clip's pre-LayerNorm transformers (the same weights in open_clip's layout, the same
function: tests/test_model_parity.py holds it to open_clip's golden vectors), over weights memory-mapped
from the cache. Weights stored in bfloat16 or float16 are widened to float32 one block at a time, so
the arithmetic is float32 while a tower costs half its float32 size in memory.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..config import ModelConfig
from ..encoder import Encoder, resolve_dtype
from ..tensorfile import to_float32
from ..tokenizer import TokenIds
from ..transform import Pixels

F32 = NDArray[np.float32]
CHUNK_VALUES = 1 << 15  # float32 values per elementwise chunk: 128 KB, well inside a core's L2
SQRT_HALF = np.float32(np.sqrt(0.5))
# erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2): Numerical Recipes' Chebyshev fit (fractional error under
# 1.2e-7). numpy has no erf; this is faster than scipy.special.erf on (tokens, 6144) float32 (213 vs 295 ms
# for 12.6 M values on one core) and spares every query scipy's 0.16 s import.
ERFC = tuple(
    np.float32(c)
    for c in (
        -1.26551223,
        1.00002368,
        0.37409196,
        0.09678418,
        -0.18628806,
        0.27886807,
        -1.13520398,
        1.48851587,
        -0.82215223,
        0.17087277,
    )
)


def _softmax(x: F32) -> F32:
    x = x - x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


def erf(x: F32) -> F32:
    z = np.abs(x)
    t = np.float32(1) / (np.float32(1) + np.float32(0.5) * z)
    poly = ERFC[9]
    for c in ERFC[8::-1]:
        poly = poly * t + c
    return np.copysign(np.float32(1) - t * np.exp(poly - z * z), x)


def available() -> bool:
    return True


def cuda_available() -> bool:
    return False


def _threads() -> int:
    return len(os.sched_getaffinity(0))


class Block:
    """The float32 weights of one residual block (attention then MLP), widened when the block runs."""

    def __init__(self, arrays: dict, dtypes: dict, prefix: str):
        self.names = {k[len(prefix) :]: k for k in arrays if k.startswith(prefix)}
        self.arrays, self.dtypes = arrays, dtypes

    def weights(self, buffers: dict[str, np.ndarray], pool: ThreadPoolExecutor | None) -> dict[str, F32]:
        """The block's weights as float32. bfloat16 ones are widened into `buffers`, reused from block to
        block: fresh arrays would cost more in page faults than the widening itself (8.6 vs 2.9 ms for a
        6144 x 1408 matrix), and a text query's forward is as much widening as arithmetic."""
        out = {}
        for short, name in self.names.items():
            array, dtype = self.arrays[name], self.dtypes[name]
            if dtype != "BF16":
                out[short] = to_float32(array, dtype)
                continue
            if short not in buffers:
                buffers[short] = np.empty(array.shape, np.uint32)
            out[short] = _widen_into(buffers[short], array, pool).view(np.float32)
        return out


def _widen_into(out: np.ndarray, bits: np.ndarray, pool: ThreadPoolExecutor | None) -> np.ndarray:
    """bfloat16 bits (uint16) into float32 bit patterns in `out` (uint32), in row chunks over the threads."""

    def part(rows: slice) -> None:
        chunk = out[rows]
        chunk[...] = bits[rows]
        chunk <<= np.uint32(16)

    if pool is None or bits.ndim == 0 or bits.size < 1 << 18:
        part(slice(None))
    else:
        edges = np.linspace(0, len(bits), pool._max_workers + 1).astype(int)
        list(pool.map(part, [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]))
    return out


class Tower:
    """One tower's transformer: embeddings in, the pooled and projected features out."""

    def __init__(self, arrays: dict, dtypes: dict, prefix: str, layers: int, heads: int, act: str, eps: float):
        self.blocks = [Block(arrays, dtypes, f"{prefix}transformer.resblocks.{i}.") for i in range(layers)]
        # Everything outside the blocks is small and widened once; the token embedding (50 M weights) is
        # read row by row instead (TextTower.__call__).
        small = [k for k in arrays if ".resblocks." not in k and k != "token_embedding.weight"]
        self.small = {k: to_float32(arrays[k], dtypes[k]) for k in small}
        self.heads, self.act, self.eps = heads, act, eps
        self.pool = ThreadPoolExecutor(_threads()) if _threads() > 1 else None
        self.buffers: dict[str, np.ndarray] = {}  # one block's widened weights, reused by every block
        self.lock = threading.Lock()  # the buffers serve one forward at a time (a server's threads queue here)

    def _rows(self, fn, x: F32) -> F32:
        """fn over x in chunks of rows, spread over threads. numpy's elementwise functions use one core (BLAS
        uses all), and a chunk of CHUNK_VALUES stays in cache through the dozen passes GELU makes: over
        whole (2056, 6144) activations every pass went to memory (0.16 s a block, as long as a matmul)."""
        rows = max(1, CHUNK_VALUES // max(1, x[0].size))
        if len(x) <= rows:
            return fn(x)
        out = np.empty_like(x)

        def chunk(start: int) -> None:
            out[start : start + rows] = fn(x[start : start + rows])

        starts = range(0, len(x), rows)
        if self.pool is None:
            for start in starts:
                chunk(start)
        else:
            list(self.pool.map(chunk, starts))
        return out

    def norm(self, x: F32, w: F32, b: F32) -> F32:
        def one(x):
            mean = x.mean(-1, keepdims=True)
            centred = x - mean
            var = np.mean(centred * centred, -1, keepdims=True)
            return centred / np.sqrt(var + np.float32(self.eps)) * w + b

        return self._rows(one, x)

    def activation(self, x: F32) -> F32:
        if self.act == "quick_gelu":
            return self._rows(lambda x: x / (1 + np.exp(np.float32(-1.702) * x)), x)
        return self._rows(lambda x: x * (np.float32(0.5) + np.float32(0.5) * erf(x * SQRT_HALF)), x)

    def attention(self, x: F32, w: dict, mask: F32 | None) -> F32:
        n, length, width = x.shape
        heads, dim = self.heads, width // self.heads
        qkv = x.reshape(-1, width) @ w["attn.in_proj_weight"].T + w["attn.in_proj_bias"]
        qkv = qkv.reshape(n, length, 3, heads, dim).transpose(2, 0, 3, 1, 4)  # (3, n, heads, length, dim)
        q, k, v = qkv[0] * np.float32(dim**-0.5), qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2)  # (n, heads, length, length)
        if mask is not None:
            scores += mask
        scores = self._rows(_softmax, scores.reshape(-1, length)).reshape(n, heads, length, length)
        out = (scores @ v).transpose(0, 2, 1, 3).reshape(-1, width)
        return (out @ w["attn.out_proj.weight"].T + w["attn.out_proj.bias"]).reshape(n, length, width)

    def blocks_forward(self, x: F32, mask: F32 | None = None) -> F32:
        """x (n, length, width) through every block."""
        with self.lock:
            return self._blocks(x, mask)

    def _blocks(self, x: F32, mask: F32 | None) -> F32:
        n, length, width = x.shape
        for block in self.blocks:
            w = block.weights(self.buffers, self.pool)
            h = self.norm(x.reshape(-1, width), w["ln_1.weight"], w["ln_1.bias"]).reshape(n, length, width)
            x = x + self.attention(h, w, mask)
            h = self.norm(x.reshape(-1, width), w["ln_2.weight"], w["ln_2.bias"])
            h = self.activation(h @ w["mlp.c_fc.weight"].T + w["mlp.c_fc.bias"])
            x = x + (h @ w["mlp.c_proj.weight"].T + w["mlp.c_proj.bias"]).reshape(n, length, width)
        return x


class TextTower(Tower):
    def __init__(self, arrays: dict, dtypes: dict, config: ModelConfig):
        t = config.text
        super().__init__(arrays, dtypes, "", t.layers, t.heads, t.act, t.eps)
        self.tokens, self.tokens_dtype = arrays["token_embedding.weight"], dtypes["token_embedding.weight"]

    def __call__(self, ids: TokenIds) -> F32:
        """Unnormalised (n, dim) features of equal-length rows of token ids (pooled at end-of-text)."""
        s, length = self.small, ids.shape[1]
        x = to_float32(self.tokens[ids], self.tokens_dtype) + s["positional_embedding"][:length]
        mask = np.triu(np.full((length, length), -np.inf, np.float32), 1)
        x = self.blocks_forward(x.astype(np.float32), mask)
        pooled = x[np.arange(len(ids)), ids.argmax(axis=1)]  # end-of-text has the highest id
        return self.norm(pooled, s["ln_final.weight"], s["ln_final.bias"]) @ s["text_projection"]


class VisionTower(Tower):
    def __init__(self, arrays: dict, dtypes: dict, config: ModelConfig):
        v = config.vision
        super().__init__(arrays, dtypes, "visual.", v.layers, v.heads, v.act, v.eps)
        self.patch, self.grid = v.patch, v.grid

    def __call__(self, pixels: Pixels) -> F32:
        """Unnormalised (n, dim) features of normalised float32 (n, 3, S, S) pixels (the class token)."""
        s, p, g, n = self.small, self.patch, self.grid, len(pixels)
        patches = pixels.reshape(n, 3, g, p, g, p).transpose(0, 2, 4, 1, 3, 5).reshape(n * g * g, 3 * p * p)
        conv = s["visual.conv1.weight"]
        x = (patches @ conv.reshape(len(conv), -1).T).reshape(n, g * g, -1)
        cls = np.broadcast_to(s["visual.class_embedding"], (n, 1, x.shape[2]))
        x = np.concatenate([cls, x], axis=1) + s["visual.positional_embedding"]
        width = x.shape[2]
        x = self.norm(x.reshape(-1, width), s["visual.ln_pre.weight"], s["visual.ln_pre.bias"]).reshape(n, -1, width)
        x = self.blocks_forward(x)
        return self.norm(x[:, 0], s["visual.ln_post.weight"], s["visual.ln_post.bias"]) @ s["visual.proj"]


class NumpyEncoder(Encoder):
    runtime = "numpy"
    layout = "open_clip"

    @staticmethod
    def resolve(dtype: str, device: str) -> str:
        """The weights' precision: bfloat16 by default (half the memory; the arithmetic is float32 anyway)."""
        return resolve_dtype(dtype, device, gpu_default="bfloat16", cpu_default="bfloat16")

    def __init__(self, name: str, path: Path, config: ModelConfig, weights, device: str, dtype: str, batch_size: int):
        super().__init__(name, path, config, weights, device, dtype, batch_size)

    def _build(self, tower: str, arrays: dict, dtypes: dict):
        return TextTower(arrays, dtypes, self.config) if tower == "text" else VisionTower(arrays, dtypes, self.config)

    def _vision(self, pixels: Pixels) -> np.ndarray:
        return self.tower("vision")(pixels)

    def _text(self, ids: TokenIds) -> np.ndarray:
        return self.tower("text")(ids)
