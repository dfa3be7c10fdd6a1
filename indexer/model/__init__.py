"""CLIP models: what a model is (architecture as data, the release's files, weights and checkpoint
formats), how text and images become its input (tokenizer, transform), and the encoder that turns them
into L2-normalised vectors on a runtime (runtimes/: Paddle, torch). Knows nothing of libraries.

config (ModelConfig) <- state, weights, convert, checkpoint, directory, registry, download
<- tokenizer, transform <- encoder (the interface) <- runtimes/ <- load (load_model).
"""

from .checkpoint import read_checkpoint, weights_file
from .config import ModelConfig, PreprocessConfig, TextConfig, VisionConfig, read_config
from .directory import architecture, bpe_dir, write_model_dir
from .download import RemoteFile, download_model, sha256_file
from .encoder import Embeddings, Encoder, installed, l2_normalize
from .load import (
    ModelRef,
    build_encoder,
    choose_device,
    choose_runtime,
    load_encoder,
    load_model,
    model_ref,
    query_runtime,
)
from .registry import MODEL_FILES, REGISTRY, model_path, resolve_model
from .state import random_state
from .tokenizer import Tokenizer
from .transform import EXIF_ERRORS, MAX_RESIZED_RATIO, Crops, Pixels, crop_geometry, normalize, resize_crop, to_rgb

__all__ = ["EXIF_ERRORS", "MAX_RESIZED_RATIO", "MODEL_FILES", "REGISTRY", "Crops", "Embeddings", "Encoder"]
__all__ += ["ModelConfig", "ModelRef", "Pixels", "PreprocessConfig", "RemoteFile", "TextConfig", "Tokenizer"]
__all__ += ["VisionConfig", "architecture", "bpe_dir", "build_encoder", "choose_device", "choose_runtime"]
__all__ += ["crop_geometry", "download_model", "installed", "l2_normalize", "load_encoder", "load_model", "model_path"]
__all__ += ["model_ref", "normalize", "query_runtime", "random_state", "read_checkpoint", "read_config", "resize_crop"]
__all__ += ["resolve_model", "sha256_file", "to_rgb", "weights_file", "write_model_dir"]
