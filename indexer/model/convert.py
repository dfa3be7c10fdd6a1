"""Key and layout conversion between the canonical (PaddleNLP) state dict, open_clip's and Hugging Face's.

All numpy, no framework: Paddle Linear weights are [in, out], PyTorch's are [out, in]; open_clip fuses
q/k/v into one in_proj [3d, d]; the two projections are [width, embed] in Paddle and open_clip and
Linear layers ([embed, width]) in Hugging Face.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

State = dict[str, np.ndarray]

_LAYER = re.compile(r"^(vision_model|text_model)\.transformer\.layers\.(\d+)\.(.+)$")
# Canonical per-layer suffix -> open_clip suffix, and whether the array is transposed on the way.
_OC_LAYER = {
    "self_attn.out_proj.weight": ("attn.out_proj.weight", True),
    "self_attn.out_proj.bias": ("attn.out_proj.bias", False),
    "linear1.weight": ("mlp.c_fc.weight", True),
    "linear1.bias": ("mlp.c_fc.bias", False),
    "linear2.weight": ("mlp.c_proj.weight", True),
    "linear2.bias": ("mlp.c_proj.bias", False),
    "norm1.weight": ("ln_1.weight", False),
    "norm1.bias": ("ln_1.bias", False),
    "norm2.weight": ("ln_2.weight", False),
    "norm2.bias": ("ln_2.bias", False),
}
_OC_TOP = {
    "vision_model.conv1.weight": "visual.conv1.weight",
    "vision_model.class_embedding": "visual.class_embedding",
    "vision_model.positional_embedding.weight": "visual.positional_embedding",
    "vision_model.ln_pre.weight": "visual.ln_pre.weight",
    "vision_model.ln_pre.bias": "visual.ln_pre.bias",
    "vision_model.ln_post.weight": "visual.ln_post.weight",
    "vision_model.ln_post.bias": "visual.ln_post.bias",
    "vision_projection": "visual.proj",
    "text_model.token_embedding.weight": "token_embedding.weight",
    "text_model.positional_embedding.weight": "positional_embedding",
    "text_model.ln_final.weight": "ln_final.weight",
    "text_model.ln_final.bias": "ln_final.bias",
    "text_projection": "text_projection",
}
_OC_PREFIX = {"vision_model": "visual.transformer.resblocks", "text_model": "transformer.resblocks"}


def open_clip_layout(state: State) -> dict[str, Callable[[], np.ndarray]]:
    """open_clip's name -> a function making that tensor from the canonical state, in open_clip's order
    within each tower: a converter can write one tensor at a time and hold no second copy of the model."""
    out: dict[str, Callable[[], np.ndarray]] = {}
    for key, value in state.items():
        match = _LAYER.match(key)
        if key == "logit_scale":
            out[key] = lambda v=value: v.reshape(())
        elif key in _OC_TOP:
            out[_OC_TOP[key]] = lambda v=value: v
        elif match and match.group(3) in _OC_LAYER:
            name, transpose = _OC_LAYER[match.group(3)]
            out[f"{_OC_PREFIX[match.group(1)]}.{match.group(2)}.{name}"] = lambda v=value, t=transpose: v.T if t else v
    for tower, prefix in _OC_PREFIX.items():
        for i in _layer_indices(state, tower):
            base = f"{tower}.transformer.layers.{i}.self_attn"
            weights = [f"{base}.{p}_proj.weight" for p in "qkv"]
            biases = [f"{base}.{p}_proj.bias" for p in "qkv"]
            out[f"{prefix}.{i}.attn.in_proj_weight"] = lambda w=weights: np.concatenate([state[k].T for k in w], axis=0)
            out[f"{prefix}.{i}.attn.in_proj_bias"] = lambda b=biases: np.concatenate([state[k] for k in b])
    return out


def paddle_to_open_clip(state: State) -> State:
    """Canonical state -> open_clip CLIP state dict (numpy; torch.from_numpy on the result)."""
    return {k: np.ascontiguousarray(make()) for k, make in open_clip_layout(state).items()}


def open_clip_to_paddle(state: State) -> State:
    """open_clip CLIP state dict (numpy) -> canonical state."""
    top = {v: k for k, v in _OC_TOP.items()}
    layer = {v[0]: (k, v[1]) for k, v in _OC_LAYER.items()}
    pattern = re.compile(r"^(visual\.transformer|transformer)\.resblocks\.(\d+)\.(.+)$")
    out: State = {}
    for key, value in state.items():
        match = pattern.match(key)
        if key == "logit_scale":
            out[key] = np.asarray(value).reshape(1)
        elif key in top:
            out[top[key]] = value
        elif match:
            tower = "vision_model" if match.group(1).startswith("visual") else "text_model"
            base = f"{tower}.transformer.layers.{match.group(2)}"
            out.update(_from_open_clip_layer(base, match.group(3), value, layer))
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _from_open_clip_layer(base: str, suffix: str, value: np.ndarray, layer: dict) -> State:
    if suffix == "attn.in_proj_weight":
        return {
            f"{base}.self_attn.{p}_proj.weight": w.T for p, w in zip("qkv", np.split(value, 3, axis=0), strict=True)
        }
    if suffix == "attn.in_proj_bias":
        return {f"{base}.self_attn.{p}_proj.bias": b for p, b in zip("qkv", np.split(value, 3), strict=True)}
    if suffix in layer:
        name, transpose = layer[suffix]
        return {f"{base}.{name}": value.T if transpose else value}
    return {}  # buffers such as attn_mask are not parameters


# Hugging Face CLIPModel names -> canonical names (per-layer parts rewritten by _HF_LAYER_PARTS).
_HF_TOP = {
    "text_model.embeddings.token_embedding.weight": "text_model.token_embedding.weight",
    "text_model.embeddings.position_embedding.weight": "text_model.positional_embedding.weight",
    "text_model.final_layer_norm.weight": "text_model.ln_final.weight",
    "text_model.final_layer_norm.bias": "text_model.ln_final.bias",
    "vision_model.embeddings.class_embedding": "vision_model.class_embedding",
    "vision_model.embeddings.patch_embedding.weight": "vision_model.conv1.weight",
    "vision_model.embeddings.position_embedding.weight": "vision_model.positional_embedding.weight",
    "vision_model.pre_layrnorm.weight": "vision_model.ln_pre.weight",
    "vision_model.pre_layrnorm.bias": "vision_model.ln_pre.bias",
    "vision_model.post_layernorm.weight": "vision_model.ln_post.weight",
    "vision_model.post_layernorm.bias": "vision_model.ln_post.bias",
}
_HF_LAYER_PARTS = {"layer_norm1": "norm1", "layer_norm2": "norm2", "mlp.fc1": "linear1", "mlp.fc2": "linear2"}
_HF_LAYER = re.compile(r"^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")


def hf_to_paddle(state: State) -> State:
    """Hugging Face CLIPModel state dict (numpy) -> canonical state."""
    out: State = {}
    for key, value in state.items():
        match = _HF_LAYER.match(key)
        if key in _HF_TOP:
            out[_HF_TOP[key]] = value
        elif key in ("visual_projection.weight", "text_projection.weight"):
            out["vision_projection" if key.startswith("visual") else "text_projection"] = value.T
        elif key == "logit_scale":
            out[key] = np.asarray(value).reshape(1)
        elif match:
            tower, index, part, kind = match.groups()
            part = _HF_LAYER_PARTS.get(part, part)
            linear = kind == "weight" and not part.startswith("norm")
            out[f"{tower}.transformer.layers.{index}.{part}.{kind}"] = value.T if linear else value
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _layer_indices(state: State, tower: str) -> list[int]:
    found = {int(m.group(2)) for k in state if (m := _LAYER.match(k)) and m.group(1) == tower}
    return sorted(found)
