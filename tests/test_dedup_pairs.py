"""Candidate pairs (search.pairs) against brute force: an IVF-PQ index proposes, stored vectors decide."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.library.vectors import VectorIndex
from search.pairs import cosine_pairs, hamming_pairs, neighbour_pairs, united

D, N, PLANTED, MIN_COSINE = 64, 3000, 300, 0.9


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def planted():
    """N clustered vectors (distinct ones at cosine ~0.7 within a cluster); the last PLANTED are near copies
    (cosine ~0.96) of the first PLANTED."""
    rng = np.random.default_rng(0)
    centres = _unit(rng.standard_normal((40, D)))
    xb = _unit(centres[rng.integers(40, size=N - PLANTED)] + 0.7 * _unit(rng.standard_normal((N - PLANTED, D))))
    copies = _unit(xb[:PLANTED] + 0.28 * _unit(rng.standard_normal((PLANTED, D))))
    return np.concatenate([xb, copies])


@pytest.fixture(scope="module")
def ivfpq(planted, tmp_path_factory):
    index = VectorIndex.open(tmp_path_factory.mktemp("ivfpq"), D, flat_threshold=100)  # force IVF-PQ
    index.rebuild(np.arange(N), planted)
    assert index.kind == "ivfpq" and index.faiss_index.nlist <= 64
    return index


def _brute(xb: np.ndarray, min_cosine: float) -> set[tuple[int, int]]:
    a, b = np.nonzero(np.triu(xb @ xb.T, 1) >= min_cosine)
    return set(zip(a.tolist(), b.tolist(), strict=True))


def test_planted_pairs_are_recovered_through_ivf_pq_after_exact_rescoring(planted, ivfpq):
    a, b, dist = cosine_pairs(ivfpq, lambda ids: planted[ids], np.arange(N), MIN_COSINE)
    found, truth = set(zip(a.tolist(), b.tolist(), strict=True)), _brute(planted, MIN_COSINE)
    plants = {(i, N - PLANTED + i) for i in range(PLANTED)}
    assert plants <= truth
    assert len(found & plants) / PLANTED >= 0.99 and found <= truth
    exact = np.einsum("ij,ij->i", planted[a], planted[b])
    np.testing.assert_allclose(dist, 1 - exact, atol=1e-6)


def test_the_pq_scores_alone_would_miss_the_recall_target(planted, ivfpq):
    """Why the re-score exists: compressed scores put many of the same pairs below the threshold."""
    pq = ivfpq.faiss_index
    pq.nprobe = pq.nlist
    D_, rows = pq.search(planted[:PLANTED], 20)
    partner = np.arange(PLANTED)[:, None] + N - PLANTED  # the store rows are the ids here (rebuilt in order)
    pq_scores = np.where(rows == partner, D_, -np.inf).max(axis=1)
    assert np.mean(pq_scores >= MIN_COSINE) < 0.95


def test_hamming_pairs_are_exactly_the_pairs_within_the_radius():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (400, 8), dtype=np.uint8)
    codes[200:] = codes[:200] ^ (rng.random((200, 8)) < 0.08).astype(np.uint8) * rng.integers(1, 256, (200, 8)).astype(
        np.uint8
    )
    ids = np.arange(1000, 1400)
    a, b, bits = hamming_pairs(ids, codes, 10)
    unpacked = np.unpackbits(codes, axis=1)
    dist = (unpacked[:, None, :] != unpacked[None, :, :]).sum(-1)
    i, j = np.nonzero(np.triu(dist <= 10, 1))
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == set(zip((ids[i]).tolist(), ids[j].tolist(), strict=True))
    np.testing.assert_array_equal(bits, dist[a - 1000, b - 1000])


def test_neighbour_pairs_are_each_vectors_k_nearest_by_brute_force(planted, tmp_path):
    index = VectorIndex.open(tmp_path, D)  # exact search at this size
    index.rebuild(np.arange(N), planted)
    ids = np.arange(0, N, 2)  # only these are files: the others' vectors must not be paired
    a, b, dist = neighbour_pairs(index, lambda q: planted[q], ids, 3)
    sims = planted[ids] @ planted[ids].T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :3]
    truth = {tuple(sorted((int(ids[i]), int(ids[j])))) for i, row in enumerate(nearest) for j in row}
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == truth and np.all(a < b)
    np.testing.assert_allclose(dist, 1 - np.einsum("ij,ij->i", planted[a], planted[b]), atol=1e-3)


def test_united_pairs_keep_each_pair_once_with_its_smallest_distance():
    first = (np.array([1, 2]), np.array([5, 3]), np.array([4.0, 1.0], np.float32))
    second = (np.array([1, 0]), np.array([5, 9]), np.array([2.0, 7.0], np.float32))
    a, b, d = united(first, second)
    assert list(zip(a.tolist(), b.tolist(), d.tolist(), strict=True)) == [(0, 9, 7.0), (1, 5, 2.0), (2, 3, 1.0)]
