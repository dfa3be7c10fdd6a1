"""A CLIP model's architecture and preprocessing, read from the PaddleNLP-layout JSON files.

The files are those of the PaddleNLP release of laion/CLIP-ViT-g-14-laion2B-s34B-b88K:
config.json (CLIPConfig with text_config and vision_config) and preprocessor_config.json.
Everything is validated here, before any weight is allocated: a config that silently
falls back to a default (PaddleNLP's hidden_act default is quick_gelu, ViT-g/14 uses exact
gelu) is the worst bug this layer can have, so such fields must be explicit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.errors import BadModelFile

ACTIVATIONS = ("gelu", "quick_gelu")
# Upper bounds that refuse absurd configs before anything is allocated; ViT-g/14 is well inside,
# and so is ViT-bigG/14 (width 1664, 48 layers, MLP 8192).
MAX_WIDTH, MAX_LAYERS, MAX_MLP, MAX_VOCAB, MAX_CONTEXT, MAX_IMAGE = 8192, 128, 32768, 1_000_000, 1024, 1024
MAX_JSON_BYTES = 1 << 20  # config files are a few KB; a larger one is not what it claims to be
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class VisionConfig:
    width: int
    layers: int
    heads: int
    mlp: int
    patch: int
    image_size: int
    act: str
    eps: float

    @property
    def grid(self) -> int:
        return self.image_size // self.patch


@dataclass(frozen=True)
class TextConfig:
    width: int
    layers: int
    heads: int
    mlp: int
    vocab: int
    context: int
    act: str
    eps: float
    eos_token_id: int


@dataclass(frozen=True)
class PreprocessConfig:
    """open_clip's eval transform: resize short side (bicubic), centre crop, normalise."""

    size: int = 224
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    resample: str = "bicubic"


@dataclass(frozen=True)
class ModelConfig:
    embed_dim: int
    vision: VisionConfig
    text: TextConfig
    preprocess: PreprocessConfig

    def param_count(self) -> int:
        """Number of weights the config implies (both towers, projections, logit scale)."""
        v, t = self.vision, self.text
        v_layer = 4 * v.width * v.width + 4 * v.width + 2 * v.width * v.mlp + v.mlp + v.width + 4 * v.width
        t_layer = 4 * t.width * t.width + 4 * t.width + 2 * t.width * t.mlp + t.mlp + t.width + 4 * t.width
        vision = 3 * v.patch * v.patch * v.width + v.width * (v.grid**2 + 2) + 4 * v.width + v.layers * v_layer
        text = t.vocab * t.width + t.context * t.width + 2 * t.width + t.layers * t_layer
        return vision + text + (v.width + t.width) * self.embed_dim + 1


def _field(section: dict, key: str, where: str, kind: type = int):
    if key not in section:
        raise BadModelFile(where, f"missing field {key!r}")
    value = section[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadModelFile(where, f"field {key!r} must be an integer, got {value!r}")
    if kind is float and not isinstance(value, (int, float)):
        raise BadModelFile(where, f"field {key!r} must be a number, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise BadModelFile(where, f"field {key!r} must be a string, got {value!r}")
    return value


def _bounded(value: int, limit: int, key: str, where: str) -> int:
    if not 1 <= value <= limit:
        raise BadModelFile(where, f"field {key!r} = {value} is outside 1..{limit}")
    return value


def _activation(section: dict, where: str) -> str:
    if "hidden_act" not in section:
        raise BadModelFile(
            where,
            "field 'hidden_act' is missing; it must be explicit ('gelu' for ViT-g/14, 'quick_gelu' for OpenAI "
            "models) because PaddleNLP would silently default to quick_gelu",
        )
    act = section["hidden_act"]
    if act not in ACTIVATIONS:
        raise BadModelFile(where, f"hidden_act {act!r} is not one of {', '.join(ACTIVATIONS)}")
    return act


def _eps(section: dict, where: str) -> float:
    eps = float(_field(section, "layer_norm_eps", where, float)) if "layer_norm_eps" in section else 1e-5
    # Paddle's TransformerEncoderLayer ignores the config's eps and always uses 1e-5.
    if abs(eps - 1e-5) > 1e-12:
        raise BadModelFile(where, f"layer_norm_eps {eps} is not supported (the Paddle runtime uses 1e-5)")
    return eps


def _heads(width: int, heads: int, where: str, tower: str) -> int:
    if width % heads:
        raise BadModelFile(where, f"{tower} hidden_size {width} is not divisible by num_attention_heads {heads}")
    return heads


def _vision(section: dict, where: str) -> VisionConfig:
    width = _bounded(_field(section, "hidden_size", where), MAX_WIDTH, "vision hidden_size", where)
    image = _bounded(_field(section, "image_size", where), MAX_IMAGE, "image_size", where)
    patch = _bounded(_field(section, "patch_size", where), image, "patch_size", where)
    if image % patch:
        raise BadModelFile(where, f"image_size {image} is not a multiple of patch_size {patch}")
    if section.get("num_channels", 3) != 3:
        raise BadModelFile(where, "num_channels must be 3")
    return VisionConfig(
        width=width,
        layers=_bounded(_field(section, "num_hidden_layers", where), MAX_LAYERS, "vision num_hidden_layers", where),
        heads=_heads(width, _field(section, "num_attention_heads", where), where, "vision"),
        mlp=_bounded(_field(section, "intermediate_size", where), MAX_MLP, "vision intermediate_size", where),
        patch=patch,
        image_size=image,
        act=_activation(section, where + " (vision_config)"),
        eps=_eps(section, where),
    )


def _text(section: dict, where: str) -> TextConfig:
    width = _bounded(_field(section, "hidden_size", where), MAX_WIDTH, "text hidden_size", where)
    return TextConfig(
        width=width,
        layers=_bounded(_field(section, "num_hidden_layers", where), MAX_LAYERS, "text num_hidden_layers", where),
        heads=_heads(width, _field(section, "num_attention_heads", where), where, "text"),
        mlp=_bounded(_field(section, "intermediate_size", where), MAX_MLP, "text intermediate_size", where),
        vocab=_bounded(_field(section, "vocab_size", where), MAX_VOCAB, "vocab_size", where),
        context=_bounded(_field(section, "max_position_embeddings", where), MAX_CONTEXT, "context", where),
        act=_activation(section, where + " (text_config)"),
        eps=_eps(section, where),
        eos_token_id=int(section.get("eos_token_id", 49407)),
    )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise BadModelFile(str(path), "file is missing")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise BadModelFile(str(path), f"{path.stat().st_size} bytes is too large for a config file; not read")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadModelFile(str(path), f"not readable JSON ({exc})") from exc
    except RecursionError:
        raise BadModelFile(str(path), "not readable JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise BadModelFile(str(path), "expected a JSON object")
    return data


def read_preprocess(model_dir: Path) -> PreprocessConfig:
    """Read preprocessor_config.json (Hugging Face/PaddleNLP CLIPImageProcessor fields)."""
    path = model_dir / "preprocessor_config.json"
    data = _read_json(path)
    crop = data.get("crop_size", 224)
    size = crop.get("height", 224) if isinstance(crop, dict) else crop
    mean, std = tuple(data.get("image_mean", OPENAI_MEAN)), tuple(data.get("image_std", OPENAI_STD))
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise BadModelFile(str(path), "image_mean and image_std must be three numbers, std > 0")
    # resample 3 is PIL.Image.BICUBIC, the only filter open_clip's eval transform uses.
    if data.get("resample", 3) != 3:
        raise BadModelFile(str(path), f"resample {data['resample']} is not bicubic (3)")
    return PreprocessConfig(size=int(size), mean=mean, std=std)


def parse_config(data: dict, preprocess: PreprocessConfig, where: str = "config.json") -> ModelConfig:
    """Validate a PaddleNLP CLIPConfig object (the content of config.json)."""
    for key in ("text_config", "vision_config"):
        if not isinstance(data.get(key), dict):
            raise BadModelFile(where, f"missing object {key!r}")
    config = ModelConfig(
        embed_dim=_bounded(_field(data, "projection_dim", where), MAX_WIDTH, "projection_dim", where),
        vision=_vision(data["vision_config"], where),
        text=_text(data["text_config"], where),
        preprocess=preprocess,
    )
    if config.preprocess.size != config.vision.image_size:
        raise BadModelFile(where, f"crop size {config.preprocess.size} != image_size {config.vision.image_size}")
    return config


def read_config(model_dir: str | Path) -> ModelConfig:
    """Read and validate config.json and preprocessor_config.json of a model directory."""
    model_dir = Path(model_dir)
    path = model_dir / "config.json"
    return parse_config(_read_json(path), read_preprocess(model_dir), str(path))


def to_paddlenlp_dict(config: ModelConfig) -> dict:
    """The config.json object PaddleNLP's CLIPConfig reads (and that read_config accepts)."""
    v, t = config.vision, config.text
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": config.embed_dim,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "vocab_size": t.vocab,
            "hidden_size": t.width,
            "intermediate_size": t.mlp,
            "num_hidden_layers": t.layers,
            "num_attention_heads": t.heads,
            "max_position_embeddings": t.context,
            "hidden_act": t.act,
            "layer_norm_eps": t.eps,
            "eos_token_id": t.eos_token_id,
            "bos_token_id": 49406,
            "pad_token_id": 1,
        },
        "vision_config": {
            "hidden_size": v.width,
            "intermediate_size": v.mlp,
            "num_hidden_layers": v.layers,
            "num_attention_heads": v.heads,
            "image_size": v.image_size,
            "patch_size": v.patch,
            "num_channels": 3,
            "hidden_act": v.act,
            "layer_norm_eps": v.eps,
        },
    }


def preprocessor_dict(pre: PreprocessConfig) -> dict:
    """The preprocessor_config.json object (CLIPImageProcessor fields)."""
    return {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": pre.size},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": pre.size, "width": pre.size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(pre.mean),
        "image_std": list(pre.std),
        "do_convert_rgb": True,
    }


def write_config(config: ModelConfig, model_dir: str | Path) -> None:
    """Write config.json and preprocessor_config.json for `config` into model_dir."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "config.json").write_text(json.dumps(to_paddlenlp_dict(config), indent=2) + "\n")
    pre = json.dumps(preprocessor_dict(config.preprocess), indent=2)
    (model_dir / "preprocessor_config.json").write_text(pre + "\n")


def as_dict(config: ModelConfig) -> dict:
    """Plain dict of the validated config, for `pixseek models info`."""
    return asdict(config)
