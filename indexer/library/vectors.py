"""The FAISS vector index of one library and model: derived data, rebuilt or caught up from the
catalog's persisted vectors, never by running the model.

Exact inner product below a size threshold, IVF-PQ above it (parameters from the collection size and a
memory budget), with PQ candidates re-scored on exact stored vectors so that D is always the cosine.

The files and how they are written: indexer.library.index_files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from indexer.errors import BadVectors
from indexer.model import Embeddings

from .index_files import (
    FORMAT,
    INDEX_FILE,
    MANIFEST_FILE,
    now_utc,
    parse_manifest,
    read_manifest,
    read_saved,
    renumber_rows,
    write_atomic,
)
from .index_params import FLAT_THRESHOLD, IndexParams, choose_params, new_index, pq_m
from .refine_store import CHUNK, RefineStore
from .topk import Ids, Rows, Scores, recall_at_k, top_k

RETRAIN_GROWTH = 4  # retrain when the collection outgrows trained_on by this factor
TRAIN_PER_LIST = 50  # FACTS: 30..256 points per list; k-means time grows with it, k-means warns under 39
MAX_REFINE_FACTOR = 256
EXACT_FILTER_ROWS = 20_000  # filters this selective are scored exactly on the store
RANGE_CANDIDATES = 64


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
        pq_m(d, budget_bytes_per_vector)  # refuse an impossible budget now, not at the first retrain
        manifest = read_manifest(path)
        if manifest is None:
            now, params = now_utc(), choose_params(0, d)
            meta = {"trained_on": 0, "created": now, "updated": now, "catalog_version": None}
            store, index = RefineStore(path, d, 0, 0), new_index(params, d)
        else:
            params, meta = parse_manifest(manifest, d, path)
            store, index = read_saved(path, d, manifest)
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
            renumber_rows(self._index, remap)
            self._live, self._lookup = np.ones(self._store.rows, bool), None
        blob = faiss.serialize_index(self._index).tobytes()
        write_atomic(self.path / INDEX_FILE, blob)
        if catalog_version is not None:
            self._meta["catalog_version"] = catalog_version
        self._meta["updated"] = now_utc()
        manifest = {**self.manifest, "index_bytes": len(blob), "index_sha256": hashlib.sha256(blob).hexdigest()}
        write_atomic(self.path / MANIFEST_FILE, json.dumps(manifest, indent=2).encode())
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
        index = new_index(params, self.d)
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
        D, R = top_k((self._store.read(rows) @ q)[None], rows[None], k)
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
            D, R = top_k(np.hstack([D, S]), np.hstack([R, np.broadcast_to(part, S.shape)]), k)
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
