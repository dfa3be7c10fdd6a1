"""Fused self-attention for open_clip's blocks: one qkv matmul and `F.scaled_dot_product_attention`.

open_clip's `ResidualAttentionBlock` calls `nn.MultiheadAttention`; this module swaps it, sharing the
same parameters (no copy), for a module that runs PyTorch's fused attention kernels (flash, cuDNN or
memory-efficient; all accept ViT-g/14's head dim 88), and optionally compiles each block.
torch is imported here only when a model is patched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FusedSelfAttention(nn.Module):
    """Drop-in for a batch-first self-attention `nn.MultiheadAttention`; returns (out, None) as it does."""

    def __init__(self, mha: nn.MultiheadAttention):
        super().__init__()
        if not mha.batch_first or mha.in_proj_weight is None:
            raise ValueError("FusedSelfAttention needs a batch-first nn.MultiheadAttention with a fused in_proj")
        self.heads = mha.num_heads
        self.in_proj_weight, self.in_proj_bias = mha.in_proj_weight, mha.in_proj_bias
        self.out_proj = mha.out_proj

    def forward(self, q_x, k_x=None, v_x=None, need_weights=False, attn_mask=None):
        if k_x is not None and k_x is not q_x:
            raise ValueError("FusedSelfAttention does self-attention only")
        batch, length, width = q_x.shape
        qkv = F.linear(q_x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width)), None


class EpilogueMLP(nn.Module):
    """open_clip's c_fc -> GELU -> c_proj with bias + GELU done in the first matmul's epilogue.

    `torch._addmm_activation` runs cuBLASLt's GELU epilogue on CUDA (the tanh approximation of GELU;
    the exact one on the CPU), which saves one pass over the (tokens, 6144) activations per layer.
    """

    def __init__(self, mlp: nn.Sequential):
        super().__init__()
        if not isinstance(mlp.gelu, nn.GELU):
            raise ValueError("EpilogueMLP replaces an exact-GELU MLP only")
        self.c_fc, self.c_proj = mlp.c_fc, mlp.c_proj

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])
        hidden = torch._addmm_activation(self.c_fc.bias, flat, self.c_fc.weight.t(), use_gelu=True)
        return self.c_proj(hidden).view(*x.shape[:-1], -1)


def fuse_mlp(transformer: nn.Module) -> int:
    """Swap every block's exact-GELU MLP for an EpilogueMLP; returns how many were swapped."""
    swapped = 0
    for block in transformer.resblocks:
        if isinstance(block.mlp, nn.Sequential) and isinstance(getattr(block.mlp, "gelu", None), nn.GELU):
            block.mlp = EpilogueMLP(block.mlp)
            swapped += 1
    return swapped


def fuse_attention(transformer: nn.Module) -> int:
    """Swap every block's nn.MultiheadAttention in an open_clip Transformer; returns how many were swapped."""
    swapped = 0
    for block in transformer.resblocks:
        if isinstance(block.attn, nn.MultiheadAttention):
            block.attn = FusedSelfAttention(block.attn)
            swapped += 1
    return swapped


def compile_blocks(transformer: nn.Module, mode: str | None = None) -> None:
    """Compile each residual block in place ("regional" compilation: identical blocks share one compiled
    graph, so a 40-layer tower compiles about as fast as one block)."""
    for block in transformer.resblocks:
        block.compile(mode=mode, dynamic=False)
