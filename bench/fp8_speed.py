"""Where the FP8 vision tower's time goes on a GPU (issue 23), ViT-g/14 widths with random weights:

    python bench/fp8_speed.py --card "NVIDIA H100 80GB HBM3"

- the four linear shapes of a block at --batch-size images (257 tokens each): bfloat16 F.linear against
  torch._scaled_mm in e4m3 with per-row scales (what runtimes.fp8 uses) and with one scale per tensor, and the
  per-row quantisation of the activation alone, eager and compiled (TFLOP/s, milliseconds);
- the whole tower (indexer's torch runtime, --layers blocks) in bfloat16 and in fp8 (compiled blocks, with
  each of FP8_OPTIONS: static or per-row scales, compiler options): images/s, and the 12 device kernels
  that took the most time in one batch of each.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import signal
import sys

from common import emit, machine, slug
from vision_tower import images_per_s

# FP8 towers to time: (runtimes.fp8.SCALES, Inductor options the blocks are compiled with, the SDPA back-end
# attention is held to: None for torch's choice, runtimes.fp8.BIAS_IN_MATMUL, runtimes.fp8.GELU); "static_tuned" is
# the product's default (fp8.COMPILE_OPTIONS, fp8.BIAS_IN_MATMUL, fp8.GELU). max_autotune lets Inductor time Triton
# templates for the FP8 matmuls against cuBLAS, and a template can take the following GELU and quantisation into its
# epilogue (its TMA templates only for matmuls without a bias: "static_autotune_apart" leaves every bias to the
# following kernel). "static_tuned_tanh" and "..._tanh_by_exp" compute GELU's tanh approximation (runtimes.fp8.GELU).
ALL = ("qkv", "out_proj", "c_fc", "c_proj")
TUNED = {"coordinate_descent_tuning": True}
FP8_OPTIONS = {
    "static": ("static", {}, None, ALL, "none"),
    "row": ("row", {}, None, ALL, "none"),
    "static_tuned": ("static", TUNED, None, ("qkv",), "none"),
    "static_tuned_tanh": ("static", TUNED, None, ("qkv",), "tanh"),
    "static_tuned_tanh_by_exp": ("static", TUNED, None, ("qkv",), "tanh_by_exp"),
    "static_tuned_all": ("static", TUNED, None, ALL, "none"),
    "row_multi_kernel": ("row", {"triton.multi_kernel": 1}, None, ALL, "none"),
    "static_autotune": ("static", {"max_autotune": True}, None, ALL, "none"),
    "static_autotune_apart": ("static", {"max_autotune": True, **TUNED}, None, (), "none"),
    "static_cudnn": ("static", {}, "CUDNN_ATTENTION", ALL, "none"),
}
SHAPES = {"qkv": (1408, 4224), "out_proj": (1408, 1408), "c_fc": (1408, 6144), "c_proj": (6144, 1408)}


def timed(fn, iters: int = 20) -> float:
    """Median milliseconds of fn() (CUDA events), after two warm-up calls."""
    import statistics

    import torch

    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def scaled_mm(a, w, scale_a, scale_w):
    import torch

    return torch._scaled_mm(a, w.t(), scale_a=scale_a, scale_b=scale_w, out_dtype=torch.bfloat16)


def linears(tokens: int) -> dict:
    import torch
    import torch.nn.functional as F

    from indexer.model.runtimes import fp8

    out = {}
    quantize = torch.compile(fp8.quantize_rows)
    for name, (k, n) in SHAPES.items():
        x = torch.randn(tokens, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) / k**0.5
        flops = 2 * tokens * k * n
        qx, sx = fp8.quantize_rows(x)
        qw, sw = fp8.quantize_rows(w)
        one_x, one_w = sx.max().reshape(()), sw.max().reshape(())
        qx1 = (x.float() / one_x).to(torch.float8_e4m3fn)
        qw1 = (w.float() / one_w).to(torch.float8_e4m3fn)
        row = {
            "bf16_ms": timed(lambda x=x, w=w: F.linear(x, w)),
            "fp8_rowwise_ms": timed(functools.partial(scaled_mm, qx, qw, sx, sw.view(1, -1))),
            "fp8_tensorwise_ms": timed(functools.partial(scaled_mm, qx1, qw1, one_x, one_w)),
            "quantize_eager_ms": timed(lambda x=x: fp8.quantize_rows(x)),
            "quantize_compiled_ms": timed(lambda x=x: quantize(x)),
        }
        for key in ("bf16", "fp8_rowwise", "fp8_tensorwise"):
            row[f"{key}_tflops"] = round(flops / row[f"{key}_ms"] / 1e9, 1)
        out[name] = {k: round(v, 3) for k, v in row.items()}
        print(name, out[name], flush=True)
    return out


def tower(args, out: dict) -> None:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.profiler import ProfilerActivity, profile

    from indexer.model.directory import architecture, bpe_dir
    from indexer.model.load import build_encoder
    from indexer.model.runtimes import fp8
    from indexer.model.state import random_state

    config = architecture("vit-g-14")
    config = dataclasses.replace(config, vision=dataclasses.replace(config.vision, layers=args.layers))
    state = random_state(config, 0)
    gen = torch.Generator(device="cuda").manual_seed(0)
    crops = [
        torch.randint(0, 256, (args.batch_size, 224, 224, 3), device="cuda", dtype=torch.uint8, generator=gen)
        for _ in range(3)
    ]
    chosen = {k: FP8_OPTIONS[k] for k in args.fp8_options or FP8_OPTIONS}
    variants = {"bfloat16": ("bfloat16", None), **{f"fp8_{k}": ("fp8", v) for k, v in chosen.items()}}
    for name, (dtype, variant) in variants.items():
        torch._dynamo.reset()
        backend = None
        if variant is not None:
            fp8.SCALES, fp8.COMPILE_OPTIONS, backend, fp8.BIAS_IN_MATMUL, fp8.GELU = variant
        attention = sdpa_kernel(getattr(SDPBackend, backend)) if backend else contextlib.nullcontext()
        encoder = build_encoder(
            "vit-g-14-random", bpe_dir(), config, state, runtime="torch", device="cuda", dtype=dtype,
            batch_size=args.batch_size,
        )  # fmt: skip
        encoder.tower("vision")
        with torch.inference_mode(), attention:
            out[f"{name}_images_per_s"] = images_per_s(encoder.vision_tensor, crops, args.iters)
            if dtype == "fp8":
                out[f"{name}_gate_min_cosine"] = round(encoder.fp8_min_cosine, 5)
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    encoder.vision_tensor(crops[0])
                    torch.cuda.synchronize()
                events = sorted(prof.key_averages(), key=lambda e: -e.device_time_total)[:12]
                out[f"{name}_top_kernels_ms"] = {e.key[:90]: round(e.device_time_total / 1000, 2) for e in events}
        print(name, {k: v for k, v in out.items() if k.startswith(name)}, flush=True)
        del encoder
        torch.cuda.empty_cache()
    for name in variants:
        if name != "bfloat16":
            out[f"{name}_over_bf16"] = round(out[f"{name}_images_per_s"] / out["bfloat16_images_per_s"], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=40)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--card", default=None)
    parser.add_argument("--fp8-options", nargs="*", choices=list(FP8_OPTIONS), help="fp8 towers to time (default: all)")
    parser.add_argument("--skip-linears", action="store_true", help="time the towers only")
    args = parser.parse_args()
    result = {"machine": machine(args.card), "batch_size": args.batch_size, "layers": args.layers}
    # A run cut by `timeout` (SIGTERM) still writes what it measured: the towers fill result["tower"] as they go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("cut by SIGTERM"))
    try:
        if not args.skip_linears:
            result["linears"] = linears(args.batch_size * 257)
        result["tower"] = {}
        tower(args, result["tower"])
    finally:
        emit(slug("fp8_speed", f"bs{args.batch_size}", args.card), result)


if __name__ == "__main__":
    main()
