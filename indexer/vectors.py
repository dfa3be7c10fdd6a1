"""The FAISS vector index of one library and model: derived data, rebuilt or caught up from the
catalog's persisted vectors, never by running the model.

Exact inner product below a size threshold, IVF-PQ above it (parameters from the collection size and a
memory budget), with PQ candidates re-scored on exact stored vectors so that D is always the cosine.

In `vectors/<model-key>/`:
    index.faiss            the FAISS index; the ids it holds are row numbers of the refine store
    refine-<gen>.bf16      (rows, d) bfloat16 copy of every vector, memory-mapped
    refine_ids-<gen>.i64   (rows,) int64 catalog image id of each row
    manifest.json          parameters, counts, catalog_version, size and sha256 of index.faiss

Why a memory-mapped store rather than a `fetch(ids)` callback into the catalog: re-ranking reads
k * refine_factor scattered vectors per query, which a page-cached memmap serves in microseconds and a
database in milliseconds; retraining, filtered exact search and range search need the vectors too, and
the index stays self-contained. It lives in the page cache, not in the index's RAM. bfloat16 rather
than float16: widening it to float32 is a 16-bit shift, 10x faster than numpy's float16 conversion
(0.11 vs 1.1 ms for 640 x 1024, which was most of a query's time at 1M), for cosines within ~1e-4 at
d=1024 (8-bit mantissa; errors average out over d). FAISS ids are store rows, so a hit addresses its
exact vector with no id lookup.

Nothing touches the files before save() (a reader may catch up in memory beside the writer). save()
appends new rows past the saved ones, or, when rows were removed, writes a compacted new generation;
then index.faiss, then manifest.json (rows, generation, index size and sha256), each through a temp
file, fsync and rename. A crash leaves either the old pair, which ignores any torn tail past its row
count, or a manifest that disagrees with index.faiss, which open() reports as IndexCorrupt.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from .encoder import Embeddings
from .errors import BadVectors, IndexBudgetTooSmall, IndexCorrupt
from .refine_store import CHUNK, ID_BYTES, RefineStore

Ids = NDArray[np.int64]  # (n,) catalog image ids, >= 0
Rows = NDArray[np.int64]  # (n,) refine-store row numbers: the ids FAISS holds
Scores = NDArray[np.float32]  # (nq, k) cosine similarity; -inf where there is no result

FLAT_THRESHOLD = 50_000  # below: exact search (50k x 1024-d float32 = 200 MB)
HNSW_ABOVE = 1_000_000  # above: IVF65536_HNSW32 / IVF262144_HNSW32 (FACTS, FAISS wiki)
RETRAIN_GROWTH = 4  # retrain when the collection outgrows trained_on by this factor
TRAIN_PER_LIST = 50  # FACTS: 30..256 points per list; k-means time grows with it, k-means warns under 39
MIN_PER_LIST = 39
# PQ sub-vectors of at least 8 dimensions: FAISS trains 4-d ones 10x slower (7 s vs 0.6 s for 20k 64-d
# vectors) for codes that re-ranking makes unnecessary.
MIN_DSUB = 8
REFINE_FACTOR = 80  # bench/vectors.py, 1M text-like queries: 40 -> recall@10 0.92, 80 -> 0.98, 160 -> 0.99
MAX_REFINE_FACTOR = 256
EXACT_FILTER_ROWS = 20_000  # filters this selective are scored exactly on the store
RANGE_CANDIDATES = 64
INDEX_FILE, MANIFEST_FILE = "index.faiss", "manifest.json"
FORMAT = 2  # 2: bfloat16 refine store


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
    nlist, m = _nlist(n), _pq_m(d, budget_bytes_per_vector)
    coarse = f"IVF{nlist}_HNSW32" if n > HNSW_ABOVE else f"IVF{nlist}"
    return IndexParams("ivfpq", f"{coarse},PQ{m}", nlist, m, 8, default_nprobe(nlist), REFINE_FACTOR)


def _nlist(n: int) -> int:
    """4*sqrt(n) lists (a power of two) up to 1M, FAISS's table above; at least 39 training points each."""
    table = 262_144 if n > 10_000_000 else 65_536 if n > HNSW_ABOVE else 2 ** round(math.log2(4 * math.sqrt(n)))
    return max(1, min(table, 2 ** int(math.log2(max(1, n // MIN_PER_LIST)))))


def _pq_m(d: int, budget: int) -> int:
    """The largest M dividing d with 8-bit codes + id within budget and sub-vectors of >= MIN_DSUB dims."""
    fits = [m for m in range(1, d + 1) if d % m == 0 and m + ID_BYTES <= budget and d // m >= min(MIN_DSUB, d)]
    if not fits:
        raise IndexBudgetTooSmall(budget, d)
    return max(fits)


def default_nprobe(nlist: int) -> int:
    """Lists scanned by default: 1/128 of them, at least 16 (bench/vectors.py, 1M text-like queries:
    recall@10 stops rising at 16 of 4096 lists, 0.87 at 8; PQ ranking, not lists, limits it)."""
    return min(nlist, max(16, nlist // 128))


def set_threads(omp_threads: int | None = None) -> int:
    """Let FAISS use omp_threads (default: every core this process may run on), never more than the cores."""
    cores = len(os.sched_getaffinity(0))
    n = cores if omp_threads is None else max(1, min(omp_threads, cores))
    faiss.omp_set_num_threads(n)
    return n


class VectorIndex:
    """Cosine search over L2-normalised float32 vectors keyed by int64 image ids."""

    def __init__(self, path: Path, d: int, store: RefineStore, index: faiss.Index, params: IndexParams, meta: dict):
        self.path, self.d, self._store, self._index, self._params, self._meta = path, d, store, index, params, meta
        self._live = np.ones(store.rows, bool)
        self._lookup: tuple[Ids, Rows] | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        d: int,
        *,
        budget_bytes_per_vector: int = 100,
        flat_threshold: int | None = None,
        omp_threads: int | None = None,
    ) -> VectorIndex:
        """The saved index in `path`, or an empty one; IndexCorrupt when the saved files disagree.

        The budget applies from the next (re)training; flat_threshold defaults to the manifest's."""
        set_threads(omp_threads)
        path = Path(path)
        _pq_m(d, budget_bytes_per_vector)  # refuse an impossible budget now, not at the first retrain
        manifest = _read_manifest(path)
        if manifest is None:
            now, params = _now(), choose_params(0, d)
            meta = {"trained_on": 0, "created": now, "updated": now, "catalog_version": None}
            store, index = RefineStore(path, d, 0, 0), _new_index(params, d)
        else:
            params, meta = _parse_manifest(manifest, d, path)
            store, index = _read_saved(path, d, manifest)
        recorded = meta.pop("flat_threshold", FLAT_THRESHOLD)
        threshold = recorded if flat_threshold is None else flat_threshold
        meta.update(budget_bytes_per_vector=budget_bytes_per_vector, flat_threshold=threshold)
        return cls(path, d, store, index, params, meta)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        return self._params.kind

    @property
    def faiss_index(self) -> faiss.Index:
        """The FAISS index itself, for measurement: its ids are store rows, its scores PQ-approximate."""
        return self._index

    @property
    def catalog_version(self) -> int | None:
        return self._meta["catalog_version"]

    @property
    def nprobe(self) -> int:
        return self._params.nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._params = replace(self._params, nprobe=max(1, min(int(value), self._params.nlist or 1)))

    @property
    def refine_factor(self) -> int:
        return self._params.refine_factor

    @refine_factor.setter
    def refine_factor(self, value: int) -> None:
        self._params = replace(self._params, refine_factor=max(1, int(value)))

    @property
    def manifest(self) -> dict:
        store = {"store_generation": self._store.generation, "store_rows": self._store.rows}
        return {"format": FORMAT, **asdict(self._params), "d": self.d, "ntotal": self.ntotal, **self._meta, **store}

    def ids(self) -> Ids:
        """(ntotal,) image ids in the order they were added."""
        return self._store.all_ids()[self._live]

    def add(self, ids: Ids, xb: Embeddings) -> None:
        """Add new ids with their (n, d) vectors; retrains when the collection outgrew the parameters."""
        ids, xb = self._check_ids(ids), self._check(xb, "xb")
        _check_new(ids, xb, self._rows_of(ids))
        rows = self._store.append(ids, xb)
        self._live = np.concatenate([self._live, np.ones(len(rows), bool)])
        self._lookup = None
        if self._outgrown():
            self._retrain()
        else:
            self._index.add_with_ids(xb, rows)

    def remove(self, ids: Ids) -> int:
        """Remove ids (unknown ones are ignored); returns how many were removed."""
        rows = self._rows_of(self._check_ids(ids))
        if len(rows):
            self._index.remove_ids(faiss.IDSelectorBatch(rows))
            self._live[rows] = False
            self._lookup = None
        return len(rows)

    def rebuild(self, ids: Ids, xb: Embeddings, *, catalog_version: int | None = None) -> None:
        """Replace everything with these (n, d) vectors (from the catalog); parameters chosen afresh."""
        ids, xb = self._check_ids(ids), self._check(xb, "xb", copy=False)
        _check_new(ids, xb, np.zeros(0, np.int64))
        store = RefineStore(self.path, self.d, self._store.generation + 1)  # written by save()
        for start in range(0, len(ids), CHUNK):
            store.append(ids[start : start + CHUNK], np.asarray(xb[start : start + CHUNK], np.float32))
        self._store, self._live, self._lookup = store, np.ones(len(ids), bool), None
        rows = np.arange(len(ids), dtype=np.int64)
        self._train(rows, lambda sample: np.asarray(xb[sample], np.float32), _xb_chunks(xb))
        self._meta["catalog_version"] = catalog_version

    def catch_up(self, catalog_ids: Ids, fetch: Callable[[Ids], Embeddings], catalog_version: int) -> tuple[int, int]:
        """Make the ids equal the catalog's, fetching missing vectors from it; returns (added, removed)."""
        catalog_ids, have = self._check_ids(catalog_ids), self.ids()
        removed = self.remove(np.setdiff1d(have, catalog_ids))
        missing = np.setdiff1d(catalog_ids, have)
        for start in range(0, len(missing), CHUNK):
            part = missing[start : start + CHUNK]
            self.add(part, fetch(part))
        self._meta["catalog_version"] = catalog_version
        return len(missing), removed

    def search(
        self, xq: Embeddings, k: int, *, nprobe: int | None = None, allowed: Ids | None = None
    ) -> tuple[Scores, Ids]:
        """Return (D, I), each (nq, k): D exact cosine (descending), I image ids; -inf / -1 past the hits.

        `allowed` restricts hits to those ids; k hits come back whenever k of them are indexed."""
        xq = self._check(xq, "xq")
        if k < 1:
            raise BadVectors(f"k must be at least 1, got {k}")
        if len(xq) == 0:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        if allowed is None:
            D, R = self._search_rows(xq, k, nprobe)
        else:
            D, R = self._search_allowed(xq, k, nprobe, self._rows_of(self._check_ids(allowed)))
        return D, self._to_ids(R)

    def range_search(
        self, xq: Embeddings, threshold: float, *, nprobe: int | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float32], Ids]:
        """Return (lims, D, I) like FAISS: hits of query i, exact cosine > threshold, at lims[i]:lims[i+1]."""
        xq = self._check(xq, "xq")
        if self.kind == "flat":
            lims, D, R = self._index.range_search(xq, float(threshold))
            return lims.astype(np.int64), D, self._to_ids(R)
        hits = self._range_rows(xq, threshold, nprobe)
        lims = np.concatenate([[0], np.cumsum([len(r) for _, r in hits])]).astype(np.int64)
        D = np.concatenate([s for s, _ in hits] + [np.zeros(0, np.float32)])
        R = np.concatenate([r for _, r in hits] + [np.zeros(0, np.int64)])
        return lims, D, self._to_ids(R)

    def tune(self, xq: Embeddings, *, k: int = 10, target_recall: float = 0.95) -> tuple[int, int, float]:
        """Set nprobe and refine_factor for recall@k >= target on these queries, doubling whichever gains
        more; use text queries (FACTS: cross-modal is the hard case). Returns (nprobe, refine_factor, recall)."""
        xq = self._check(xq, "xq")
        if self.kind == "flat":
            return 0, 1, 1.0
        _, truth = self._exact(xq, np.flatnonzero(self._live), k)

        def recall(nprobe: int, refine_factor: int) -> float:
            self._params = replace(self._params, nprobe=nprobe, refine_factor=refine_factor)
            return recall_at_k(self._search_rows(xq, k, None)[1], truth)

        state = (1, 1)
        score = recall(*state)
        while score < target_recall:
            steps = [(2 * state[0], state[1]), (state[0], 2 * state[1])]
            steps = [s for s in steps if s[0] <= self._params.nlist and s[1] <= MAX_REFINE_FACTOR]
            if not steps:
                break
            score, state = max((recall(*s), s) for s in steps)
        recall(*state)
        return *state, score

    def save(self, *, catalog_version: int | None = None) -> None:
        """Write atomically: store generation, then index.faiss, then manifest.json naming both."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._store, remap = self._store.write(self._live)
        if remap is not None:
            _renumber(self._index, remap)
            self._live, self._lookup = np.ones(self._store.rows, bool), None
        blob = faiss.serialize_index(self._index).tobytes()
        _write_atomic(self.path / INDEX_FILE, blob)
        if catalog_version is not None:
            self._meta["catalog_version"] = catalog_version
        self._meta["updated"] = _now()
        manifest = {**self.manifest, "index_bytes": len(blob), "index_sha256": hashlib.sha256(blob).hexdigest()}
        _write_atomic(self.path / MANIFEST_FILE, json.dumps(manifest, indent=2).encode())
        self._store.remove_other_generations()

    # --- internals -------------------------------------------------------------------------------

    def _check(self, x, name: str, copy: bool = True) -> Embeddings:
        x = x if isinstance(x, np.ndarray) else np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.d or not np.issubdtype(x.dtype, np.floating):
            raise BadVectors(f"{name} is {x.dtype} {x.shape}; expected float32 (n, {self.d})")
        return np.ascontiguousarray(x, dtype=np.float32) if copy else x

    @staticmethod
    def _check_ids(ids) -> Ids:
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0)):
            raise BadVectors(f"ids must be a 1-d array of non-negative integers, got {ids.dtype} {ids.shape}")
        return ids.astype(np.int64)

    def _rows_of(self, ids: Ids) -> Rows:
        """Live rows holding these ids; ids not in the index are skipped."""
        if self._lookup is None:
            live = np.flatnonzero(self._live)
            live_ids = self._store.all_ids()[live]
            order = np.argsort(live_ids, kind="stable")
            self._lookup = (live_ids[order], live[order])
        keys, rows = self._lookup
        pos = np.searchsorted(keys, ids).clip(0, max(len(keys) - 1, 0))
        found = keys[pos] == ids if len(keys) else np.zeros(len(ids), bool)
        return np.unique(rows[pos[found]])

    def _to_ids(self, R: Rows) -> Ids:
        if self._store.rows == 0:
            return np.full(R.shape, -1, np.int64)
        return np.where(R >= 0, self._store.ids_at(np.where(R >= 0, R, 0)), -1).astype(np.int64)

    def _outgrown(self) -> bool:
        live = int(self._live.sum())
        if self.kind == "flat":
            return live >= self._meta["flat_threshold"]
        return live > RETRAIN_GROWTH * self._meta["trained_on"]

    def _retrain(self) -> None:
        rows = np.flatnonzero(self._live)
        self._train(rows, lambda sample: self._store.read(rows[sample]), lambda: self._store.chunks(rows))

    def _train(self, rows: Rows, sample_of: Callable, chunks: Callable[[], Iterator]) -> None:
        """Choose parameters for len(rows), train on a sample, add every row in chunks."""
        budget, threshold = self._meta["budget_bytes_per_vector"], self._meta["flat_threshold"]
        params = choose_params(len(rows), self.d, budget, flat_threshold=threshold)
        index = _new_index(params, self.d)
        if params.kind == "ivfpq":
            size = min(len(rows), TRAIN_PER_LIST * params.nlist)
            sample = np.sort(np.random.default_rng(0).choice(len(rows), size, replace=False))
            index.train(sample_of(sample))
        for part, xb in chunks():
            index.add_with_ids(xb, part)
        self._index, self._params = index, params
        self._meta["trained_on"] = len(rows)

    def _search_rows(self, xq: Embeddings, k: int, nprobe: int | None, sel=None) -> tuple[Scores, Rows]:
        """Top-k store rows by exact cosine; IVF-PQ candidates are re-scored on the store."""
        if self.kind == "flat":
            D, R = self._index.search(xq, k, params=None if sel is None else faiss.SearchParameters(sel=sel))
            return np.where(R >= 0, D, -np.inf).astype(np.float32), R
        want = max(1, min(k * self._params.refine_factor, self.ntotal))
        _, C = self._index.search(xq, want, params=self._ivf_params(nprobe, sel))
        out = [self._rerank(q, c[c >= 0], k) for q, c in zip(xq, C, strict=True)]
        return np.stack([d for d, _ in out]), np.stack([r for _, r in out])

    def _ivf_params(self, nprobe: int | None, sel) -> faiss.SearchParametersIVF:
        p = max(1, min(nprobe or self._params.nprobe, self._params.nlist))
        kwargs = {"nprobe": p} if sel is None else {"nprobe": p, "sel": sel}
        if "HNSW" in self._params.factory:
            kwargs["quantizer_params"] = faiss.SearchParametersHNSW(efSearch=max(2 * p, 64))
        return faiss.SearchParametersIVF(**kwargs)

    def _rerank(self, q: Embeddings, rows: Rows, k: int) -> tuple[Scores, Rows]:
        D, R = _top_k((self._store.read(rows) @ q)[None], rows[None], k)
        return D[0], R[0]

    def _search_allowed(self, xq: Embeddings, k: int, nprobe: int | None, rows: Rows) -> tuple[Scores, Rows]:
        """Filtered search: FAISS's id selector, lists widened by the filter's selectivity; exact on the
        store when the filter is very selective or the index still came back short."""
        if self.kind != "flat" and len(rows) <= EXACT_FILTER_ROWS:
            return self._exact(xq, rows, k)
        sel = faiss.IDSelectorBatch(rows)  # a hash set of rows, checked as lists are scanned
        if self.kind == "flat":
            return self._search_rows(xq, k, None, sel)
        widened = math.ceil((nprobe or self._params.nprobe) * self.ntotal / len(rows))
        D, R = self._search_rows(xq, k, widened, sel)
        short = R[:, min(k, len(rows)) - 1] < 0
        if short.any():
            D[short], R[short] = self._exact(xq[short], rows, k)
        return D, R

    def _exact(self, xq: Embeddings, rows: Rows, k: int) -> tuple[Scores, Rows]:
        """Exact top-k among the given rows, scored on the store in chunks."""
        D = np.full((len(xq), k), -np.inf, np.float32)
        R = np.full((len(xq), k), -1, np.int64)
        for part, xb in self._store.chunks(rows):
            S = xq @ xb.T
            D, R = _top_k(np.hstack([D, S]), np.hstack([R, np.broadcast_to(part, S.shape)]), k)
        return D, R

    def _range_rows(self, xq: Embeddings, threshold: float, nprobe: int | None) -> list[tuple[Scores, Rows]]:
        """Per query, exact hits above threshold among PQ candidates, best first; queries whose
        candidates were at least half hits ask again for 4x as many (PQ scores are biased low)."""
        hits: list = [None] * len(xq)
        pending, want = np.arange(len(xq)), RANGE_CANDIDATES
        while len(pending):
            _, C = self._index.search(xq[pending], min(want, self.ntotal), params=self._ivf_params(nprobe, None))
            again = []
            for q, c in zip(pending, C, strict=True):
                rows = c[c >= 0]
                scores = self._store.read(rows) @ xq[q]
                if 2 * (scores > threshold).sum() >= len(rows) > 0 and want < self.ntotal:
                    again.append(q)
                    continue
                order = np.argsort(-scores, kind="stable")
                order = order[scores[order] > threshold]
                hits[q] = (scores[order], rows[order])
            pending, want = np.array(again, np.int64), want * 4
        return hits


def recall_at_k(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Mean fraction of each row of truth (nq, k) present in the same row of found (nq, k)."""
    k = truth.shape[1]
    return float(np.mean([len(np.intersect1d(f, t[t >= 0])) / k for f, t in zip(found, truth, strict=True)]))


def _top_k(D: Scores, R: Rows, k: int) -> tuple[Scores, Rows]:
    """Per row, the k largest scores (descending) and their rows, padded with -inf / -1."""
    if D.shape[1] < k:
        pad = k - D.shape[1]
        D = np.hstack([D, np.full((len(D), pad), -np.inf, np.float32)])
        R = np.hstack([R, np.full((len(R), pad), -1, np.int64)])
    part = np.argpartition(-D, k - 1, axis=1)[:, :k] if D.shape[1] > k else np.arange(k)[None].repeat(len(D), 0)
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(D, part, 1), axis=1, kind="stable"), 1)
    return np.take_along_axis(D, order, 1).astype(np.float32), np.take_along_axis(R, order, 1).astype(np.int64)


def _check_new(ids: Ids, xb: Embeddings, present: Rows) -> None:
    if len(ids) != len(xb):
        raise BadVectors(f"{len(ids)} ids for {len(xb)} vectors")
    if len(np.unique(ids)) != len(ids) or len(present):
        raise BadVectors("ids must be new and distinct; remove an id before adding it again")
    for start in range(0, len(xb), CHUNK):
        norms = np.linalg.norm(np.asarray(xb[start : start + CHUNK], np.float32), axis=1)
        if np.abs(norms - 1).max() > 1e-2:
            raise BadVectors("vectors must be L2-normalised (inner product = cosine)")


def _xb_chunks(xb: Embeddings) -> Callable[[], Iterator[tuple[Rows, Embeddings]]]:
    def chunks():
        for start in range(0, len(xb), CHUNK):
            part = np.asarray(xb[start : start + CHUNK], np.float32)
            yield np.arange(start, start + len(part), dtype=np.int64), part

    return chunks


def _new_index(params: IndexParams, d: int) -> faiss.Index:
    if params.kind == "flat":
        return faiss.IndexIDMap(faiss.IndexFlatIP(d))
    index = faiss.index_factory(d, params.factory, faiss.METRIC_INNER_PRODUCT)
    index.do_polysemous_training = False  # slow, and only for Hamming filtering
    return index


def _renumber(index: faiss.Index, remap: Rows) -> None:
    """Rewrite the row ids FAISS holds after compaction (remap[old] = new), in place."""
    if isinstance(index, faiss.IndexIDMap):
        faiss.copy_array_to_vector(remap[faiss.vector_to_array(index.id_map)], index.id_map)
        return
    invlists = faiss.extract_index_ivf(index).invlists
    for lst in range(invlists.nlist):
        n = invlists.list_size(lst)
        if n:
            ids = faiss.rev_swig_ptr(invlists.get_ids(lst), n)
            ids[:] = remap[ids]


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads((path / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(str(path / MANIFEST_FILE), f"unreadable manifest ({exc})") from exc


def _parse_manifest(m: dict, d: int, path: Path) -> tuple[IndexParams, dict]:
    try:
        params = IndexParams(**{f: m[f] for f in IndexParams.__dataclass_fields__})
        meta = {f: m[f] for f in ("trained_on", "created", "updated", "catalog_version", "flat_threshold")}
        ok = m["format"] == FORMAT and m["d"] == d
    except (KeyError, TypeError) as exc:
        raise IndexCorrupt(str(path / MANIFEST_FILE), f"manifest lacks {exc}") from exc
    if not ok:
        raise IndexCorrupt(str(path), f"manifest format {m['format']}, d={m['d']}; expected {FORMAT}, d={d}")
    return params, meta


def _read_saved(path: Path, d: int, manifest: dict) -> tuple[RefineStore, faiss.Index]:
    index = _read_index(path, manifest)
    store = RefineStore.open(path, d, manifest["store_generation"], manifest["store_rows"])
    if index.ntotal != manifest["ntotal"] or store.rows != index.ntotal:
        raise IndexCorrupt(str(path), f"index has {index.ntotal} vectors, store {store.rows}")
    return store, index


def _read_index(path: Path, manifest: dict) -> faiss.Index:
    try:
        blob = (path / INDEX_FILE).read_bytes()
    except OSError as exc:
        raise IndexCorrupt(str(path / INDEX_FILE), f"unreadable ({exc})") from exc
    if len(blob) != manifest.get("index_bytes") or hashlib.sha256(blob).hexdigest() != manifest.get("index_sha256"):
        raise IndexCorrupt(str(path / INDEX_FILE), "does not match the manifest (a save was interrupted)")
    return faiss.deserialize_index(np.frombuffer(blob, np.uint8))


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync, rename over path, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also keep a half-written copy
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
