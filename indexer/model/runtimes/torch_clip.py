"""CLIP's two towers as torch modules, with open_clip's parameter names, so the weights cache's open_clip
layout loads into them as it is.

Written here rather than taken from open_clip: `import open_clip` imports torchvision and more at its
start (4.5-5 s of a GPU index run's 6-7 s wait before its first batch, measured on an H200), for two
towers of a few layers each. The modules compute what open_clip's VisionTransformer and CLIP text path
compute (the parity tests check them against open_clip's own vectors), with attention through
`F.scaled_dot_product_attention`. torch is imported here only when a torch model is built.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig


class QuickGELU(nn.Module):
    """OpenAI CLIP's activation, x * sigmoid(1.702 x) (open_clip's QuickGELU)."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention's parameters (in_proj_weight/bias, out_proj) run as one qkv matmul and SDPA."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)
        self.qkv: nn.Module | None = None  # replaces in_proj_weight/bias where set (runtimes.fp8)

    def forward(self, x, attn_mask=None):
        batch, length, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias) if self.qkv is None else self.qkv(x)
        q, k, v = qkv.view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, width: int, heads: int, mlp: int, act: str, eps: float):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(width, eps=eps), nn.LayerNorm(width, eps=eps)
        self.attn = SelfAttention(width, heads)
        gelu = QuickGELU() if act == "quick_gelu" else nn.GELU()
        self.mlp = nn.Sequential(
            OrderedDict([("c_fc", nn.Linear(width, mlp)), ("gelu", gelu), ("c_proj", nn.Linear(mlp, width))])
        )

    def forward(self, x, attn_mask=None):
        x = x + self.attn(self.ln_1(x), attn_mask=attn_mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, mlp: int, act: str, eps: float):
        super().__init__()
        self.resblocks = nn.ModuleList(Block(width, heads, mlp, act, eps) for _ in range(layers))

    def forward(self, x, attn_mask=None):
        for block in self.resblocks:
            x = block(x, attn_mask=attn_mask)
        return x


class VisionTower(nn.Module):
    """Patches, class token, positions, ln_pre, blocks, ln_post of the class token, projection."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        v = config.vision
        self.conv1 = nn.Conv2d(3, v.width, kernel_size=v.patch, stride=v.patch, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(v.width))
        self.positional_embedding = nn.Parameter(torch.empty(v.grid * v.grid + 1, v.width))
        self.ln_pre, self.ln_post = nn.LayerNorm(v.width, eps=v.eps), nn.LayerNorm(v.width, eps=v.eps)
        self.transformer = Transformer(v.width, v.layers, v.heads, v.mlp, v.act, v.eps)
        self.proj = nn.Parameter(torch.empty(v.width, config.embed_dim))

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        token = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([token, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj


class CLIP(nn.Module):
    """The vision tower as `.visual`, the text tower's parts at the top level: open_clip's CLIP names."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        t = config.text
        self.visual = VisionTower(config)
        # Given its (empty) weight, Embedding skips its random init: normal_ on the meta device goes through
        # torch._refs, whose first call imports torch._dynamo (2 s of every load, the vision tower's too).
        self.token_embedding = nn.Embedding(t.vocab, t.width, _weight=torch.empty(t.vocab, t.width))
        self.positional_embedding = nn.Parameter(torch.empty(t.context, t.width))
        self.transformer = Transformer(t.width, t.layers, t.heads, t.mlp, t.act, t.eps)
        self.ln_final = nn.LayerNorm(t.width, eps=t.eps)
        self.text_projection = nn.Parameter(torch.empty(t.width, config.embed_dim))
        self.logit_scale = nn.Parameter(torch.empty(()))
        self.attn_mask: torch.Tensor | None = None  # the causal mask, made when the text tower is loaded


def skeleton(config: ModelConfig) -> CLIP:
    """The architecture on the meta device: no memory, no random init (weights are assigned later)."""
    with torch.device("meta"):
        return CLIP(config).eval()
