"""The bundled tiny-shapes model has learned: text and image search work on a held-out synthetic set.

Figures (tools/synthetic.py): 1000 images generated with a seed never used in training.
"""

from __future__ import annotations

import numpy as np
import pytest

from indexer.model.directory import architecture, write_model_dir
from indexer.model.load import load_model
from indexer.model.registry import model_path
from indexer.model.state import random_state
from indexer.sources import synthetic

pytestmark = pytest.mark.skipif(
    not (model_path("tiny-shapes") / "config.json").is_file(), reason="models/tiny-shapes is not built"
)


@pytest.fixture(scope="module")
def samples():
    return synthetic.eval_set()


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny-shapes", runtime="paddle", device="cpu", batch_size=256)


@pytest.fixture(scope="module")
def vectors(tiny, samples):
    return tiny.encode_images([s.image for s in samples])


def test_colour_and_shape_queries_reach_precision_at_10_of_0_90(tiny, samples, vectors):
    queries = synthetic.colour_shape_queries(samples)
    precision = synthetic.precision_at_k(tiny, vectors, queries)
    print(f"colour+shape: {len(queries)} queries, mean precision@10 {precision:.3f}")
    assert len(queries) >= 30 and precision >= 0.90


def test_colour_shape_and_background_queries_reach_precision_at_10_of_0_70(tiny, samples, vectors):
    queries = synthetic.background_queries(samples)
    precision = synthetic.precision_at_k(tiny, vectors, queries)
    print(f"colour+shape+background: {len(queries)} queries, mean precision@10 {precision:.3f}")
    assert len(queries) >= 20 and precision >= 0.70


def test_the_same_config_with_random_weights_scores_at_most_0_30(tmp_path, samples):
    config = architecture("tiny-shapes")
    model = write_model_dir(tmp_path / "random", config, random_state(config, seed=5))
    enc = load_model(model, runtime="paddle", device="cpu", batch_size=256)
    vectors = enc.encode_images([s.image for s in samples])
    precision = synthetic.precision_at_k(enc, vectors, synthetic.colour_shape_queries(samples))
    print(f"random weights: colour+shape mean precision@10 {precision:.3f}")
    assert precision <= 0.30


def test_edited_copies_have_the_original_among_their_top_3_neighbours(tiny, samples, vectors):
    top3 = synthetic.image_top3(tiny, samples, vectors)
    print(f"image->image top-3: {top3}")
    assert min(top3.values()) >= 0.95


def test_each_image_ranks_its_own_caption_above_most_others(tiny, samples, vectors):
    captions = tiny.encode_texts([s.caption for s in samples[:200]])
    ranks = (captions @ vectors[:200].T > (captions * vectors[:200]).sum(1, keepdims=True)).sum(1)
    assert np.median(ranks) < 10  # median rank of the true image among 200, 0 = first


def test_model_directory_is_at_most_25_mb():
    total = sum(f.stat().st_size for f in model_path("tiny-shapes").iterdir() if f.is_file())
    assert total <= 25 * 1024 * 1024
