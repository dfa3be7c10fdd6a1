"""pixseek's write side, one subpackage per stage of the data flow:

    sources/   files in: scan folders and tar shards, read bytes, decode (CPU, GPU); the synthetic set
    model/     CLIP: architectures, weights, tokenizer, transform, encoders on Paddle or torch
    library/   what search reads: catalog, vector index, refine store, on-disk index, status
    pipeline/  the index run: plan, read, encode, write, on one machine, several GPUs or Ray

The stable Python API: `load_model` and `index` (see README), and the typed errors.
"""

import os

# Hardware work queues a CUDA context spreads its streams over, read when the context is made (so set here, before
# any of pixseek's code touches the device; a value the user set stays). With CUDA's default of 8, the hardware JPEG
# decoder's streams share queues with the encoder's, and each of its kernels waits behind the vision tower's queued
# batch: on one H100 it decoded 74 images/s beside encoding batches of 256 at 8 queues, 825 at 32 (alone 666).
os.environ.setdefault("CUDA_DEVICE_MAX_CONNECTIONS", "32")

from .errors import (  # noqa: E402 - after the environment the device reads
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
