"""The canonical state-dict layout: PaddleNLP CLIPModel parameter names and shapes for a config.

Every checkpoint pixseek reads is brought to this layout (numpy arrays, Paddle's [in, out]
Linear weights), checked against it, and converted from it for the torch runtime.
"""

from __future__ import annotations

import numpy as np

from indexer.errors import BadModelFile

from .config import ModelConfig

Shape = tuple[int, ...]


def _encoder_layer(prefix: str, width: int, mlp: int) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes[f"{prefix}.self_attn.{proj}.weight"] = (width, width)
        shapes[f"{prefix}.self_attn.{proj}.bias"] = (width,)
    shapes[f"{prefix}.linear1.weight"] = (width, mlp)
    shapes[f"{prefix}.linear1.bias"] = (mlp,)
    shapes[f"{prefix}.linear2.weight"] = (mlp, width)
    shapes[f"{prefix}.linear2.bias"] = (width,)
    for norm in ("norm1", "norm2"):
        shapes[f"{prefix}.{norm}.weight"] = (width,)
        shapes[f"{prefix}.{norm}.bias"] = (width,)
    return shapes


def _norm(name: str, width: int) -> dict[str, Shape]:
    return {f"{name}.weight": (width,), f"{name}.bias": (width,)}


def vision_shapes(config: ModelConfig) -> dict[str, Shape]:
    v = config.vision
    shapes: dict[str, Shape] = {
        "vision_model.conv1.weight": (v.width, 3, v.patch, v.patch),
        "vision_model.class_embedding": (v.width,),
        "vision_model.positional_embedding.weight": (v.grid * v.grid + 1, v.width),
        **_norm("vision_model.ln_pre", v.width),
        **_norm("vision_model.ln_post", v.width),
        "vision_projection": (v.width, config.embed_dim),
    }
    for i in range(v.layers):
        shapes.update(_encoder_layer(f"vision_model.transformer.layers.{i}", v.width, v.mlp))
    return shapes


def text_shapes(config: ModelConfig) -> dict[str, Shape]:
    t = config.text
    shapes: dict[str, Shape] = {
        "text_model.token_embedding.weight": (t.vocab, t.width),
        "text_model.positional_embedding.weight": (t.context, t.width),
        **_norm("text_model.ln_final", t.width),
        "text_projection": (t.width, config.embed_dim),
    }
    for i in range(t.layers):
        shapes.update(_encoder_layer(f"text_model.transformer.layers.{i}", t.width, t.mlp))
    return shapes


def state_shapes(config: ModelConfig) -> dict[str, Shape]:
    """{name: shape} of every parameter of a CLIPModel with this config."""
    return {**vision_shapes(config), **text_shapes(config), "logit_scale": (1,)}


def expected_bytes(config: ModelConfig, itemsize: int = 4) -> int:
    """Size of the state at `itemsize` bytes per weight (the pickle adds a little)."""
    return sum(int(np.prod(s)) for s in state_shapes(config).values()) * itemsize


def check_state(state: dict[str, np.ndarray], config: ModelConfig, source: str) -> None:
    """Raise BadModelFile unless `state` has exactly the names and shapes the config implies."""
    shapes = state_shapes(config)
    missing = sorted(set(shapes) - set(state))
    extra = sorted(set(state) - set(shapes))
    if missing or extra:
        parts = [f"{len(missing)} missing (e.g. {missing[0]})"] if missing else []
        parts += [f"{len(extra)} unexpected (e.g. {extra[0]})"] if extra else []
        raise BadModelFile(source, "weights do not match config.json: " + ", ".join(parts))
    for name, shape in shapes.items():
        if tuple(state[name].shape) != shape:
            raise BadModelFile(source, f"{name} has shape {tuple(state[name].shape)}, config.json implies {shape}")


def random_state(config: ModelConfig, seed: int) -> dict[str, np.ndarray]:
    """Deterministic random weights at CLIP's init scales, for tests, tools and benchmarks."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, shape in state_shapes(config).items():
        if name.endswith(("norm1.weight", "norm2.weight")) or ".ln_" in name and name.endswith(".weight"):
            state[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif name == "logit_scale":
            state[name] = np.full(shape, np.log(1 / 0.07), np.float32)
        else:
            fan_in = shape[0] if len(shape) == 2 and "embedding" not in name else int(np.prod(shape[1:]) or shape[0])
            scale = 0.02 if "embedding" in name else fan_in**-0.5
            state[name] = (scale * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    return state
