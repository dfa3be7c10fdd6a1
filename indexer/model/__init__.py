"""CLIP models: what a model is (architecture as data, the release's files, weights and checkpoint
formats), how text and images become its input (tokenizer, transform), and the encoder that turns them
into L2-normalised vectors on a runtime (runtimes/: Paddle, torch). Knows nothing of libraries.

config (ModelConfig) <- state, weights, convert, checkpoint, directory, registry, download
<- tensorfile, cache (weights converted per tower, memory-mapped) <- towers <- tokenizer, transform, cpu
<- encoder (the interface) <- runtimes/ (numpy, paddle, torch) <- load (load_model).
"""

from . import cache
from .checkpoint import read_checkpoint, weights_file
from .config import ModelConfig, PreprocessConfig, TextConfig, VisionConfig, read_config
from .directory import architecture, bpe_dir, write_model_dir
from .download import RemoteFile, download_model, sha256_file
from .encoder import Embeddings, Encoder, installed, l2_normalize, weights_sha256
from .hardware import cpu_has_native_bf16, cpu_precision, gpu_present
from .inspect import cache_entries, cheaper_release, describe_model, remove_cache
from .load import (
    ModelRef,
    build_encoder,
    choose_device,
    choose_runtime,
    load_encoder,
    load_model,
    model_ref,
    query_runtime,
    vision_gflop,
)
from .registry import MODEL_FILES, REGISTRY, is_installed, model_path, resolve_model
from .state import random_state
from .tokenizer import Tokenizer
from .towers import TowerWeights
from .transform import EXIF_ERRORS, MAX_RESIZED_RATIO, Crops, Pixels, crop_geometry, normalize, resize_crop, to_rgb

__all__ = [
    "EXIF_ERRORS",
    "MAX_RESIZED_RATIO",
    "MODEL_FILES",
    "REGISTRY",
    "Crops",
    "Embeddings",
    "Encoder",
    "ModelConfig",
    "ModelRef",
    "Pixels",
    "PreprocessConfig",
    "RemoteFile",
    "TextConfig",
    "Tokenizer",
    "TowerWeights",
    "VisionConfig",
    "architecture",
    "bpe_dir",
    "build_encoder",
    "cache",
    "cache_entries",
    "cheaper_release",
    "choose_device",
    "choose_runtime",
    "cpu_has_native_bf16",
    "cpu_precision",
    "crop_geometry",
    "describe_model",
    "download_model",
    "gpu_present",
    "installed",
    "is_installed",
    "l2_normalize",
    "load_encoder",
    "load_model",
    "model_path",
    "model_ref",
    "normalize",
    "query_runtime",
    "random_state",
    "read_checkpoint",
    "read_config",
    "remove_cache",
    "resize_crop",
    "resolve_model",
    "sha256_file",
    "to_rgb",
    "vision_gflop",
    "weights_file",
    "weights_sha256",
    "write_model_dir",
]
