"""How many images go to the model at once when --batch-size is not given: what fits the GPU's free memory.

The vision tower's working set grows with the batch: per image, the tokens times a block's widest
live tensors (residual, norm, attention in and out, the MLP's hidden layer), plus the input crop in
uint8, float32 and the model's dtype. That estimate, doubled for the allocator's slack, is set
against the device's free memory once the model is loaded, less a reserve for the JPEG decoder's
buffers (a chunk of 12 MP images and its float resize take about 3 GB). Batches beyond AUTO_CAP do not
run faster (ViT-g/14 on an H100: 852 images/s at 64, 868 at 256), so the result is the largest power
of two up to AUTO_CAP that fits.
"""

from __future__ import annotations

from indexer.model import ModelConfig

DEFAULT = 32  # on the CPU, and for runtimes that cannot tell free device memory
AUTO_CAP = 256
DECODE_RESERVE = 4 * 2**30  # bytes kept free for the device JPEG decoder (indexer.sources.decode_threads)
USABLE = 0.8  # fraction of the free memory a batch may take
SLACK = 2  # the caching allocator's rounding and fragmentation over the estimate
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float8": 2}  # FP8: bfloat16 activations


def image_bytes(config: ModelConfig, dtype: str) -> int:
    """Estimated device bytes one image of a batch needs in the vision tower."""
    v = config.vision
    tokens = v.grid**2 + 1
    live = tokens * (4 * v.width + v.mlp) * DTYPE_BYTES[dtype]
    pixels = v.image_size**2 * 3 * (1 + 4 + DTYPE_BYTES[dtype])
    return SLACK * (live + pixels)


def fitting(free_bytes: int, per_image: int, cap: int = AUTO_CAP) -> int:
    """The largest power of two up to `cap` whose batch fits in `free_bytes` (at least 1)."""
    room = free_bytes * USABLE - DECODE_RESERVE
    size = 1
    while size * 2 <= cap and size * 2 * per_image <= room:
        size *= 2
    return size


def given(batch_size: int | None) -> int:
    """--batch-size, or DEFAULT where no GPU memory decides it (the host path's batches, Ray's and the GPU
    workers' encoders)."""
    return batch_size or DEFAULT


def for_encoder(encoder) -> int:
    """The batch size for a loaded encoder: from its GPU's free memory (torch runtime), else DEFAULT."""
    if not encoder.device.startswith("cuda") or getattr(encoder, "runtime", None) != "torch":
        return DEFAULT
    import torch

    free, _ = torch.cuda.mem_get_info(encoder.device)
    return fitting(free, image_bytes(encoder.config, encoder.dtype))
