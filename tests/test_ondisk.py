"""The IVF-PQ build in blocks: blocks filled in parallel and merged on disk search like a one-piece build."""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor

import faiss
import numpy as np
import pytest

from indexer.errors import BadVectors
from indexer.library import ondisk

D, N, BLOCKS = 64, 12_000, 3


def vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, D)).astype(np.float32)
    x = centres[rng.integers(40, size=n)] + 0.4 * rng.standard_normal((n, D)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ondisk")
    xb, ids = vectors(N, 0), np.arange(N, dtype=np.int64) * 7 + 3  # ids need not be row numbers
    trained = ondisk.train(xb[::3], "IVF32,PQ16", tmp / "build")
    parts = np.array_split(np.arange(N), BLOCKS)
    # Blocks are filled by separate processes (spawned: a fork after OpenMP has run can hang in the child).
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        files = list(
            pool.map(
                ondisk.fill_block,
                [trained] * BLOCKS,
                [ids[p] for p in parts],
                [xb[p] for p in parts],
                [tmp / "build" / f"block{i}.index" for i in range(BLOCKS)],
            )
        )
    merged = ondisk.merge(trained, files, tmp / "served")
    whole = faiss.read_index(str(trained))
    whole.add_with_ids(xb, ids)
    return tmp, merged, whole, xb, ids


def test_merged_index_returns_the_same_results_as_a_one_piece_build(built):
    _, merged, whole, _, _ = built
    xq = vectors(50, 1)
    index = ondisk.open_merged(merged, nprobe=8)
    faiss.extract_index_ivf(whole).nprobe = 8
    D, I = ondisk.search(index, xq, 10)  # noqa: E741 (FAISS naming)
    D1, I1 = whole.search(xq, 10)
    assert index.ntotal == N
    np.testing.assert_array_equal(I, I1)
    np.testing.assert_allclose(D, D1, rtol=1e-6)


def test_merged_lists_are_memory_mapped_from_disk_and_survive_a_move(built):
    tmp, merged, _, xb, ids = built
    moved = shutil.copytree(merged.parent, tmp / "moved")
    shutil.rmtree(merged.parent)
    index = ondisk.open_merged(moved / ondisk.MERGED, nprobe=32)
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)
    assert isinstance(lists, faiss.OnDiskInvertedLists) and lists.filename.endswith("moved/merged.ivfdata")
    _, I = ondisk.search(index, xb[:20], 1)  # noqa: E741 (FAISS naming)
    assert (I[:, 0] == ids[:20]).mean() >= 0.9  # each vector finds itself through the PQ codes


def test_a_non_ivf_factory_or_misshaped_vectors_are_refused(tmp_path):
    with pytest.raises(BadVectors, match="not an IVF"):
        ondisk.train(vectors(500, 2), "PQ8", tmp_path)
    trained = ondisk.train(vectors(2000, 2), "IVF8,PQ8", tmp_path)
    with pytest.raises(BadVectors, match=r"\(n, 64\)"):
        ondisk.fill_block(trained, np.arange(5), np.zeros((5, 32), np.float32), tmp_path / "s.index")
    assert not (tmp_path / "s.index").exists()
