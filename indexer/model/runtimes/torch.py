"""The torch runtime: CLIP's towers (indexer.model.runtimes.torch_clip, open_clip's parameter names) holding
the cached weights, mapped and assigned, not copied on the CPU.

For GPUs where Paddle GPU is not installable (CUDA 13 machines) and for open_clip / Hugging Face
checkpoints. torch is imported here only; open_clip only by `open_clip_skeleton` and `build_open_clip`,
the reference the tests and benchmarks compare against.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from indexer.errors import BadModelFile, RuntimeUnavailable

from ..config import ModelConfig
from ..convert import paddle_to_open_clip
from ..encoder import Encoder, installed, resolve_dtype
from ..hardware import cpu_precision
from ..tokenizer import TokenIds
from ..transform import Crops, Pixels


def available() -> bool:
    return installed("torch")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def open_clip_cfg(config: ModelConfig) -> dict:
    """open_clip model config (embed_dim, vision_cfg, text_cfg, quick_gelu) for a ModelConfig."""
    v, t = config.vision, config.text
    if v.act != t.act:
        raise BadModelFile("config.json", "the torch runtime needs the same hidden_act in both towers")
    return {
        "embed_dim": config.embed_dim,
        # open_clip derives the MLP width as int(width * mlp_ratio); +0.5 keeps it exact.
        "vision_cfg": {
            "image_size": v.image_size,
            "layers": v.layers,
            "width": v.width,
            "head_width": v.width // v.heads,
            "mlp_ratio": (v.mlp + 0.5) / v.width,
            "patch_size": v.patch,
        },
        "text_cfg": {
            "context_length": t.context,
            "vocab_size": t.vocab,
            "width": t.width,
            "heads": t.heads,
            "layers": t.layers,
            "mlp_ratio": (t.mlp + 0.5) / t.width,
        },
        "quick_gelu": v.act == "quick_gelu",
    }


# Imported by open_clip at its start for towers pixseek never builds (Hugging Face text models, timm
# vision models): on the H200 machine that was 8 of `import open_clip`'s 10 s.
OPEN_CLIP_EXTRAS = ("transformers", "timm")


def clip_class():
    """open_clip's CLIP class, imported with its optional extras held off (they stay importable later)."""
    held = [name for name in OPEN_CLIP_EXTRAS if name not in sys.modules]
    sys.modules.update(dict.fromkeys(held))  # None in sys.modules: `import name` raises ImportError
    try:
        from open_clip.model import CLIP
    finally:
        for name in held:
            sys.modules.pop(name, None)
    return CLIP


def open_clip_skeleton(config: ModelConfig):
    """open_clip's CLIP on the meta device: the architecture, no memory, no random init."""
    import torch

    CLIP = clip_class()  # noqa: N806

    with torch.device("meta"):
        return CLIP(**open_clip_cfg(config)).eval()


def tensors(arrays: dict, dtypes: dict, device: str) -> dict:
    """torch tensors over the (memory-mapped) arrays, on `device`: no copy on the CPU."""
    import torch

    out = {}
    for name, array in arrays.items():
        t = torch.from_numpy(np.asarray(array))
        out[name] = (t.view(torch.bfloat16) if dtypes[name] == "BF16" else t).to(device)
    return out


def load_tower(model, config: ModelConfig, tower: str, weights: dict) -> None:
    """Put one tower's weights into the skeleton (assigned, not copied)."""
    import torch

    model.load_state_dict(weights, strict=False, assign=True)
    if tower == "text":  # the causal mask is not a weight: make it off the meta device
        model.attn_mask = torch.full(
            (config.text.context,) * 2, float("-inf"), device=weights["ln_final.weight"].device
        )
        model.attn_mask.triu_(1)


def build_open_clip(config: ModelConfig, state: dict[str, np.ndarray], fused: bool = True):
    """An open_clip CLIP (fp32, CPU, eval) holding the canonical `state` in both towers.

    `fused`: attention through F.scaled_dot_product_attention (indexer.model.runtimes.fusion) instead of
    nn.MultiheadAttention; same weights, same function."""
    import torch

    model = open_clip_skeleton(config)
    weights = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in paddle_to_open_clip(state).items()}
    model.load_state_dict(weights, strict=True, assign=True)
    model.attn_mask = torch.full((config.text.context,) * 2, float("-inf")).triu_(1)
    if fused:
        from .fusion import fuse_attention

        fuse_attention(model.visual.transformer)
        fuse_attention(model.transformer)
    return model.eval()


class TorchEncoder(Encoder):
    runtime = "torch"
    layout = "open_clip"

    @staticmethod
    def resolve(dtype: str, device: str) -> str:
        """bfloat16 on GPUs, and on CPUs that multiply it natively; float32 on other CPUs. float8 only when
        asked for (runtimes.fp8)."""
        return resolve_dtype(dtype, device, gpu_default="bfloat16", cpu_default=cpu_precision(), fp8=True)

    @staticmethod
    def stored(dtype: str) -> str:
        return "bfloat16" if dtype == "float8" else dtype  # quantised when the vision tower is built

    def __init__(self, name: str, path: Path, config: ModelConfig, weights, device: str, dtype: str, batch_size: int):
        if not available():
            raise RuntimeUnavailable("torch", "install pixseek[torch] (torch)")
        import torch

        from .torch_clip import skeleton

        super().__init__(name, path, config, weights, device, dtype, batch_size)
        self._torch = torch
        self.model = skeleton(config)
        self._scale = self._shift = None

    def _build(self, tower: str, arrays: dict, dtypes: dict):
        torch = self._torch
        compute = getattr(torch, "bfloat16" if self.dtype == "float8" else self.dtype)
        weights = {k: v.to(compute) for k, v in tensors(arrays, dtypes, self.device).items()}
        load_tower(self.model, self.config, tower, weights)
        part = self.model.visual.transformer if tower == "vision" else self.model.transformer
        if tower == "vision" and self.dtype == "float8":
            self._to_fp8(self.model.visual)
        elif self.device.startswith("cuda"):
            # GELU in the matmul epilogue: on an H100 943.9 vs 888.2 images/s, min cosine vs fp32 0.999962
            from .fusion import fuse_mlp

            fuse_mlp(part)
        return self.model.visual if tower == "vision" else self.model

    def _to_fp8(self, visual) -> None:
        """The bfloat16 vision tower's linear layers to FP8, kept only if its vectors pass fp8's gate."""
        from . import fp8

        fp8.usable(self.device)
        crops = self._torch.from_numpy(fp8.gate_crops(self.config.vision.image_size))
        with fp8.calibration(visual.transformer) as amax:
            reference = self._gate_features(visual, crops)
        fp8.to_fp8(visual.transformer, amax)
        got = None
        if fp8.compiled(visual.transformer, self.device):
            try:
                got = self._gate_features(visual, crops)
            except Exception:  # noqa: BLE001 - a compiler that fails here (no Triton, an unsupported op): eager
                fp8.uncompiled(visual.transformer)
        if got is None:
            got = self._gate_features(visual, crops)
        self.fp8_min_cosine = fp8.min_cosine(reference, got)
        if self.fp8_min_cosine < fp8.MIN_COSINE:
            raise fp8.Fp8Refused(
                f"FP8 vectors of {len(crops)} varied photos came within cosine {self.fp8_min_cosine:.4f} of "
                f"bfloat16's, under {fp8.MIN_COSINE}: this model is not indexed in fp8; use --dtype bfloat16"
            )

    def _gate_features(self, visual, crops) -> np.ndarray:
        with self._torch.inference_mode():
            parts = [
                self._features(visual, crops[s : s + 64].to(self.device)).cpu().numpy()
                for s in range(0, len(crops), 64)
            ]
        return np.concatenate(parts)

    def _vision(self, pixels: Pixels) -> np.ndarray:
        torch, visual = self._torch, self.tower("vision")
        with torch.inference_mode():
            x = torch.from_numpy(pixels).to(self.device, dtype=visual.conv1.weight.dtype)
            return visual(x).float().cpu().numpy()

    def _vision_crops(self, crops: Crops) -> np.ndarray:
        """Copy uint8 (4x fewer bytes than float32) and normalise on the device."""
        torch = self._torch
        with torch.inference_mode():
            return self.vision_tensor(torch.from_numpy(crops).to(self.device, non_blocking=True)).cpu().numpy()

    def vision_tensor(self, crops):
        """Unnormalised float32 (n, dim) features of uint8 (n, S, S, 3) crops already on the device."""
        return self._features(self.tower("vision"), crops)

    def _features(self, visual, crops):
        torch, pre = self._torch, self.config.preprocess
        if self._scale is None:  # x / 255 then (x - mean) / std as one multiply-add
            mean, std = (torch.tensor(v, dtype=torch.float32, device=self.device) * 255 for v in (pre.mean, pre.std))
            self._scale, self._shift = (1 / std).view(1, 3, 1, 1), (-mean / std).view(1, 3, 1, 1)
        x = torch.addcmul(self._shift, crops.permute(0, 3, 1, 2).float(), self._scale)
        return visual(x.to(visual.conv1.weight.dtype)).float()

    def _text(self, ids: TokenIds) -> np.ndarray:
        """open_clip's encode_text, on the ids' own length instead of the full context."""
        torch, m = self._torch, self.tower("text")
        length = ids.shape[1]
        with torch.inference_mode():
            tokens = torch.from_numpy(ids).to(self.device)
            x = m.token_embedding(tokens) + m.positional_embedding[:length]
            x = m.transformer(x, attn_mask=m.attn_mask[:length, :length].to(x.dtype))
            x = m.ln_final(x)
            x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
            return (x @ m.text_projection).float().cpu().numpy()
