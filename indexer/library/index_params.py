"""How a vector index is built for a collection: exact below a size threshold, IVF-PQ above it, with
parameters from the collection size and a memory budget."""

from __future__ import annotations

import math
from dataclasses import dataclass

import faiss

from indexer.errors import IndexBudgetTooSmall

from .refine_store import ID_BYTES

FLAT_THRESHOLD = 50_000  # below: exact search (50k x 1024-d float32 = 200 MB)


HNSW_ABOVE = 1_000_000  # above: IVF65536_HNSW32 / IVF262144_HNSW32 (FACTS, FAISS wiki)


MIN_PER_LIST = 39


# PQ sub-vectors of at least 8 dimensions: FAISS trains 4-d ones 10x slower (7 s vs 0.6 s for 20k 64-d
# vectors) for codes that re-ranking makes unnecessary.
MIN_DSUB = 8


REFINE_FACTOR = 80  # bench/vectors.py, 1M text-like queries: 40 -> recall@10 0.92, 80 -> 0.98, 160 -> 0.99


@dataclass(frozen=True)
class IndexParams:
    kind: str  # "flat" | "ivfpq"
    factory: str
    nlist: int = 0
    M: int = 0
    nbits: int = 0
    nprobe: int = 0
    refine_factor: int = 1


def choose_params(n: int, d: int, budget_bytes_per_vector: int = 100, *, flat_threshold=FLAT_THRESHOLD) -> IndexParams:
    """Index parameters for n vectors of dimension d within a RAM budget (PQ code + 8-byte id)."""
    if n < flat_threshold:
        return IndexParams("flat", "IDMap,Flat")
    nlist, m = _nlist(n), pq_m(d, budget_bytes_per_vector)
    coarse = f"IVF{nlist}_HNSW32" if n > HNSW_ABOVE else f"IVF{nlist}"
    return IndexParams("ivfpq", f"{coarse},PQ{m}", nlist, m, 8, default_nprobe(nlist), REFINE_FACTOR)


def _nlist(n: int) -> int:
    """4*sqrt(n) lists (a power of two) up to 1M, FAISS's table above; at least 39 training points each."""
    table = 262_144 if n > 10_000_000 else 65_536 if n > HNSW_ABOVE else 2 ** round(math.log2(4 * math.sqrt(n)))
    return max(1, min(table, 2 ** int(math.log2(max(1, n // MIN_PER_LIST)))))


def pq_m(d: int, budget: int) -> int:
    """The largest M dividing d with 8-bit codes + id within budget and sub-vectors of >= MIN_DSUB dims."""
    fits = [m for m in range(1, d + 1) if d % m == 0 and m + ID_BYTES <= budget and d // m >= min(MIN_DSUB, d)]
    if not fits:
        raise IndexBudgetTooSmall(budget, d)
    return max(fits)


def default_nprobe(nlist: int) -> int:
    """Lists scanned by default: 1/128 of them, at least 16 (bench/vectors.py, 1M text-like queries:
    recall@10 stops rising at 16 of 4096 lists, 0.87 at 8; PQ ranking, not lists, limits it)."""
    return min(nlist, max(16, nlist // 128))


def new_index(params: IndexParams, d: int) -> faiss.Index:
    if params.kind == "flat":
        return faiss.IndexIDMap(faiss.IndexFlatIP(d))
    index = faiss.index_factory(d, params.factory, faiss.METRIC_INNER_PRODUCT)
    index.do_polysemous_training = False  # slow, and only for Hamming filtering
    return index
