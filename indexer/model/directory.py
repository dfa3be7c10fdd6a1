"""Named architectures (JSON beside this module) and writing a model directory in the release layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from indexer.errors import UnknownModel

from .config import ModelConfig, PreprocessConfig, parse_config, write_config
from .registry import bundled_dirs
from .state import check_state
from .weights import save_pdparams

ARCHITECTURES = Path(__file__).with_name("architectures")
SOT, EOT = "<|startoftext|>", "<|endoftext|>"


def list_architectures() -> list[str]:
    return sorted(p.stem for p in ARCHITECTURES.glob("*.json"))


def architecture(name: str, preprocess: PreprocessConfig | None = None) -> ModelConfig:
    """The ModelConfig of a named architecture ('vit-g-14', 'vit-g-14-narrow', ...) or of a config.json path."""
    path = Path(name) if name.endswith(".json") else ARCHITECTURES / f"{name}.json"
    if not path.is_file():
        raise UnknownModel(name, list_architectures())
    data = json.loads(path.read_text())
    if preprocess is None:
        preprocess = PreprocessConfig(size=int(data["vision_config"]["image_size"]))
    return parse_config(data, preprocess, str(path))


def bpe_dir() -> Path:
    """models/clip-bpe: vocab.json and merges.txt derived from open_clip's BPE (tools/make_bpe_files.py)."""
    for base in bundled_dirs():
        if (base / "clip-bpe" / "vocab.json").is_file():
            return base / "clip-bpe"
    raise FileNotFoundError("models/clip-bpe/vocab.json is not installed")


def _tokenizer_files(path: Path, context: int) -> None:
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(bpe_dir() / name, path / name)
    special = {"bos_token": SOT, "eos_token": EOT, "unk_token": EOT, "pad_token": "!"}
    tokenizer = {**special, "tokenizer_class": "CLIPTokenizer", "do_lower_case": True, "model_max_length": context}
    (path / "tokenizer_config.json").write_text(json.dumps(tokenizer, indent=2) + "\n")
    (path / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def write_model_dir(path: str | Path, config: ModelConfig, state: dict[str, np.ndarray]) -> Path:
    """Write a complete model directory (the seven files of the PaddleNLP release layout)."""
    path = Path(path)
    check_state(state, config, str(path))
    write_config(config, path)
    _tokenizer_files(path, config.text.context)
    save_pdparams(state, path / "model_state.pdparams")
    return path
