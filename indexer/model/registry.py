"""Model names pixseek knows, where their directories live, and where their files come from."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from indexer.errors import ModelNotDownloaded, UnknownModel

from .download import RemoteFile

MODEL_FILES = (
    "config.json",
    "model_state.pdparams",
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
)
# PaddleNLP resolves community model names under this prefix (paddlenlp/utils/downloader.py).
PADDLENLP_COMMUNITY = "https://bj.bcebos.com/paddlenlp/models/community"


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    source: str | None  # base URL of the release's files; None for a model bundled with pixseek

    def remote_files(self, base_url: str | None = None) -> list[RemoteFile]:
        """The release's files; size and sha256 are unknown upstream, so they are recorded on first use."""
        base = (base_url or self.source or "").rstrip("/")
        return [RemoteFile(name=f, url=f"{base}/{f}", size=None, sha256=None) for f in MODEL_FILES]


REGISTRY: dict[str, RegisteredModel] = {
    "tiny-shapes": RegisteredModel(
        "tiny-shapes", "bundled tiny CLIP trained on synthetic shapes (tests and demo; not a photo model)", None
    ),
    "vit-g-14": RegisteredModel(
        "vit-g-14",
        "CLIP ViT-g/14 laion2B-s34B-b88K, PaddleNLP release (1024-d, 5.5 GB)",
        f"{PADDLENLP_COMMUNITY}/laion/CLIP-ViT-g-14-laion2B-s34B-b88K",
    ),
}


def models_dir() -> Path:
    """Where downloaded models live: $PIXSEEK_MODELS_DIR, else the user data directory."""
    env = os.environ.get("PIXSEEK_MODELS_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("pixseek")) / "models"


def bundled_dirs() -> list[Path]:
    """Folders holding bundled models: the source checkout's models/, or the installed share/ copy."""
    return [Path(__file__).resolve().parents[2] / "models", Path(sys.prefix) / "share" / "pixseek" / "models"]


def model_path(name: str) -> Path:
    """The directory a registered name stands for (it may not exist yet)."""
    if REGISTRY[name].source is None:
        found = [d / name for d in bundled_dirs() if (d / name / "config.json").is_file()]
        return found[0] if found else bundled_dirs()[0] / name
    return models_dir() / name


def resolve_model(name_or_path: str) -> tuple[str, Path]:
    """(display name, directory) for a registered name or a path to a model directory."""
    if name_or_path in REGISTRY:
        path = model_path(name_or_path)
        if not (path / "config.json").is_file():
            raise ModelNotDownloaded(name_or_path, str(path))
        return name_or_path, path
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve().name, path.resolve()
    raise UnknownModel(name_or_path, sorted(REGISTRY))
