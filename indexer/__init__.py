"""pixseek's write side, one subpackage per stage of the data flow:

    sources/   files in: scan folders and tar shards, read bytes, decode (CPU, GPU); the synthetic set
    model/     CLIP: architectures, weights, tokenizer, transform, encoders on Paddle or torch
    library/   what search reads: catalog, vector index, refine store, on-disk index, status
    pipeline/  the index run: plan, read, encode, write, on one machine, several GPUs or Ray

The stable Python API: `load_model` and `index` (see README), and the typed errors.
"""

from .errors import (
    BadModelFile,
    BadVectors,
    CatalogError,
    DeviceUnavailable,
    DownloadError,
    ImageError,
    ImageTooLarge,
    IndexBudgetTooSmall,
    IndexCorrupt,
    Interrupted,
    LibraryWriteFailed,
    ModelError,
    ModelNotDownloaded,
    PixseekError,
    RuntimeUnavailable,
    UnknownModel,
    UnsafeWeights,
)
from .model import Embeddings, Encoder, ModelConfig, load_model, read_config
from .pipeline import IndexSettings, IndexSummary, index

__all__ = [
    "BadModelFile",
    "BadVectors",
    "CatalogError",
    "DeviceUnavailable",
    "DownloadError",
    "Embeddings",
    "Encoder",
    "ImageError",
]
__all__ += ["ImageTooLarge", "IndexBudgetTooSmall", "IndexCorrupt", "IndexSettings", "IndexSummary", "Interrupted"]
__all__ += ["LibraryWriteFailed", "ModelConfig", "ModelError", "ModelNotDownloaded", "PixseekError"]
__all__ += ["RuntimeUnavailable", "UnknownModel", "UnsafeWeights", "index", "load_model", "read_config"]
