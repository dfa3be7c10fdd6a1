"""PaddleNLP's CLIP towers as a training forward shaped for Paddle's CPU kernels: the same function.

`tools/train_tiny.py` spends most of its hour in the towers' backward pass. Profiled on one core
(batch 64, the tiny-shapes architecture), 0.38 of the 0.88 s step went to kernels that are slow on the
CPU for the layout PaddleNLP's eager layers give them, not to arithmetic:
- a linear layer's bias gradient, a sum over rows that Paddle's CPU reduction does in 10 ms for a
  4160 x 512 gradient, where a (1, n) x (n, d) product of ones gives the same sum in 0.14 ms;
- the attention's reshape + transpose into (batch, heads, tokens, head width), whose gradients are
  strided copies, and the scaling of the transposed (strided) queries.
Here every linear layer keeps its gradient arithmetic in matrix products (`Linear`), and attention
runs head by head on column blocks of the projection weights, so the per-head queries, keys and
values come out of their products contiguous and no transpose is needed. Parameters are the
model's own (read from the PaddleNLP `CLIPModel`), so training through these functions trains that
model; `tests/test_tiny_training.py` checks features and gradients against PaddleNLP's forward.
No library offers this: Paddle's fused transformer kernels are GPU-only.
"""

from __future__ import annotations

from functools import cache

import numpy as np


def _paddle():
    import paddle

    return paddle


@cache
def _linear_layer():
    from paddle.autograd import PyLayer

    paddle = _paddle()

    class Linear(PyLayer):
        """x @ weight + bias on (rows, in) inputs, every gradient a matrix product."""

        @staticmethod
        def forward(ctx, x, weight, bias):
            ctx.save_for_backward(x, weight)
            return paddle.matmul(x, weight) + bias

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensor()
            ones = paddle.ones([1, grad.shape[0]], dtype=grad.dtype)
            return (
                paddle.matmul(grad, weight, transpose_y=True),
                paddle.matmul(x, grad, transpose_x=True),
                paddle.matmul(ones, grad).reshape([-1]),
            )

    return Linear


def linear(x, layer, cols: slice = slice(None)):
    """A paddle.nn.Linear applied to (rows, in) `x`; `cols`: only those of its outputs."""
    return _linear_layer().apply(x, layer.weight[:, cols], layer.bias[cols])


def _attention(x, attn, batch: int, tokens: int, mask=None, rows=None):
    """paddle.nn.MultiHeadAttention (self-attention, no dropout) on (batch * tokens, width) rows.

    `rows`: one row index per sample (int64 tensor); then only those rows' outputs are computed,
    each attending to all of its sample's keys (`mask`: those rows of the mask, (batch, 1, tokens)).
    """
    import paddle.nn.functional as F

    paddle = _paddle()
    heads, width = attn.num_heads, attn.head_dim
    queries = x if rows is None else paddle.gather(x, rows)
    asked = tokens if rows is None else 1
    outputs = []
    for h in range(heads):
        cols = slice(h * width, (h + 1) * width)
        q = linear(queries, attn.q_proj, cols).reshape([batch, asked, width])
        k, v = (linear(x, p, cols).reshape([batch, tokens, width]) for p in (attn.k_proj, attn.v_proj))
        scores = paddle.matmul(q * (width**-0.5), k, transpose_y=True)
        if mask is not None:
            scores = scores + mask
        outputs.append(paddle.matmul(F.softmax(scores), v).reshape([batch * asked, width]))
    return linear(paddle.concat(outputs, axis=1), attn.out_proj)


def _encoder(x, transformer, batch: int, tokens: int, rows, mask=None):
    """paddle.nn.TransformerEncoder of pre-norm layers (normalize_before=True, no dropout) on rows;
    returns the last layer's outputs at `rows` (one per sample, an int64 tensor) only.

    Only the pooled token of each sample is read from the last layer, and its output depends on the
    other tokens only through their keys and values, so the last layer computes the queries, the
    attention output and the MLP for that one row of each sample (forward and backward of a one-thread
    share of 64: 0.61 -> 0.51 s).
    """
    paddle = _paddle()
    *inner, last = transformer.layers
    for layer in inner:
        x = x + _attention(layer.norm1(x), layer.self_attn, batch, tokens, mask)
        x = x + _mlp(layer, x)
    pooled_mask = None if mask is None else paddle.gather(mask[0], rows % tokens).unsqueeze(1)
    x = paddle.gather(x, rows) + _attention(last.norm1(x), last.self_attn, batch, tokens, pooled_mask, rows)
    return x + _mlp(last, x)


def _mlp(layer, x):
    return linear(layer.activation(linear(layer.norm2(x), layer.linear1)), layer.linear2)


def image_features(model, pixel_values):
    """What `model.get_image_features(pixel_values=...)` returns, for (n, 3, S, S) float32 pixels."""
    paddle = _paddle()
    vision = model.vision_model
    patches = vision.conv1(pixel_values)  # (n, width, S/p, S/p)
    n, width = patches.shape[0], patches.shape[1]
    patches = patches.reshape([n, width, -1]).transpose([0, 2, 1])
    cls = vision.class_embedding.unsqueeze([0, 1]).expand([n, -1, -1])
    x = vision.ln_pre(paddle.concat([cls, patches], axis=1) + vision.positional_embedding.weight)
    tokens = x.shape[1]
    first = paddle.to_tensor(np.arange(n) * tokens)  # the class token of each image
    x = _encoder(x.reshape([n * tokens, width]), vision.transformer, n, tokens, first)
    return paddle.matmul(vision.ln_post(x), model.vision_projection)


def text_features(model, input_ids: np.ndarray):
    """What `model.get_text_features(input_ids=...)` returns (pooled at each caption's first end token)."""
    paddle = _paddle()
    text = model.text_model
    n, tokens = input_ids.shape
    ids = paddle.to_tensor(input_ids)
    x = text.token_embedding(ids) + text.positional_embedding.weight[:tokens]
    width = x.shape[-1]
    mask = text.causal_mask[0, :, :tokens, :tokens]  # (1, tokens, tokens): broadcast over the batch
    # Pooled at each caption's first end token; layer norm acts on each token alone, so it is
    # applied to the pooled tokens only.
    ends = paddle.to_tensor(np.arange(n) * tokens + (input_ids == text.eos_token_id).argmax(axis=1))
    x = _encoder(x.reshape([n * tokens, width]), text.transformer, n, tokens, ends, mask)
    return paddle.matmul(text.ln_final(x), model.text_projection)
