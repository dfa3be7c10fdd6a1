"""Images/s and texts/s of a model on a runtime, device, dtype and batch size.

    python bench/encode.py --arch vit-g-14 --runtime paddle --device cpu --images 4 --texts 8
    python bench/encode.py --arch vit-g-14 --runtime torch --device cuda --dtype bf16 --batch-size 64 \
        --images 2048 --timm --card "NVIDIA H100 80GB HBM3"

Random uint8 pixels go through the encoder's normalisation and vision tower (no JPEG decoding: that
is the indexer benchmark's job); texts are 5-word queries run EOT-truncated. With --timm, timm's
vit_giant_patch14_clip_224 runs on the same inputs, dtype and batch size in the same process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import emit, machine, random_encoder, slug

WORDS = "red green blue circle square star dog beach sunset small large on a the at top".split()


def queries(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 5)) for _ in range(n)]


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench_encoder(enc, n_images: int, n_texts: int, size: int) -> dict:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (n_images, size, size, 3), dtype=np.uint8)
    enc.encode_pixels(pixels[: enc.batch_size])  # warm-up: kernels, allocator, lazy init
    image_s = timed(enc.encode_pixels, pixels)
    texts = queries(n_texts)
    enc.encode_texts(texts[:8])
    text_s = timed(enc.encode_texts, texts) if n_texts else 0.0
    return {
        "images": n_images,
        "images_per_s": round(n_images / image_s, 2),
        "texts": n_texts,
        "texts_per_s": round(n_texts / text_s, 2) if n_texts else None,
    }


def fp32_agreement(enc, size: int) -> float:
    """Min cosine between this dtype's image vectors and the same model's fp32 ones (torch runtime)."""
    import torch

    pixels = np.random.default_rng(1).integers(0, 256, (16, size, size, 3), dtype=np.uint8)
    low = enc.encode_pixels(pixels)
    enc.model.to(dtype=torch.float32)
    high = enc.encode_pixels(pixels)
    return float((low * high).sum(axis=1).min())


def bench_timm(n_images: int, batch: int, dtype: str, device: str) -> float:
    """timm's ViT-g/14 CLIP vision tower, random weights, same dtype/batch: images/s."""
    import timm
    import torch

    torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(dtype, torch.float32)
    model = timm.create_model("vit_giant_patch14_clip_224", pretrained=False, num_classes=0)
    model = model.to(device=device, dtype=torch_dtype).eval()
    x = torch.randn(batch, 3, 224, 224, device=device, dtype=torch_dtype)
    with torch.inference_mode():
        model(x)
        torch.cuda.synchronize() if device.startswith("cuda") else None
        start = time.perf_counter()
        for _ in range(max(1, n_images // batch)):
            model(x)
        torch.cuda.synchronize() if device.startswith("cuda") else None
    return max(1, n_images // batch) * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit-g-14", help="architecture with random weights")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--timm", action="store_true", help="also run timm's vit_giant_patch14_clip_224")
    parser.add_argument("--card", default=None, help="accelerator name for the results file")
    parser.add_argument("--check-fp32", action="store_true", help="torch runtime: cosine vs fp32 vectors")
    args = parser.parse_args()
    enc = random_encoder(args.arch, args.runtime, args.device, args.dtype, args.batch_size)
    result = {
        "model": f"{args.arch} (random weights)",
        "runtime": enc.runtime,
        "device": enc.device,
        "dtype": enc.dtype,
        "batch_size": args.batch_size,
        "machine": machine(args.card),
        **bench_encoder(enc, args.images, args.texts, enc.config.vision.image_size),
    }
    if args.check_fp32 and enc.runtime == "torch":
        result["min_cosine_vs_fp32"] = round(fp32_agreement(enc, enc.config.vision.image_size), 6)
    if args.timm:
        del enc
        result["timm_vit_giant_patch14_clip_224_images_per_s"] = round(
            bench_timm(args.images, args.batch_size, args.dtype, result["device"]), 2
        )
    where = "gpu" if result["device"].startswith("cuda") else "cpu"
    emit(
        slug("encode", args.arch, result["runtime"], where, result["dtype"], f"bs{args.batch_size}", args.card), result
    )


if __name__ == "__main__":
    main()
