"""Which runtime and precision encode queries and index runs on the CPU: numpy for queries (no framework
import), torch in bfloat16 for a large vision tower where the CPU has native bfloat16, the library's own
precision unless told otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.errors import DeviceUnavailable
from indexer.model import architecture
from indexer.model import load as loading
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from search.searcher import Searcher, cached_encoder


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(loading, "gpu_present", lambda: False)


def test_auto_encodes_queries_on_the_cpu_with_numpy(no_gpu):
    assert loading.query_runtime("auto", "cpu", "auto") == ("numpy", "auto")
    assert loading.query_runtime("auto", "auto", "auto") == ("numpy", "auto")


def test_an_explicit_runtime_or_gpu_is_kept(no_gpu):
    assert loading.query_runtime("paddle", "cpu", "auto") == ("paddle", "auto")
    assert loading.query_runtime("auto", "cuda:0", "auto") == ("auto", "auto")


@pytest.mark.parametrize(
    ("native", "arch", "expected"),
    [(True, "vit-g-14", "torch"), (False, "vit-g-14", "numpy"), (True, "tiny-shapes", "numpy")],
)
def test_auto_indexes_a_large_model_with_torch_only_where_bfloat16_is_native(
    no_gpu, monkeypatch, native, arch, expected
):
    pytest.importorskip("torch")
    monkeypatch.setattr(loading, "cpu_has_native_bf16", lambda: native)
    assert loading.choose_runtime("auto", "cpu", architecture(arch)) == expected


def test_cuda_asked_for_without_a_gpu_names_the_problem(no_gpu):
    with pytest.raises(DeviceUnavailable, match="^device 'cuda' asked for, but this machine has no NVIDIA GPU"):
        loading.choose_runtime("auto", "cuda", architecture("tiny-shapes"))
    with pytest.raises(DeviceUnavailable, match="^device 'cuda:1' asked for, but this machine has no NVIDIA GPU"):
        loading.choose_device("numpy", "cuda:1")


@pytest.fixture
def library(tmp_path, micro_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, s in enumerate(synthetic.generate(40, seed=5)):
        s.image.save(folder / f"{i:03d}.png")
    index([folder], tmp_path / "lib", str(micro_model), IndexSettings(workers=0, batch_size=16, dtype="float32"))
    yield tmp_path / "lib"
    cached_encoder.cache_clear()


def test_searcher_in_bfloat16_ranks_like_float32(library):
    ranked = {}
    for dtype in ("float32", "bfloat16"):
        hits = Searcher(library, runtime="numpy", device="cpu", dtype=dtype).search("a red circle", k=5).hits
        ranked[dtype] = [h.path for h in hits], np.array([h.score for h in hits])
    assert ranked["bfloat16"][0][:3] == ranked["float32"][0][:3]
    assert np.abs(ranked["bfloat16"][1] - ranked["float32"][1]).max() < 0.02


def test_a_library_keeps_its_precision_and_a_query_in_another_is_flagged(library, micro_model, tmp_path):
    searcher = Searcher(library)
    result = searcher.search("a red circle", k=3)
    assert searcher.precision == "float32" and searcher.encoder.dtype == "float32" and result.warnings == []
    other = Searcher(library, dtype="bfloat16").search("a red circle", k=3)
    assert any("bfloat16 weights" in w and "float32" in w for w in other.warnings)
    again = index([tmp_path / "photos"], library, str(micro_model), IndexSettings(workers=0, dtype="bfloat16"))
    assert again.warnings == []  # nothing new to embed: no encoder, nothing mixed
