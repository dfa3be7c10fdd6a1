"""Choose a runtime, device and precision, and make the encoder (its towers are read when first used)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import DeviceUnavailable, ModelError, RuntimeUnavailable

from . import cache, registry
from .checkpoint import read_model_config, weights_file
from .config import ModelConfig
from .encoder import Encoder, resolve_dtype, weights_sha256
from .hardware import cpu_has_native_bf16, gpu_present
from .runtimes import numpy as runtimes_numpy
from .runtimes import paddle as runtimes_paddle
from .runtimes import torch as runtimes_torch
from .state import check_state
from .towers import TowerWeights

RUNTIMES = ("paddle", "torch", "numpy")


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
    return {"paddle": runtimes_paddle, "torch": runtimes_torch, "numpy": runtimes_numpy}[runtime]


INSTALL = {"paddle": "pixseek[cpu] or pixseek[gpu]", "torch": "pixseek[torch]", "numpy": "pixseek"}


def choose_runtime(runtime: str, device: str, config: ModelConfig | None = None) -> str:
    """'auto': on a GPU, Paddle when it has CUDA, else torch; on the CPU, torch in bfloat16 for a large
    vision tower where the CPU multiplies bfloat16 natively (twice float32's rate), else numpy (no
    framework to import: a query answers in about a second)."""
    if runtime in RUNTIMES:
        if not _runtime_module(runtime).available():
            raise RuntimeUnavailable(runtime, f"install {INSTALL[runtime]}")
        return runtime
    if runtime != "auto":
        raise ModelError(f"unknown runtime {runtime!r}; choose one of auto, {', '.join(RUNTIMES)}")
    if device.startswith("cuda") or (device == "auto" and gpu_runtime()):
        found = gpu_runtime()
        if found is None:
            raise DeviceUnavailable(no_gpu_reason(device))
        return found
    if config is not None and large(config) and runtimes_torch.available() and cpu_has_native_bf16():
        return "torch"
    return "numpy"


def gpu_runtime() -> str | None:
    """The runtime that would run on a GPU here (Paddle first), or None."""
    if not gpu_present():
        return None
    for name in ("paddle", "torch"):
        module = _runtime_module(name)
        if module.available() and module.cuda_available():
            return name
    return None


def no_gpu_reason(device: str) -> str:
    """Why `device` (cuda...) cannot be used here, naming the real cause."""
    if not gpu_present():
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1")
        return f"device {device!r} asked for, but " + (
            "CUDA_VISIBLE_DEVICES hides every GPU" if hidden else "this machine has no NVIDIA GPU (no driver lists one)"
        )
    builds = [f"{name} ({'CPU-only build' if _runtime_module(name).available() else 'not installed'})"
              for name in ("paddle", "torch")]  # fmt: skip
    return f"device {device!r} asked for; a GPU is present but neither runtime can use it: {', '.join(builds)}"


# A vision tower this costly per image (ViT-B/16 and up) pays torch's 2.5 s import back within seconds.
LARGE_GFLOP = 20.0


def large(config: ModelConfig) -> bool:
    return vision_gflop(config) >= LARGE_GFLOP


def vision_gflop(config: ModelConfig) -> float:
    """GFLOP of one image through the vision tower (matrix products; ViT-g/14: 534)."""
    v = config.vision
    tokens = v.grid * v.grid + 1
    per_token = 4 * v.width * v.width + 2 * v.width * v.mlp + 2 * tokens * v.width
    return 2 * v.layers * tokens * per_token / 1e9


def query_runtime(runtime: str, device: str, dtype: str, long_lived: bool = False) -> tuple[str, str]:
    """(runtime, dtype) to encode queries with: 'auto' on the CPU is numpy, whose start costs no framework
    import (torch's alone is 2.5 s on 2 cores); where a GPU would run it, that runtime's own choice. A
    long-lived process (`pixseek serve`) pays the import once: there torch, on a CPU that multiplies
    bfloat16 natively, reads half the bytes per query (a ViT-g/14 text query: 0.12 s against numpy's 0.3)."""
    if runtime != "auto" or device not in ("auto", "cpu") or (device == "auto" and gpu_runtime()):
        return runtime, dtype
    if long_lived and runtimes_torch.available() and cpu_has_native_bf16() and dtype in ("auto", "bfloat16"):
        return "torch", dtype
    return "numpy", dtype


def choose_device(runtime: str, device: str) -> str:
    """'auto' is the first GPU when the runtime sees one, else the CPU."""
    if device == "auto":
        return "cuda:0" if gpu_present() and _runtime_module(runtime).cuda_available() else "cpu"
    if device == "cpu" or device == "cuda" or device.startswith("cuda:"):
        if device.startswith("cuda") and not _runtime_module(runtime).cuda_available():
            if not gpu_present():
                raise DeviceUnavailable(no_gpu_reason(device))
            raise DeviceUnavailable(f"device {device!r} asked for, but this {runtime} build sees no GPU")
        return "cuda:0" if device == "cuda" else device
    raise ModelError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")


def runtime_class(runtime: str) -> type[Encoder]:
    return {
        "paddle": runtimes_paddle.PaddleEncoder,
        "torch": runtimes_torch.TorchEncoder,
        "numpy": runtimes_numpy.NumpyEncoder,
    }[runtime]


def load_encoder(name_or_path: str, *, runtime: str, device: str, dtype: str, batch_size: int) -> Encoder:
    """Resolve and validate a model; its towers are read (from the weights cache) when first used."""
    fp8 = resolve_dtype(dtype, "cpu", "float32", fp8=True) == "float8"  # an unknown dtype fails before any read
    name, path = registry.resolve_model(name_or_path)
    config = read_model_config(path)
    runtime = choose_runtime("torch" if fp8 and runtime == "auto" else runtime, device, config)  # fp8: torch's
    device = choose_device(runtime, device)
    cls = runtime_class(runtime)
    dtype = cls.resolve(dtype, device)
    source = weights_file(path)
    key = cache.Key(path, source, weights_sha256(source), config, cls.layout, cls.stored(dtype))
    weights = TowerWeights.cached(key)
    encoder = cls(name, path, config, weights, device=device, dtype=dtype, batch_size=batch_size)
    encoder.tokenizer  # noqa: B018 - a missing or broken tokenizer file fails here, at load
    weights.prepare()
    return encoder


def build_encoder(name, path, config, state, *, runtime: str, device: str, dtype: str, batch_size: int) -> Encoder:
    """An encoder over a canonical state already in memory (random weights), nothing cached."""
    check_state(state, config, "in-memory state")
    runtime = choose_runtime(runtime, device, config)
    device = choose_device(runtime, device)
    cls = runtime_class(runtime)
    dtype = cls.resolve(dtype, device)
    weights = TowerWeights.in_memory(state, cls.layout, cls.stored(dtype))
    return cls(name, path, config, weights, device=device, dtype=dtype, batch_size=batch_size)


def load_model(
    name_or_path: str | Path = "tiny-shapes",
    runtime: str = "auto",
    device: str = "auto",
    *,
    dtype: str = "auto",
    batch_size: int = 32,
) -> Encoder:
    """Load a model by registered name or directory on the chosen runtime ('paddle', 'torch', 'numpy',
    'auto'); `dtype` is the weights' precision ('auto': what the runtime and device do best)."""
    return load_encoder(str(name_or_path), runtime=runtime, device=device, dtype=dtype, batch_size=batch_size)
