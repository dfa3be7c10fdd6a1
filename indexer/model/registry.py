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
# The files of a LAION release in open_clip's layout on the Hugging Face hub (tokenizer files beside them).
OPEN_CLIP_FILES = ("open_clip_config.json", "open_clip_model.safetensors", "vocab.json", "merges.txt")
# PaddleNLP resolves community model names under this prefix (paddlenlp/utils/downloader.py).
PADDLENLP_COMMUNITY = "https://bj.bcebos.com/paddlenlp/models/community"
HF_LAION = "https://huggingface.co/laion"
# bench/encode.py on a 2-core AMD EPYC (Zen 4, AVX512-BF16), random weights of each real shape, auto runtime
# (numpy for ViT-B/32, torch bfloat16 for the others): bench/results/encode-<arch>-*-cpu-bfloat16-*.json.
CPU_RATES: dict[str, float] = {"vit-b-32": 11.9, "vit-l-14": 1.74, "vit-h-14": 0.93, "vit-g-14": 0.63}


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    source: str | None  # base URL of the release's files; None for a model bundled with pixseek
    files: tuple[str, ...] = MODEL_FILES
    architecture: str | None = None  # its architectures/*.json, for costs known before a download
    # Images/s of `pixseek index` on the CPU this was measured on (random weights of the real shape,
    # bench/results/encode-<name>-*-cpu-*.json: a 2-core AMD EPYC with AVX512-BF16), for a first guess.
    cpu_images_per_s: float | None = None

    def remote_files(self, base_url: str | None = None) -> list[RemoteFile]:
        """The release's files. Their sizes and sha256 are not published where pixseek can read them, so
        they are computed while each file downloads and kept in the model folder's .download.json."""
        base = (base_url or self.source or "").rstrip("/")
        return [RemoteFile(name=f, url=f"{base}/{f}", size=None, sha256=None) for f in self.files]


REGISTRY: dict[str, RegisteredModel] = {
    "tiny-shapes": RegisteredModel(
        "tiny-shapes", "bundled tiny CLIP trained on synthetic shapes (tests and demo; not a photo model)", None
    ),
    "vit-g-14": RegisteredModel(
        "vit-g-14",
        "CLIP ViT-g/14 laion2B-s34B-b88K, PaddleNLP release (1024-d, 5.5 GB; ImageNet zero-shot 78.5%)",
        f"{PADDLENLP_COMMUNITY}/laion/CLIP-ViT-g-14-laion2B-s34B-b88K",
        architecture="vit-g-14",
        cpu_images_per_s=CPU_RATES.get("vit-g-14"),
    ),
    "vit-h-14": RegisteredModel(
        "vit-h-14",
        "CLIP ViT-H/14 laion2B-s32B-b79K, open_clip release (1024-d, 3.9 GB; ImageNet zero-shot 78.0%)",
        f"{HF_LAION}/CLIP-ViT-H-14-laion2B-s32B-b79K/resolve/main",
        OPEN_CLIP_FILES,
        "vit-h-14",
        CPU_RATES.get("vit-h-14"),
    ),
    "vit-l-14": RegisteredModel(
        "vit-l-14",
        "CLIP ViT-L/14 laion2B-s32B-b82K, open_clip release (768-d, 1.7 GB; ImageNet zero-shot 75.3%)",
        f"{HF_LAION}/CLIP-ViT-L-14-laion2B-s32B-b82K/resolve/main",
        OPEN_CLIP_FILES,
        "vit-l-14",
        CPU_RATES.get("vit-l-14"),
    ),
    "vit-b-32": RegisteredModel(
        "vit-b-32",
        "CLIP ViT-B/32 laion2B-s34B-b79K, open_clip release (512-d, 0.6 GB; ImageNet zero-shot 66.6%)",
        f"{HF_LAION}/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main",
        OPEN_CLIP_FILES,
        "vit-b-32",
        CPU_RATES.get("vit-b-32"),
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


def is_installed(path: Path) -> bool:
    """Whether a model directory holds a config in either layout (PaddleNLP's or open_clip's)."""
    return (path / "config.json").is_file() or (path / "open_clip_config.json").is_file()


def resolve_model(name_or_path: str) -> tuple[str, Path]:
    """(display name, directory) for a registered name or a path to a model directory."""
    if name_or_path in REGISTRY:
        path = model_path(name_or_path)
        if not is_installed(path):
            raise ModelNotDownloaded(name_or_path, str(path))
        return name_or_path, path
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve().name, path.resolve()
    raise UnknownModel(name_or_path, sorted(REGISTRY))


def cheapest(than_gflop: float, gflop_of) -> tuple[str, float] | None:
    """(name, GFLOP per image) of the least costly registered release that costs under half `than_gflop`;
    `gflop_of(architecture name)` prices one. None when nothing registered is that much cheaper."""
    priced = [(gflop_of(m.architecture), n) for n, m in REGISTRY.items() if m.architecture and m.source]
    cheaper = sorted((g, n) for g, n in priced if g < than_gflop / 2)
    return (cheaper[0][1], cheaper[0][0]) if cheaper else None
