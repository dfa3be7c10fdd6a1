"""What `pixseek models info` and `models cache` report: a model's architecture, cost, the precision
and runtime this machine would use, and the weights cache's entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import cache
from .checkpoint import read_model_config, weights_file
from .directory import architecture
from .encoder import weights_sha256
from .hardware import cpu_has_native_bf16, cpu_precision
from .load import choose_runtime, load_encoder, query_runtime, runtime_class, vision_gflop
from .registry import REGISTRY, RegisteredModel, cheapest, is_installed, model_path, resolve_model
from .state import state_shapes


def describe_model(name_or_path: str) -> dict:
    """Validate a model (its checkpoint is read once, into the weights cache) and describe it. A registered
    model that is not downloaded is described from its architecture (no weights are read): `installed` False."""
    if name_or_path in REGISTRY and not is_installed(model_path(name_or_path)):
        registered = REGISTRY[name_or_path]
        if registered.architecture is None:
            resolve_model(name_or_path)  # raises: a bundled model that is missing from this installation
        config = architecture(registered.architecture)
        return _summary(name_or_path, config, registered, installed=False) | {"path": str(model_path(name_or_path))}
    name, path = resolve_model(name_or_path)
    config = read_model_config(path)
    encoder = load_encoder(str(path), runtime="auto", device="cpu", dtype="auto", batch_size=1)
    for tower in cache.TOWERS:
        encoder.weights.tower(tower)  # builds the entry (and validates the checkpoint) unless it is trusted
    source = weights_file(path)
    sha = weights_sha256(source)
    return _summary(name, config, REGISTRY.get(name), installed=True) | {
        "path": str(path),
        "weights": source.name,
        "weights_sha256": sha,
        "cache": [e for e in cache.entries() if e["source_sha256"] == sha],
    }


def _summary(name: str, config, registered: RegisteredModel | None, installed: bool) -> dict:
    v, t = config.vision, config.text
    index_runtime, query = choose_runtime("auto", "cpu", config), query_runtime("auto", "cpu", "auto")[0]
    return {
        "name": name,
        "description": registered.description if registered else None,
        "installed": installed,
        "dim": config.embed_dim,
        "parameters": int(sum(np.prod(s) for s in state_shapes(config).values())),
        "vision_gflop_per_image": round(vision_gflop(config), 2),
        "cpu_images_per_s_measured": registered.cpu_images_per_s if registered else None,
        "vision": {
            "width": v.width,
            "layers": v.layers,
            "heads": v.heads,
            "mlp": v.mlp,
            "patch": v.patch,
            "image_size": v.image_size,
            "act": v.act,
        },
        "text": {
            "width": t.width,
            "layers": t.layers,
            "heads": t.heads,
            "mlp": t.mlp,
            "context": t.context,
            "vocab": t.vocab,
            "act": t.act,
        },
        "cpu": {
            "native_bfloat16": cpu_has_native_bf16(),
            "precision": cpu_precision(),
            "index_with": f"{index_runtime} {runtime_class(index_runtime).resolve('auto', 'cpu')}",
            "query_with": f"{query} {runtime_class(query).resolve('auto', 'cpu')}",
        },
    }


def cache_entries() -> list[dict]:
    """Every weights cache entry (source, layout, precision, bytes, folder)."""
    return cache.entries()


def remove_cache(entry: str | Path | None = None) -> list[str]:
    """Remove one entry (a folder from cache_entries), or all of them; returns the folders removed."""
    chosen = [e["path"] for e in cache.entries() if entry is None or Path(e["path"]) == Path(entry)]
    if entry is not None and not chosen:
        cache.remove(entry)  # raises the error that says it is not an entry
    for path in chosen:
        cache.remove(path)
    return chosen


def cheaper_release(gflop: float) -> tuple[str, float] | None:
    """(name, GFLOP per image) of the least costly registered release under half `gflop`, or None."""
    return cheapest(gflop, lambda arch: vision_gflop(architecture(arch)))
