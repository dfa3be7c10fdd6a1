"""pixseek's write side: the CLIP model layer, and (later) scanning, the catalog and the index."""

from .encoder import Embeddings, Encoder, load_model
from .errors import (
    BadModelFile,
    DownloadError,
    ModelError,
    ModelNotDownloaded,
    PixseekError,
    RuntimeUnavailable,
    UnknownModel,
    UnsafeWeights,
)
from .model_config import ModelConfig, read_config

__all__ = [
    "BadModelFile",
    "DownloadError",
    "Embeddings",
    "Encoder",
    "ModelConfig",
    "ModelError",
    "ModelNotDownloaded",
    "PixseekError",
    "RuntimeUnavailable",
    "UnknownModel",
    "UnsafeWeights",
    "load_model",
    "read_config",
]
