"""indexer.library.vectors checked against brute force (faiss.IndexFlatIP) on the same seeded data."""
# ruff: noqa: E741  -- (D, I) and (lims, D, I) as FAISS names them

from __future__ import annotations

import os

import faiss
import numpy as np
import pytest

from indexer.errors import BadVectors, IndexBudgetTooSmall, IndexCorrupt
from indexer.library import refine_store, vectors
from indexer.library.index_params import choose_params
from indexer.library.topk import recall_at_k
from indexer.library.vectors import VectorIndex


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, d: int, seed: int, clusters: int = 40) -> np.ndarray:
    """Image-like vectors: a mixture of gaussian clusters, normalised (centres fixed by d, not seed)."""
    centres = np.random.default_rng(1234).standard_normal((clusters, d))
    rng = np.random.default_rng(seed)
    return unit(centres[rng.integers(clusters, size=n)] + 1.2 * rng.standard_normal((n, d)))


def catalog_ids(n: int, seed: int = 0) -> np.ndarray:
    """Distinct, unordered, non-contiguous ids, as a catalog's would be after deletions."""
    return np.random.default_rng(seed).permutation(n * 3)[:n].astype(np.int64) + 7


def brute(xb: np.ndarray, ids: np.ndarray, xq: np.ndarray, k: int):
    flat = faiss.IndexFlatIP(xb.shape[1])
    flat.add(xb)
    D, pos = flat.search(xq, k)
    return D, np.where(pos >= 0, ids[pos], -1)


def built(tmp_path, n: int, d: int, *, flat_threshold: int = vectors.FLAT_THRESHOLD, seed: int = 0):
    xb, ids = clustered(n, d, seed), catalog_ids(n, seed)
    index = VectorIndex.open(tmp_path / "vectors" / "m", d, flat_threshold=flat_threshold)
    index.rebuild(ids, xb)
    return index, xb, ids


@pytest.fixture(scope="module")
def ivf(tmp_path_factory):
    """20k 64-d vectors, IVF-PQ forced by a low threshold (built once: training takes a second)."""
    return built(tmp_path_factory.mktemp("ivf"), 20_000, 64, flat_threshold=5_000)


def test_flat_search_equals_brute_force(tmp_path):
    index, xb, ids = built(tmp_path, 3_000, 32)
    xq = clustered(50, 32, seed=9)
    D, I = index.search(xq, 10)
    bD, bI = brute(xb, ids, xq, 10)
    assert index.kind == "flat"
    np.testing.assert_array_equal(I, bI)
    np.testing.assert_array_equal(D, bD)


def test_flat_pads_with_minus_one_and_minus_inf_past_ntotal(tmp_path):
    index, xb, ids = built(tmp_path, 5, 16)
    D, I = index.search(xb[:2], 8)
    assert (I[:, 5:] == -1).all() and np.isneginf(D[:, 5:]).all()
    assert set(I[0, :5]) == set(ids)


def test_an_empty_index_returns_no_hits(tmp_path):
    index = VectorIndex.open(tmp_path / "empty", 16)
    D, I = index.search(clustered(3, 16, seed=1), 4)
    assert (I == -1).all() and np.isneginf(D).all() and index.ntotal == 0 and len(index.ids()) == 0
    index.save()
    assert VectorIndex.open(tmp_path / "empty", 16).ntotal == 0


def test_removed_ids_never_come_back_even_after_save_and_reopen(tmp_path):
    index, xb, ids = built(tmp_path, 2_000, 32)
    gone = ids[::3]
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0
    assert not np.isin(index.search(xb, 20)[1], gone).any()
    index.save()
    reopened = VectorIndex.open(index.path, 32)
    assert reopened.ntotal == len(ids) - len(gone)
    assert not np.isin(reopened.search(xb, 20)[1], gone).any()


def test_ids_are_stable_after_removal_save_and_reopen(tmp_path):
    index, xb, ids = built(tmp_path, 2_000, 32)
    index.remove(ids[100:400])
    before = index.search(xb[:50], 10)
    index.save()
    reopened = VectorIndex.open(index.path, 32)
    after = reopened.search(xb[:50], 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(np.sort(reopened.ids()), np.sort(np.setdiff1d(ids, ids[100:400])))


def test_ivfpq_reaches_recall_095_with_exact_cosines_not_pq_scores(ivf):
    index, xb, ids = ivf
    xq = clustered(200, 64, seed=5)
    D, I = index.search(xq, 10)
    _, bI = brute(xb, ids, xq, 10)
    assert index.kind == "ivfpq" and index.manifest["factory"].startswith("IVF")
    assert recall_at_k(I, bI) >= 0.95
    by_id = dict(zip(ids.tolist(), range(len(ids)), strict=True))
    exact = np.einsum("qkd,qd->qk", xb[[[by_id[i] for i in row] for row in I]], xq)
    np.testing.assert_allclose(D, exact, atol=2e-3)
    params = faiss.SearchParametersIVF(nprobe=index.nprobe)
    pq_scores, _ = index._index.search(xq, 10, params=params)  # what FAISS alone reports: biased low
    assert np.abs(pq_scores - D).mean() > 10 * np.abs(D - exact).mean()


def test_ivfpq_manifest_records_parameters_within_budget(ivf):
    index, _, _ = ivf
    m = index.manifest
    assert m["kind"] == "ivfpq" and m["d"] == 64 and m["ntotal"] == 20_000 and m["trained_on"] == 20_000
    assert m["factory"] == f"IVF{m['nlist']},PQ{m['M']}" and 64 % m["M"] == 0 and m["nbits"] == 8
    assert m["M"] + 8 <= m["budget_bytes_per_vector"] and 1 <= m["nprobe"] <= m["nlist"]


def test_growing_past_the_threshold_switches_flat_to_ivfpq(tmp_path):
    xb, ids = clustered(6_000, 32, seed=3), catalog_ids(6_000, seed=3)
    index = VectorIndex.open(tmp_path / "v", 32, flat_threshold=3_000)
    for start in range(0, 6_000, 1_000):
        assert index.kind == ("flat" if start < 3_000 else "ivfpq")
        index.add(ids[start : start + 1_000], xb[start : start + 1_000])
    assert index.manifest["kind"] == "ivfpq" and index.manifest["trained_on"] == 3_000 and index.ntotal == 6_000
    xq = clustered(100, 32, seed=4)
    assert recall_at_k(index.search(xq, 10)[1], brute(xb, ids, xq, 10)[1]) >= 0.95
    index.save()
    assert VectorIndex.open(tmp_path / "v", 32).manifest["kind"] == "ivfpq"


def test_ivfpq_retrains_when_the_collection_outgrows_its_training(tmp_path):
    index, _, _ = built(tmp_path, 1_000, 16, flat_threshold=500)
    more, new_ids = clustered(3_500, 16, seed=8), np.arange(10**6, 10**6 + 3_500)
    index.add(new_ids[:3_000], more[:3_000])
    assert index.manifest["trained_on"] == 1_000
    index.add(new_ids[3_000:], more[3_000:])
    assert index.manifest["trained_on"] == 4_500


@pytest.mark.parametrize("exact_filter_rows", [vectors.EXACT_FILTER_ROWS, 0])
def test_filtered_search_returns_k_hits_from_a_1_percent_allowed_set(ivf, monkeypatch, exact_filter_rows):
    monkeypatch.setattr(vectors, "EXACT_FILTER_ROWS", exact_filter_rows)  # 0: FAISS's selector path
    index, xb, ids = ivf
    allowed = np.random.default_rng(1).choice(ids, size=len(ids) // 100, replace=False)
    xq = clustered(20, 64, seed=6)
    D, I = index.search(xq, 10, allowed=allowed)
    keep = np.isin(ids, allowed)
    bD, bI = brute(xb[keep], ids[keep], xq, 10)
    assert (I >= 0).all() and np.isin(I, allowed).all()
    assert recall_at_k(I, bI) >= 0.95
    assert np.all(np.diff(D, axis=1) <= 0)


def test_flat_filtered_search_equals_brute_force_on_the_allowed_set(tmp_path):
    index, xb, ids = built(tmp_path, 3_000, 32)
    allowed = ids[::100]
    xq = clustered(10, 32, seed=2)
    keep = np.isin(ids, allowed)
    np.testing.assert_array_equal(index.search(xq, 10, allowed=allowed)[1], brute(xb[keep], ids[keep], xq, 10)[1])


def test_interrupted_save_is_detected_on_reopen(tmp_path, monkeypatch):
    index, xb, ids = built(tmp_path, 1_000, 16)
    index.save()
    index.remove(ids[:10])
    real_replace = os.replace

    def crash_on_manifest(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="simulated crash"):
        index.save()
    monkeypatch.setattr(os, "replace", real_replace)
    with pytest.raises(IndexCorrupt, match="does not match the manifest"):
        VectorIndex.open(index.path, 16)


def test_rows_past_the_saved_count_are_ignored_on_reopen(tmp_path):
    index, xb, ids = built(tmp_path, 1_000, 16)
    index.save()
    for store_file in index.path.glob("refine*"):
        with open(store_file, "ab") as f:
            f.write(b"torn tail of a save that never reached its manifest" * 7)
    reopened = VectorIndex.open(index.path, 16)
    assert reopened.ntotal == 1_000
    reopened.add(np.array([10**7]), clustered(1, 16, seed=11))
    reopened.save()
    again = VectorIndex.open(index.path, 16)
    assert again.search(clustered(1, 16, seed=11), 1)[1][0, 0] == 10**7
    np.testing.assert_array_equal(np.sort(again.ids()), np.sort(np.append(ids, 10**7)))


def test_nothing_is_written_before_save(tmp_path):
    index, xb, ids = built(tmp_path, 1_000, 16)
    index.save()
    before = {p.name: p.stat().st_mtime_ns for p in index.path.iterdir()}
    reader = VectorIndex.open(index.path, 16)
    reader.add(np.array([10**7]), clustered(1, 16, seed=11))
    reader.remove(ids[:5])
    reader.rebuild(ids, xb)
    assert {p.name: p.stat().st_mtime_ns for p in index.path.iterdir()} == before


def test_save_and_reopen_round_trips(ivf, tmp_path):
    index, xb, ids = ivf
    index.nprobe = 7
    index.save(catalog_version=42)
    reopened = VectorIndex.open(index.path, 64)
    assert reopened.catalog_version == 42 and reopened.nprobe == 7
    assert {k: v for k, v in reopened.manifest.items() if k != "updated"} == {
        k: v for k, v in index.manifest.items() if k != "updated"
    }
    xq = clustered(20, 64, seed=7)
    for a, b in zip(index.search(xq, 10), reopened.search(xq, 10), strict=True):
        np.testing.assert_array_equal(a, b)


def test_reopening_with_another_dimension_is_refused(tmp_path):
    index, _, _ = built(tmp_path, 100, 16)
    index.save()
    with pytest.raises(IndexCorrupt, match="d=16"):
        VectorIndex.open(index.path, 32)


def planted(n: int, d: int, pairs: int, seed: int):
    """Spread-out vectors plus near-duplicates (cosine ~0.97) of the first `pairs` of them."""
    rng = np.random.default_rng(seed)
    base = unit(rng.standard_normal((n, d)))
    dups = unit(base[:pairs] + 0.25 / np.sqrt(d) * rng.standard_normal((pairs, d)))
    return np.vstack([base, dups]), catalog_ids(n + pairs, seed)


@pytest.mark.parametrize("flat_threshold", [vectors.FLAT_THRESHOLD, 1_000])
def test_range_search_returns_exactly_the_brute_force_pairs(tmp_path, flat_threshold):
    xb, ids = planted(8_000, 64, 300, seed=2)
    index = VectorIndex.open(tmp_path / "v", 64, flat_threshold=flat_threshold)
    index.rebuild(ids, xb)
    lims, D, I = index.range_search(xb, 0.9)
    flat = faiss.IndexFlatIP(64)
    flat.add(xb)
    blims, bD, bpos = flat.range_search(xb, 0.9)
    assert np.abs(bD - 0.9).min() > 0.01  # no pair near the threshold: fp16 rounding cannot flip one
    pairs = {(q, i) for q in range(len(xb)) for i in I[lims[q] : lims[q + 1]]}
    truth = {(q, ids[p]) for q in range(len(xb)) for p in bpos[blims[q] : blims[q + 1]]}
    assert pairs == truth and len(truth) == len(xb) + 2 * 300
    assert D.min() > 0.9


def test_catch_up_adds_missing_and_removes_extra_without_the_model(tmp_path):
    index, xb, ids = built(tmp_path, 1_000, 16)
    stored = dict(zip(ids.tolist(), xb, strict=True))
    extra = clustered(200, 16, seed=12)
    stored.update(zip(range(10**6, 10**6 + 200), extra, strict=True))
    for gone in ids[:50].tolist():
        del stored[gone]
    added, removed = index.catch_up(np.array(list(stored)), lambda want: np.stack([stored[i] for i in want]), 5)
    assert (added, removed) == (200, 50) and index.catalog_version == 5
    np.testing.assert_array_equal(np.sort(index.ids()), np.sort(np.array(list(stored))))


def test_tune_reaches_the_target_recall_and_keeps_its_settings(ivf):
    index, xb, ids = ivf
    xq = clustered(100, 64, seed=13)
    nprobe, refine_factor, recall = index.tune(xq, target_recall=0.98)
    assert recall >= 0.98 and (index.nprobe, index.refine_factor) == (nprobe, refine_factor)
    assert recall_at_k(index.search(xq, 10)[1], brute(xb, ids, xq, 10)[1]) >= 0.98


def test_bad_input_is_refused_with_typed_errors(tmp_path):
    index, xb, ids = built(tmp_path, 100, 16)
    with pytest.raises(BadVectors, match=r"expected float32 \(n, 16\)"):
        index.search(np.zeros((2, 8), np.float32), 5)
    with pytest.raises(BadVectors, match="L2-normalised"):
        index.add(np.array([10**6]), np.full((1, 16), 3.0, np.float32))
    with pytest.raises(BadVectors, match="new and distinct"):
        index.add(ids[:1], xb[:1])
    with pytest.raises(IndexBudgetTooSmall):
        VectorIndex.open(tmp_path / "w", 16, budget_bytes_per_vector=8)


def test_parameters_follow_size_and_budget():
    assert choose_params(10_000, 1024).kind == "flat"
    big = choose_params(1_000_000, 1024)
    assert big.factory == "IVF4096,PQ64" and big.M + 8 == 72
    assert choose_params(5_000_000, 1024).factory == "IVF65536_HNSW32,PQ64"
    assert choose_params(100_000, 1024, budget_bytes_per_vector=40).M == 32
    assert choose_params(100_000, 96).M == 12  # divides d, sub-vectors of 8


def test_faiss_never_gets_more_threads_than_cores():
    assert vectors.set_threads(10_000) == len(os.sched_getaffinity(0)) == faiss.omp_get_max_threads()
    vectors.set_threads(None)


def test_bfloat16_store_keeps_cosines_within_1e_3():
    x = clustered(500, 64, seed=21)
    y = refine_store.from_bfloat16(refine_store.to_bfloat16(x))
    assert np.abs(y - x).max() <= np.abs(x).max() * 2.0**-8
    np.testing.assert_allclose(y @ x[0], x @ x[0], atol=1e-3)
    np.testing.assert_array_equal(refine_store.from_bfloat16(refine_store.to_bfloat16(y)), y)  # representable: exact
