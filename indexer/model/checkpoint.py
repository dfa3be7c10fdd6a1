"""Read a model directory in any supported format into (ModelConfig, canonical numpy state).

Formats: the PaddleNLP release layout (config.json + model_state.pdparams), Hugging Face CLIP
(config.json + model.safetensors or pytorch_model.bin) and open_clip (open_clip_config.json +
open_clip_model.safetensors or open_clip_pytorch_model.bin). Everything is validated against the
config before a runtime sees it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from indexer.errors import BadModelFile, RuntimeUnavailable

from .config import OPENAI_MEAN, OPENAI_STD, ModelConfig, PreprocessConfig, TextConfig, VisionConfig, read_config
from .convert import State, hf_to_paddle, open_clip_to_paddle
from .state import check_state, expected_bytes
from .weights import load_pdparams

PDPARAMS = "model_state.pdparams"
HF_FILES = ("model.safetensors", "pytorch_model.bin")
OPEN_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def weights_file(path: Path) -> Path:
    """The weights file a model directory is read from, in order of preference."""
    for name in (PDPARAMS, *HF_FILES, *OPEN_CLIP_FILES):
        if (path / name).is_file():
            return path / name
    raise BadModelFile(str(path), f"no weights file ({PDPARAMS}, {', '.join(HF_FILES + OPEN_CLIP_FILES)})")


def read_model_config(path: Path) -> ModelConfig:
    """The config of a model directory in any supported format, without reading its weights."""
    if weights_file(path).name in OPEN_CLIP_FILES:
        return open_clip_config(path / "open_clip_config.json")
    return read_config(path)


def read_checkpoint(path: Path) -> tuple[ModelConfig, State]:
    """(config, canonical state) of a model directory; raises BadModelFile on any mismatch."""
    file = weights_file(path)
    config = read_model_config(path)
    # A weights file much larger than its config implies is refused before it is read.
    limit = int(expected_bytes(config) * 1.02) + (1 << 20)
    if file.name == PDPARAMS:
        state = load_pdparams(file, max_bytes=limit)
    else:
        raw = _read_torch_format(file, limit)
        state = open_clip_to_paddle(raw) if file.name in OPEN_CLIP_FILES else hf_to_paddle(raw)
    state = {k: np.asarray(v, dtype=np.float32) for k, v in state.items()}
    check_state(state, config, str(file))
    return config, state


def _read_torch_format(file: Path, limit: int) -> State:
    if file.stat().st_size > limit:
        raise BadModelFile(str(file), f"file is {file.stat().st_size} bytes, more than its config allows")
    if file.suffix == ".safetensors":
        from safetensors.numpy import load_file

        try:
            return load_file(str(file))
        except Exception as exc:  # safetensors raises its own untyped errors for malformed files
            raise BadModelFile(str(file), f"not a readable safetensors file ({exc})") from exc
    try:
        import torch
    except ImportError as exc:
        raise RuntimeUnavailable("torch", f"reading {file.name} needs torch; install pixseek[torch]") from exc
    try:
        raw = torch.load(file, map_location="cpu", weights_only=True)  # weights_only refuses code
    except Exception as exc:  # torch wraps unpickling errors in several types
        raise BadModelFile(str(file), f"not a readable checkpoint ({exc})") from exc
    raw = raw.get("state_dict", raw) if isinstance(raw, dict) else raw
    return {k.removeprefix("module."): v.float().numpy() for k, v in raw.items() if hasattr(v, "numpy")}


def open_clip_config(path: Path) -> ModelConfig:
    """ModelConfig from open_clip's open_clip_config.json (model_cfg + preprocess_cfg)."""
    try:
        data = json.loads(path.read_text())
        cfg, pre = data["model_cfg"], data.get("preprocess_cfg", {})
        v, t = cfg["vision_cfg"], cfg["text_cfg"]
        act = "quick_gelu" if cfg.get("quick_gelu", False) else "gelu"  # open_clip's default is exact gelu
        width = int(v["width"])
        vision = VisionConfig(
            width=width,
            layers=int(v["layers"]),
            heads=width // int(v.get("head_width", 64)),
            mlp=int(width * float(v.get("mlp_ratio", 4.0))),
            patch=int(v["patch_size"]),
            image_size=int(v["image_size"]),
            act=act,
            eps=1e-5,
        )
        text = TextConfig(
            width=int(t["width"]),
            layers=int(t["layers"]),
            heads=int(t["heads"]),
            mlp=int(int(t["width"]) * float(t.get("mlp_ratio", 4.0))),
            vocab=int(t.get("vocab_size", 49408)),
            context=int(t.get("context_length", 77)),
            act=act,
            eps=1e-5,
            eos_token_id=49407,
        )
        size = pre.get("size", vision.image_size)
        preprocess = PreprocessConfig(
            size=int(size if isinstance(size, int) else size[0]),
            mean=tuple(pre.get("mean", OPENAI_MEAN)),
            std=tuple(pre.get("std", OPENAI_STD)),
        )
        return ModelConfig(embed_dim=int(cfg["embed_dim"]), vision=vision, text=text, preprocess=preprocess)
    except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise BadModelFile(str(path), f"not a usable open_clip config ({exc})") from exc
