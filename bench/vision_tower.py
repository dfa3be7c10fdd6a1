"""ViT-g/14 vision tower images/s step by step, against timm's vit_giant_patch14_clip_224, in one run.

    python bench/vision_tower.py --batch-size 256 --card "NVIDIA H100 80GB HBM3"

Steps, each timed on the same random crops (CUDA events, median of --iters batches) and checked
against the fp32 open_clip model (min cosine over 32 crops): open_clip's nn.MultiheadAttention in
bf16; fused qkv + F.scaled_dot_product_attention (indexer.model.runtimes.fusion) with each SDPA backend; the
same replayed as a CUDA graph; its blocks torch.compile'd (compile seconds stated); then timm eager
and compiled as the anchor, and the text tower's queries/s at batch 1 and 64.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import emit, machine, slug
from encode import queries


def images_per_s(forward, inputs, iters: int) -> float:
    import torch

    for x in inputs[:2]:
        forward(x)
    torch.cuda.synchronize()
    times = []
    for i in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        forward(inputs[i % len(inputs)])
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return round(len(inputs[0]) / statistics.median(times), 1)


def min_cosine(a, b) -> float:
    import torch.nn.functional as F

    return round(float(F.cosine_similarity(a.float(), b.float(), dim=1).min()), 6)


def graphed(forward, example):
    """A CUDA-graph replay of forward on a static copy of `example`'s shape."""
    import torch

    static_in = example.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        forward(static_in)  # warm-up off the default stream, as graph capture requires
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = forward(static_in)

    def replay(x):
        static_in.copy_(x)
        graph.replay()
        return static_out

    return replay


def compiled(visual, mode: str, example) -> float:
    """Compile the tower's blocks in place; returns the seconds the first (compiling) call took."""
    import torch

    from indexer.model.runtimes.fusion import compile_blocks

    torch._dynamo.reset()
    compile_blocks(visual.transformer, None if mode == "default" else mode)
    started = time.perf_counter()
    visual(example)
    torch.cuda.synchronize()
    return round(time.perf_counter() - started, 1)


def open_clip_steps(args, config, state, inputs, check) -> dict:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from indexer.model.runtimes.fusion import fuse_attention, fuse_mlp
    from indexer.model.runtimes.torch import build_open_clip

    out: dict = {}
    check_batch = torch.cat([check, inputs[0][len(check) :]])  # a full batch: graphs replay one shape
    model = build_open_clip(config, state, fused=False).to("cuda")
    with torch.inference_mode():
        reference = model.encode_image(check.float())
        model.to(torch.bfloat16)
        visual = model.visual

        def step(name, forward):
            out[name] = {"images_per_s": images_per_s(forward, inputs, args.iters)}
            out[name]["min_cosine_vs_fp32"] = min_cosine(forward(check_batch)[: len(check)], reference)
            print(name, out[name], flush=True)

        step("open_clip_mha_bf16", visual)
        fuse_attention(visual.transformer)
        step("fused_sdpa_bf16", visual)
        for backend in ("FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION"):
            try:
                with sdpa_kernel(getattr(SDPBackend, backend)):
                    step(f"fused_sdpa_{backend.lower()}_bf16", visual)
            except RuntimeError as exc:
                out[f"fused_sdpa_{backend.lower()}_bf16"] = {"error": str(exc).splitlines()[0][:200]}
        step("fused_sdpa_cuda_graph_bf16", graphed(visual, inputs[0]))
        fuse_mlp(visual.transformer)
        step("fused_sdpa_gelu_epilogue_bf16", visual)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            step("fused_sdpa_cudnn_gelu_epilogue_bf16", visual)
        step("fused_sdpa_gelu_epilogue_cuda_graph_bf16", graphed(visual, inputs[0]))
        for mode in args.compile_modes:
            name = f"fused_sdpa_gelu_epilogue_compiled_blocks_{mode}_bf16"
            try:
                compile_s = compiled(visual, mode, inputs[0])
                step(name, visual)
                out[name]["compile_s"] = compile_s
            except Exception as exc:  # noqa: BLE001 - a compiler failure is a result, not the end of the run
                out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return out


def timm_steps(args, inputs) -> dict:
    import timm
    import torch

    model = timm.create_model("vit_giant_patch14_clip_224", pretrained=False, num_classes=0)
    model = model.to(device="cuda", dtype=torch.bfloat16).eval()
    out = {}
    with torch.inference_mode():
        out["timm_eager_bf16"] = images_per_s(model, inputs, args.iters)
        if args.timm_compile:
            torch._dynamo.reset()
            compiled = torch.compile(model)
            started = time.perf_counter()
            compiled(inputs[0])
            torch.cuda.synchronize()
            out["timm_compiled_compile_s"] = round(time.perf_counter() - started, 1)
            out["timm_compiled_bf16"] = images_per_s(compiled, inputs, args.iters)
    print(out, flush=True)
    return out


def text_steps(config, state) -> dict:
    from indexer.model.directory import bpe_dir
    from indexer.model.runtimes.torch import TorchEncoder

    out = {}
    enc = TorchEncoder("random", bpe_dir(), config, state, device="cuda", dtype="bfloat16", batch_size=64)
    for batch in (1, 64):
        enc.batch_size = batch
        texts = queries(256 if batch > 1 else 50, seed=2)
        enc.encode_texts(texts[:batch])
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            enc.encode_texts(texts[i : i + batch])
        out[f"text_queries_per_s_batch{batch}"] = round(len(texts) / (time.perf_counter() - started), 1)
    print(out, flush=True)
    return out


def main() -> None:
    import torch

    from indexer.model.directory import architecture
    from indexer.model.state import random_state

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit-g-14")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--iters", type=int, default=8)
    parser.add_argument("--compile-modes", nargs="*", default=["default"])
    parser.add_argument("--timm-compile", action="store_true")
    parser.add_argument("--card", default=None)
    args = parser.parse_args()
    config = architecture(args.arch)
    state = random_state(config, seed=0)
    size = config.vision.image_size
    gen = torch.Generator(device="cuda").manual_seed(0)
    inputs = [torch.randn(args.batch_size, 3, size, size, device="cuda", generator=gen).bfloat16() for _ in range(3)]
    check = torch.randn(32, 3, size, size, device="cuda", generator=gen)
    result = {"model": f"{args.arch} (random weights)", "batch_size": args.batch_size, "machine": machine(args.card)}
    result["open_clip"] = open_clip_steps(args, config, state, inputs, check.bfloat16())
    torch.cuda.empty_cache()
    result["timm"] = timm_steps(args, inputs)
    torch.cuda.empty_cache()
    result["text"] = text_steps(config, state)
    best = max(v.get("images_per_s", 0) for v in result["open_clip"].values())
    result["best_vs_timm_eager"] = round(best / result["timm"]["timm_eager_bf16"], 3)
    emit(slug("vision_tower", args.arch, f"bs{args.batch_size}", args.card), result)


if __name__ == "__main__":
    main()
