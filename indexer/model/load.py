"""Choose a runtime and device, read the checkpoint, and build the encoder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ModelError, RuntimeUnavailable

from . import registry
from .checkpoint import read_checkpoint, read_model_config, weights_file
from .config import ModelConfig
from .encoder import Encoder, resolve_dtype, weights_sha256
from .runtimes import paddle as runtimes_paddle
from .runtimes import torch as runtimes_torch

RUNTIMES = ("paddle", "torch")


@dataclass(frozen=True)
class ModelRef:
    """A model identified without loading it: what the catalog records and vectors/ is keyed by."""

    name: str
    path: Path
    config: ModelConfig
    weights_sha256: str
    source: str  # a registered name, or the directory's absolute path


def model_ref(name_or_path: str) -> ModelRef:
    """Resolve and identify a model (config and weights hash) without reading its weights into memory."""
    name, path = registry.resolve_model(str(name_or_path))
    source = name if str(name_or_path) in registry.REGISTRY else str(path)
    return ModelRef(name, path, read_model_config(path), weights_sha256(weights_file(path)), source)


def _runtime_module(runtime: str):
    return runtimes_paddle if runtime == "paddle" else runtimes_torch


def choose_runtime(runtime: str, device: str) -> str:
    """'auto' picks Paddle when installed (and CUDA-capable if a GPU is asked for), else torch."""
    if runtime in RUNTIMES:
        if not _runtime_module(runtime).available():
            extra = "cpu] or pixseek[gpu" if runtime == "paddle" else "torch"
            raise RuntimeUnavailable(runtime, f"install pixseek[{extra}]")
        return runtime
    if runtime != "auto":
        raise ModelError(f"unknown runtime {runtime!r}; choose one of auto, {', '.join(RUNTIMES)}")
    wants_gpu = device.startswith("cuda")
    for name in RUNTIMES:
        module = _runtime_module(name)
        if module.available() and (not wants_gpu or module.cuda_available()):
            return name
    raise RuntimeUnavailable("auto", "neither Paddle nor torch is installed; install pixseek[cpu] or pixseek[torch]")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), from /proc/cpuinfo's flags."""
    try:
        return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", Path("/proc/cpuinfo").read_text()))
    except OSError:  # not Linux: assume not
        return False


def query_runtime(runtime: str, device: str, dtype: str) -> tuple[str, str]:
    """(runtime, dtype) to encode queries with. All 'auto' on a CPU with native bfloat16 and torch installed:
    torch in bfloat16, as bench/query.py measured it faster than float32 for the ViT-g/14 text tower on
    2 cores with vectors at cosine 0.99997 of float32 (Paddle has no bfloat16 kernels on the CPU)."""
    if (runtime, dtype) != ("auto", "auto") or device not in ("auto", "cpu"):
        return runtime, dtype
    if not _runtime_module("torch").available() or not cpu_has_native_bf16():
        return runtime, dtype
    if device == "auto" and any(
        _runtime_module(r).available() and _runtime_module(r).cuda_available() for r in RUNTIMES
    ):
        return runtime, dtype  # a GPU will run it
    return "torch", "bfloat16"


def choose_device(runtime: str, device: str) -> str:
    """'auto' is the first GPU when the runtime sees one, else the CPU."""
    if device == "auto":
        return "cuda:0" if _runtime_module(runtime).cuda_available() else "cpu"
    if device == "cpu" or device == "cuda" or device.startswith("cuda:"):
        if device.startswith("cuda") and not _runtime_module(runtime).cuda_available():
            raise RuntimeUnavailable(runtime, f"device {device!r} asked for, but this {runtime} build sees no GPU")
        return "cuda:0" if device == "cuda" else device
    raise ModelError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")


def load_encoder(name_or_path: str, *, runtime: str, device: str, dtype: str, batch_size: int) -> Encoder:
    """Resolve, validate and load a model (see indexer.load_model)."""
    resolve_dtype(dtype, "cpu", "float32")  # an unknown dtype fails before a 5 GB read
    name, path = registry.resolve_model(name_or_path)
    config, state = read_checkpoint(path)
    return build_encoder(name, path, config, state, runtime=runtime, device=device, dtype=dtype, batch_size=batch_size)


def build_encoder(name, path, config, state, *, runtime: str, device: str, dtype: str, batch_size: int) -> Encoder:
    """An encoder of the chosen runtime and device over an already loaded canonical state."""
    runtime = choose_runtime(runtime, device)
    device = choose_device(runtime, device)
    cls = runtimes_paddle.PaddleEncoder if runtime == "paddle" else runtimes_torch.TorchEncoder
    return cls(name, path, config, state, device=device, dtype=dtype, batch_size=batch_size)


def load_model(
    name_or_path: str | Path = "tiny-shapes",
    runtime: str = "auto",
    device: str = "auto",
    *,
    dtype: str = "auto",
    batch_size: int = 32,
) -> Encoder:
    """Load a model by registered name or directory on the chosen runtime ('paddle', 'torch', 'auto')."""
    return load_encoder(str(name_or_path), runtime=runtime, device=device, dtype=dtype, batch_size=batch_size)
