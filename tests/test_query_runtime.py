"""The query encoder's runtime and dtype: torch bfloat16 on a CPU that has native bfloat16, else as asked."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.model import load as loading
from indexer.model.runtimes import paddle as runtime_paddle
from indexer.model.runtimes import torch as runtime_torch
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from search.searcher import Searcher, cached_encoder


@pytest.fixture
def native_bf16(monkeypatch):
    monkeypatch.setattr(loading, "cpu_has_native_bf16", lambda: True)
    for module in (runtime_paddle, runtime_torch):
        monkeypatch.setattr(module, "cuda_available", lambda: False)


def test_auto_on_a_bf16_cpu_encodes_queries_with_torch_in_bfloat16(native_bf16):
    assert loading.query_runtime("auto", "cpu", "auto") == ("torch", "bfloat16")
    assert loading.query_runtime("auto", "auto", "auto") == ("torch", "bfloat16")


def test_an_explicit_runtime_dtype_or_gpu_is_kept(native_bf16):
    assert loading.query_runtime("paddle", "cpu", "auto") == ("paddle", "auto")
    assert loading.query_runtime("auto", "cpu", "float32") == ("auto", "float32")
    assert loading.query_runtime("auto", "cuda:0", "auto") == ("auto", "auto")


def test_a_cpu_without_native_bf16_keeps_the_default_runtime(monkeypatch):
    monkeypatch.setattr(loading, "cpu_has_native_bf16", lambda: False)
    assert loading.query_runtime("auto", "cpu", "auto") == ("auto", "auto")


def test_searcher_in_bfloat16_ranks_like_float32(tmp_path, micro_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, s in enumerate(synthetic.generate(40, seed=5)):
        s.image.save(folder / f"{i:03d}.png")
    index([folder], tmp_path / "lib", str(micro_model), IndexSettings(workers=0, batch_size=16))
    ranked = {}
    for dtype in ("float32", "bfloat16"):
        hits = Searcher(tmp_path / "lib", runtime="torch", device="cpu", dtype=dtype).search("a red circle", k=5).hits
        ranked[dtype] = [h.path for h in hits], np.array([h.score for h in hits])
    cached_encoder.cache_clear()
    assert ranked["bfloat16"][0][:3] == ranked["float32"][0][:3]
    assert np.abs(ranked["bfloat16"][1] - ranked["float32"][1]).max() < 0.02
