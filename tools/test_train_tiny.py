"""Tests of the tiny-model trainer's internals, beside it (pytest puts tools/ first on the path, as
running a tool does). The trainer as a whole is run as a program by tests/test_tiny_training.py."""

from __future__ import annotations

import numpy as np
import train_tiny

from indexer.model import Tokenizer
from indexer.sources import synthetic


def test_training_forward_is_paddlenlps_forward_features_and_gradients():
    """tools/tiny_towers computes what PaddleNLP's CLIPModel computes, and back-propagates the same gradients."""
    import paddle
    import paddle.nn.functional as F

    tiny_towers = train_tiny.tiny_towers
    model = train_tiny.build_model(paddle, seed=3)
    rng = np.random.default_rng(4)
    with paddle.no_grad():  # past the initial weights: biases and norms off their zeros and ones
        for p in model.parameters():
            p.set_value(p + paddle.to_tensor(rng.normal(0, 0.02, p.shape).astype("float32")))
    samples = synthetic.generate(6, seed=12)
    config = train_tiny.architecture(train_tiny.ARCH)
    crops = np.stack([train_tiny.resize_crop(s.image, config.vision.image_size) for s in samples])
    pixels = paddle.to_tensor(train_tiny.normalize(crops, config.preprocess))
    captions = [s.caption for s in samples[:5]] + ["a red circle"]  # captions of different lengths
    ids = Tokenizer.from_dir(train_tiny.bpe_dir()).tokenize(captions, 77)
    ids = ids[:, : int(ids.argmax(axis=1).max()) + 3]  # padding after the longest caption's end too

    def run(image, text):
        model.clear_gradients()
        i, t = image(pixels), text(ids)
        loss = train_tiny.contrastive(paddle, F.normalize(i, axis=-1), F.normalize(t, axis=-1), paddle.to_tensor(9.0))
        loss.backward()
        grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters() if p.grad is not None}
        return i.numpy(), t.numpy(), grads

    ref = run(
        lambda x: model.get_image_features(pixel_values=x),
        lambda x: model.get_text_features(input_ids=paddle.to_tensor(x)),
    )
    fast = run(lambda x: tiny_towers.image_features(model, x), lambda x: tiny_towers.text_features(model, x))
    np.testing.assert_allclose(fast[0], ref[0], atol=1e-4)
    np.testing.assert_allclose(fast[1], ref[1], atol=1e-4)
    assert set(fast[2]) == set(ref[2]) and len(ref[2]) > 100
    for name, grad in ref[2].items():
        # A key bias shifts a query's scores all alike, which softmax ignores: its gradient is rounding noise.
        bound = 1e-6 if "k_proj.bias" in name else 1e-3 * np.abs(grad).max()
        assert np.abs(fast[2][name] - grad).max() <= bound, name


def test_close_ups_show_one_shape_large_with_a_caption_true_of_the_crop():
    rng = np.random.default_rng(5)
    for sample in synthetic.generate(60, seed=91):
        crop, text = train_tiny.close_up(sample, rng)
        assert crop.width == crop.height, crop.size
        named = {(s.colour, s.kind) for s in sample.shapes if f"{s.colour} {s.kind}" in text}
        assert len(named) == 1 and "small" not in text and "two" not in text and "three" not in text, text
        ((colour, _),) = named
        shown = np.abs(np.asarray(crop, dtype=int) - synthetic.COLOURS[colour]).max(axis=2) < 60
        assert shown.mean() > 0.05, text  # the named shape fills a good part of the crop (a star ~9%)
        if "background" in text:
            assert f"{sample.background} background" in text, text
