"""Images/s and texts/s of a model on a runtime, device, dtype and batch size.

    python bench/encode.py --arch vit-g-14 --device cpu --batch-size 8 --images 16 --texts 8   # auto runtime
    python bench/encode.py --arch vit-g-14 --runtime paddle --device cpu --images 4 --texts 8
    python bench/encode.py --arch vit-g-14 --runtime torch --device cuda --dtype bf16 --batch-size 64 \
        --images 2048 --timm --card "NVIDIA H100 80GB HBM3"

Random uint8 pixels go through the encoder's normalisation and vision tower (no JPEG decoding: that
is the indexer benchmark's job); texts are 5-word queries run EOT-truncated. Also printed: the GFLOP/s
of one matrix product in the runtime's arithmetic on this machine, and the share of it the encoder
reaches. With --timm, timm's vit_giant_patch14_clip_224 runs on the same inputs, dtype and batch size
in the same process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import emit, machine, random_encoder, slug

from indexer.model import vision_gflop

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


def fp32_agreement(enc, arch: str, size: int) -> float:
    """Min cosine between this precision's image vectors and the same weights' float32 ones."""
    low_pixels = np.random.default_rng(1).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    full = random_encoder(arch, enc.runtime, enc.device, "float32", enc.batch_size)
    return float((enc.encode_pixels(low_pixels) * full.encode_pixels(low_pixels)).sum(axis=1).min())


def gemm_rate(runtime: str, dtype: str, device: str) -> float:
    """GFLOP/s of one matrix product at ViT-g/14's MLP shape (2048 x 1408 @ 1408 x 6144) in the runtime's
    arithmetic: numpy float32 (it widens bfloat16 weights), torch and Paddle in their dtype."""
    m, k, n = 2048, 1408, 6144
    a, b = (np.random.default_rng(2).standard_normal(s, dtype=np.float32) for s in ((m, k), (k, n)))
    if runtime == "torch":
        import torch

        a, b = (torch.from_numpy(x).to(device=device, dtype=getattr(torch, dtype)) for x in (a, b))
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    elif runtime == "paddle":
        import paddle

        a, b, sync = paddle.to_tensor(a), paddle.to_tensor(b), (lambda: None)
    else:
        sync = lambda: None  # noqa: E731
    product = (lambda: paddle.matmul(a, b)) if runtime == "paddle" else (lambda: a @ b)
    product()
    sync()
    start, reps = time.perf_counter(), 5
    for _ in range(reps):
        product()
    sync()
    return 2 * m * k * n * reps / (time.perf_counter() - start) / 1e9


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
    parser.add_argument("--check-fp32", action="store_true", help="cosine of the vectors vs float32 weights'")
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
    arithmetic = "float32" if enc.runtime == "numpy" else enc.dtype
    gflop = vision_gflop(enc.config)
    result["vision_gflop_per_image"] = round(gflop, 1)
    result["gemm_gflop_per_s"] = round(gemm_rate(enc.runtime, arithmetic, enc.device), 1)
    result["encode_gflop_per_s"] = round(result["images_per_s"] * gflop, 1)
    result["encode_share_of_gemm"] = round(result["encode_gflop_per_s"] / result["gemm_gflop_per_s"], 3)
    if args.check_fp32 and enc.dtype != "float32":
        result["min_cosine_vs_fp32"] = round(fp32_agreement(enc, args.arch, enc.config.vision.image_size), 6)
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
