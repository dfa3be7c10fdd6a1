"""The vision tower in FP8 (`--dtype fp8`, torch runtime): its linear layers (attention's qkv and output
projections, the MLP's two) multiply e4m3 numbers through `torch._scaled_mm`; everything else (patches,
LayerNorm, attention itself, GELU, the residual stream, the projection) stays bfloat16.

Scales (SCALES): "static" (the default) keeps one scale per weight tensor and one per activation tensor, fixed
at load: the gate's bfloat16 pass over its 256 photos records the largest input each layer saw (`calibration`),
and HEADROOM more than that maps to e4m3's largest number. e4m3 is a floating-point format: a token 1,000x
smaller than the largest still gets its full 3-bit mantissa, so one scale per tensor loses no small tokens;
what it must not do is clip, hence the headroom. Quantising an activation is then a multiply and a cast, which
the compiler folds into the op that makes it (LayerNorm, GELU, attention's output): on one H100 the ViT-g/14
tower ran at 1.31x bfloat16 and 1.38x timm (bench/results/fp8_speed-bs256-qkv-*). "row" computes one scale
per token as it comes and one per output channel of a weight: each quantisation is a row reduction, a second
pass over the activation, whose kernels took as long as the FP8 matmuls (0.996x bfloat16 in the same run).

Hopper and later GPUs multiply e4m3 in hardware, 1.6-1.75x bf16 on ViT-g/14's four linear shapes at batch
256 (FACTS); quantising with separate eager ops costs more than that gains, so on CUDA each block is compiled
(torch.compile, regional: one graph for the identical blocks). Elsewhere (the CPU, in the tests) it runs
eagerly, slowly.

The quality gate (`checked`): before a tower is used, its FP8 vectors of GATE_IMAGES varied photos
(scikit-image's bundled ones, cropped, turned, recoloured, degraded: `gate_crops`) are compared with the
same tower's bfloat16 vectors; under MIN_COSINE for any image the run stops with Fp8Refused, never
indexing with vectors that differ from the library's bfloat16 ones by more than that.
"""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps
from torch import nn

from indexer.errors import ModelError

from ..transform import Crops, resize_crop

E4M3_MAX = 448.0  # the largest finite float8_e4m3fn
SCALES = "static"  # or "row" (see above); bench/fp8_speed.py times both
# static scales: the largest input a layer saw in the gate's photos maps to 448 / HEADROOM (28 for 16), so an
# image with inputs up to 16x larger still does not clip, and values down to ~1/1,800 of that largest input
# stay in e4m3's normal range (smaller ones keep fewer mantissa bits: they add little to a dot product).
HEADROOM = 16.0
MIN_COSINE = 0.998  # per image, FP8 against bfloat16 (issue 23's gate)
GATE_IMAGES = 256
# Blocks left in bfloat16: the first takes the patch embeddings, whose outlier channels e4m3 flattens most, and
# the last makes the pooled vector. On tiny-shapes the gate's min cosine went 0.9982 -> 0.9994 with both kept
# (0.9991 with either alone); on ViT-g/14's 40 blocks they are 5% of the linear work.
KEPT_BLOCKS = (0, -1)
COMPILE = "PIXSEEK_FP8_COMPILE"  # =off: run the FP8 tower eagerly on CUDA too (to compare, or past a compiler bug)
# Inductor options for the blocks. Coordinate-descent tuning searches each generated kernel's launch
# configuration around Inductor's pick: on one H100 the tower went from 1,188.7 to 1,225.8 images/s (static
# scales, same run; the LayerNorm+quantise kernels 28.2 -> 21.2 ms a batch of 256), for about 7 s more of compiling
# on the first run (Inductor's cache keeps the tuned kernels for later runs). bench/fp8_speed.py times the
# others (max_autotune's Triton matmul templates; multi_kernel's persistent reductions with per-row scales).
COMPILE_OPTIONS: dict = {"coordinate_descent_tuning": True}
# Layers whose bias (static scales only) is added in the FP8 matmul's epilogue (cuBLASLt's) rather than by the
# compiled kernel that reads the matmul's output next. Attention's qkv output goes straight into SDPA: with its
# bias added apart it went through memory once more (14.1 ms a batch of 256 on one H100). The others' bias rides
# along with the GELU, the residual add or the LayerNorm after them, and their matmuls run slower with a bias
# epilogue: on one H100 the tower made 1,232.9 images/s with qkv's alone against 1,218.8 with all four
# (bench/results/fp8_speed-bs256-qkv-*).
BIAS_IN_MATMUL: tuple[str, ...] = ("qkv",)
# The GELU of the FP8 blocks: "none" is the exact one (erf), as in the bfloat16 tower the gate compares with; "tanh"
# is the approximation the bfloat16 GPU path already computes in cuBLASLt's epilogue (runtimes/fusion.py), as
# nn.GELU writes it; "tanh_by_exp" is the same function written with one exponential (TanhGeluByExp). The compiled
# GELU+bias+quantise kernel took 31 ms of a batch of 256 on one H100, half the memory bandwidth its bytes need;
# Triton computes erf and tanh with libdevice's accurate routines, but exp with the hardware's approximate ex2.
# bench/fp8_speed.py's "static_tuned_tanh" and "static_tuned_tanh_by_exp" time them: not measured on a GPU yet, so
# the default stays exact until they are (and the gate judges whichever runs).
GELU = "none"
# scikit-image's bundled photos (in its wheel: nothing is downloaded). Named here rather than taken from
# indexer.sources.synthetic: the model layer knows nothing of the sources.
PHOTOS = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text", "microaneurysms",
)  # fmt: skip


class Fp8Refused(ModelError):
    """FP8 is not available here, or its vectors are too far from bfloat16's."""


class TanhGeluByExp(nn.Module):
    """GELU's tanh approximation, 0.5 x (1 + tanh(z)) with z = sqrt(2/pi) (x + 0.044715 x^3), written as
    x * sigmoid(2z) (the same function: 0.5 (1 + tanh(z)) = sigmoid(2z)), so the compiled kernel computes one
    exponential where nn.GELU's form calls tanh."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.5957691216057308 * (x + 0.044715 * x * x * x))


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(m, k) -> (m, k) float8_e4m3fn and the (m, 1) float32 scales with x ~= q * scale, one per row."""
    amax = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-12)
    scale = amax / E4M3_MAX
    return (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn), scale


def quantize_with(x: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """x * inverse in e4m3, saturating: a multiply, a clamp and a cast (no reduction), which the compiler fuses
    into the op that made x."""
    return (x.float() * inverse).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)


class Fp8Linear(nn.Module):
    """y = x W^T + b with W and x in e4m3; bfloat16 out. With `input_amax` (static scales) W has one scale and x
    one fixed scale, from the largest input seen in calibration times HEADROOM; without it both have a scale per
    row, x's computed for each token as it comes."""

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        input_amax: torch.Tensor | None = None,
        bias_in_matmul: bool = True,
    ):
        super().__init__()
        self.bias_in_matmul = bias_in_matmul and input_amax is not None
        weight = weight.detach()
        if input_amax is None:
            q, scale = quantize_rows(weight)
            self.register_buffer("scale", scale.view(1, -1))
            self.register_buffer("input_scale", None)
        else:
            self.register_buffer("scale", (weight.abs().amax().float().clamp(min=1e-12) / E4M3_MAX).reshape(()))
            q = quantize_with(weight, 1 / self.scale)
            input_scale = (input_amax.float().clamp(min=1e-12) * HEADROOM / E4M3_MAX).reshape(())
            self.register_buffer("input_scale", input_scale.to(weight.device))
            self.register_buffer("input_inverse", 1 / self.input_scale)  # kept: a multiply where x is quantised
        self.register_buffer("weight", q)  # (out, in), row-major: its transpose is the column-major mat2
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.bfloat16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        if self.input_scale is None:
            q, scale = quantize_rows(flat)
        else:
            q, scale = quantize_with(flat, self.input_inverse), self.input_scale
        weight_scale = self.scale
        if not q.is_cuda and scale.dim() == 0:
            # torch's CPU kernel for one scale per tensor is a slow reference loop (18 s for a 4096x256x512
            # product, against 0.02 s per row): the same numbers as per-row scales there
            scale = scale.expand(q.shape[0], 1).contiguous()
            weight_scale = weight_scale.expand(1, self.weight.shape[0]).contiguous()
        # With static scales the bias can go into the matmul's epilogue (BIAS_IN_MATMUL says why and where).
        # Per-row scales add it apart: scaled_mm's bias with row-wise scales is not on every build.
        fused = self.bias if self.bias_in_matmul else None
        y = torch._scaled_mm(
            q, self.weight.t(), scale_a=scale, scale_b=weight_scale, bias=fused, out_dtype=torch.bfloat16
        )
        if self.bias is not None and fused is None:
            y = y + self.bias
        return y.view(*x.shape[:-1], -1)


def _fits(layer: nn.Linear | tuple) -> bool:
    """scaled_mm wants both sides of the weight a multiple of 16."""
    weight = layer.weight if isinstance(layer, nn.Linear) else layer[0]
    return weight.shape[0] % 16 == 0 and weight.shape[1] % 16 == 0


def _swapped(transformer: nn.Module) -> list[tuple[int, nn.Module]]:
    """The blocks whose linear layers become FP8, with their indices: all but KEPT_BLOCKS."""
    blocks = list(transformer.resblocks)
    kept = {i % len(blocks) for i in KEPT_BLOCKS} if len(blocks) > len(KEPT_BLOCKS) else set()
    return [(i, b) for i, b in enumerate(blocks) if i not in kept]


@contextlib.contextmanager
def calibration(transformer: nn.Module):
    """While the block runs, the largest |input| of each layer `to_fp8` swaps, over every batch the tower
    sees: {(block index, "qkv" | "out_proj" | "c_fc" | "c_proj"): 0-dim float32 tensor}. Nothing is recorded
    (the dict stays empty, so `to_fp8` gives per-row scales) unless SCALES is "static"."""
    seen: dict[tuple[int, str], torch.Tensor] = {}
    if SCALES != "static":
        yield seen
        return

    def recorder(key: tuple[int, str]):
        def record(module, args):
            amax = args[0].detach().abs().amax().float()
            seen[key] = torch.maximum(seen[key], amax) if key in seen else amax

        return record

    hooks = []
    for i, block in _swapped(transformer):
        hooks.append(block.attn.register_forward_pre_hook(recorder((i, "qkv"))))
        for owner, name in ((block.attn, "out_proj"), (block.mlp, "c_fc"), (block.mlp, "c_proj")):
            hooks.append(getattr(owner, name).register_forward_pre_hook(recorder((i, name))))
    try:
        yield seen
    finally:
        for hook in hooks:
            hook.remove()


def to_fp8(transformer: nn.Module, amax: dict | None = None) -> int:
    """Swap the linear layers of the blocks of a torch_clip Transformer for Fp8Linear (bfloat16 weights
    freed), and their GELU for the one GELU names, in all but the first and the last block (KEPT_BLOCKS);
    returns how many linear layers were swapped. With `amax` (from `calibration`) the layers get static
    scales, without it per-row ones. Layers whose sides are not multiples of 16 stay bfloat16."""
    swapped = 0
    amax = amax or {}
    for i, block in _swapped(transformer):
        attn, mlp = block.attn, block.mlp
        if GELU != "none" and isinstance(getattr(mlp, "gelu", None), nn.GELU):
            mlp.gelu = TanhGeluByExp() if GELU == "tanh_by_exp" else nn.GELU(approximate=GELU)
        if attn.qkv is None and _fits((attn.in_proj_weight,)):
            attn.qkv = Fp8Linear(
                attn.in_proj_weight, attn.in_proj_bias, amax.get((i, "qkv")), bias_in_matmul="qkv" in BIAS_IN_MATMUL
            )
            attn.in_proj_weight = attn.in_proj_bias = None
            swapped += 1
        for owner, name in ((attn, "out_proj"), (mlp, "c_fc"), (mlp, "c_proj")):
            layer = getattr(owner, name)
            if isinstance(layer, nn.Linear) and _fits(layer):
                fp8_layer = Fp8Linear(
                    layer.weight, layer.bias, amax.get((i, name)), bias_in_matmul=name in BIAS_IN_MATMUL
                )
                setattr(owner, name, fp8_layer)
                swapped += 1
    return swapped


def usable(device: str) -> None:
    """Fp8Refused where FP8 matmuls cannot run: a CUDA device older than Ada/Hopper (sm_89), or a torch
    without float8. The CPU runs them (slowly, in software): for tests and for checking the gate."""
    if not hasattr(torch, "float8_e4m3fn") or not hasattr(torch, "_scaled_mm"):
        raise Fp8Refused(f"--dtype fp8 needs a torch with float8 matmuls (this is {torch.__version__})")
    if device.startswith("cuda"):
        major, minor = torch.cuda.get_device_capability(torch.device(device))
        if (major, minor) < (8, 9):
            name = torch.cuda.get_device_name(torch.device(device))
            raise Fp8Refused(f"--dtype fp8 needs an Ada or Hopper GPU or later; {name} is sm_{major}{minor}")


def compiled(transformer: nn.Module, device: str) -> bool:
    """Compile each block on CUDA (see the module docstring), unless PIXSEEK_FP8_COMPILE=off."""
    if not device.startswith("cuda") or os.environ.get(COMPILE, "").lower() in ("off", "0", "no"):
        return False
    for block in transformer.resblocks:
        block.compile(dynamic=None, options=dict(COMPILE_OPTIONS) or None)
    return True


def uncompiled(transformer: nn.Module) -> None:
    for block in transformer.resblocks:
        block._compiled_call_impl = None  # what nn.Module.compile set: the eager forward again


def gate_crops(size: int, n: int = GATE_IMAGES) -> Crops:
    """(n, size, size, 3) uint8 model crops of varied photos: each bundled photo whole, cropped, mirrored,
    turned, grey, darker, harsher, hue-turned, blurred by a downscale and JPEG-degraded."""
    from skimage import data

    crops = []
    for name in PHOTOS:
        pixels = getattr(data, name)()
        if pixels.dtype != np.uint8:
            pixels = (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
        image = Image.fromarray(pixels).convert("RGB")
        for variant in _variants(image):
            crops.append(resize_crop(variant, size))
    return np.stack(crops[:n])


def _variants(image: Image.Image) -> list[Image.Image]:
    w, h = image.size
    out = [image, image.crop((w // 5, h // 5, w - w // 5, h - h // 5))]
    out += [image.crop(box) for box in ((0, 0, w // 2, h // 2), (w // 2, h // 2, w, h), (0, h // 2, w // 2, h))]
    out += [ImageOps.mirror(image), image.rotate(90, expand=True), ImageOps.grayscale(image).convert("RGB")]
    out += [ImageEnhance.Brightness(image).enhance(0.6), ImageEnhance.Contrast(image).enhance(1.5)]
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] += 96
    out.append(Image.fromarray(hsv, "HSV").convert("RGB"))
    out.append(image.resize((max(8, w // 6), max(8, h // 6))).resize((w, h), Image.Resampling.BILINEAR))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=15)
    out.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    out.append(ImageOps.flip(image))
    out.append(ImageEnhance.Color(image).enhance(2.0))
    return out


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float(np.einsum("ij,ij->i", a, b).min())
