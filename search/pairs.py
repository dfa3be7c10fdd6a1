"""Candidate pairs of images for the dedup tiers, each with its measured distance.

near-identical (search.near_identical decides): the catalog's 64-bit pHash proposes pairs (FAISS binary
range search), in each of the eight flips and quarter turns of one side, and so do each image's nearest
neighbours in the library's index (a crop or a caption moves the whole frame's hash, not the embedding).
Neither can decide: the 64-bit hash puts scikit-image's stereo motorcycle pair (two photos) 4 bits apart,
closer than JPEG q10 copies of some photos (up to 8), and grey levels alone join a red and a purple star.

semantic: the production index proposes pairs (a range search a little below the threshold) and the
catalog's float32 vectors decide. IVF-PQ scores are biased low (FACTS: 0.77 for pairs at exact cosine
0.96), so no approximate score is ever compared with the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import faiss
import numpy as np
from numpy.typing import NDArray

from indexer.library import VectorIndex

Ids = NDArray[np.int64]  # (n,) catalog image ids
Pairs = tuple[Ids, Ids, NDArray[np.float32]]  # (a, b, distance), a < b
# IVF lists scanned per dedup query: near copies share a list with their original or lie next door.
# bench/dedup_scale.py, 100k planted pairs at cosine 0.96, 1024 lists: recall 0.98 at 1, 0.998 at 2, 1.0 at 4.
DEDUP_NPROBE = 4
CHUNK = 4096  # queries (and vectors fetched) per step: SQLite's bound-variable limit and memory


def empty_pairs() -> Pairs:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)


def hash_bytes(hexes: Sequence[str]) -> NDArray[np.uint8]:
    """(n, 8) uint8 codes of n 16-hex-digit hashes, for FAISS binary indexes."""
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), np.uint8).reshape(len(hexes), 8)


def dihedral_codes(codes: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """(8, n, 8) codes: each (n, 8) 64-bit pHash as it would be of the picture flipped or turned.

    A mirror reverses the columns of the 32 x 32 grey image pHash takes the DCT of, which flips the sign of
    its odd horizontal frequencies; a turn transposes the DCT. pHash thresholds the 8 x 8 low frequencies at
    their median, near zero, so the bit of a sign-flipped frequency flips: measured on the bundled photos
    and shapes, these codes are within 8 bits of the flipped/turned picture's own pHash."""
    bits = np.unpackbits(codes, axis=1).reshape(-1, 8, 8).astype(bool)
    odd = (np.arange(8) % 2).astype(bool)
    out = []
    for grid in (bits, bits.transpose(0, 2, 1)):
        for rows, cols in ((False, False), (False, True), (True, False), (True, True)):
            out.append(grid ^ (odd[:, None] & rows) ^ (odd[None, :] & cols))
    return np.packbits(np.stack(out).reshape(8, len(codes), 64), axis=2)


def hamming_pairs(
    ids: Ids, codes: NDArray[np.uint8], max_bits: int, variants: NDArray[np.uint8] | None = None
) -> Pairs:
    """Pairs of ids whose (n, 8) codes differ in at most max_bits bits; distance the fewest bits. `variants`:
    (v, n, 8) other forms of the codes to query with (dihedral_codes), the codes themselves by default."""
    if len(ids) < 2:
        return empty_pairs()
    index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    index.add(np.ascontiguousarray(codes))
    found = []
    for variant in codes[None] if variants is None else variants:
        lims, D, J = index.range_search(np.ascontiguousarray(variant), max_bits + 1)  # radius is exclusive
        Q = np.repeat(np.arange(len(ids)), np.diff(lims).astype(np.int64))
        found.append((Q[Q != J], J[Q != J], D[Q != J].astype(np.float32)))
    q, j, d = (np.concatenate(x) for x in zip(*found, strict=True))
    a, b = ids[q], ids[j]
    return united((np.minimum(a, b), np.maximum(a, b), d))  # each pair once, with its fewest bits


def turned_hamming_pairs(ids: Ids, codes: NDArray[np.uint8], max_bits: int) -> Pairs:
    """hamming_pairs with one side of each pair also flipped or turned (dihedral_codes)."""
    return hamming_pairs(ids, codes, max_bits, dihedral_codes(codes))


def neighbour_pairs(
    index: VectorIndex, fetch: Callable[[Ids], np.ndarray], ids: Ids, k: int, *, nprobe: int = DEDUP_NPROBE
) -> Pairs:
    """Each id with its k nearest other ids among `ids` in the index, as pairs a < b (each once); distance
    1 - the index's cosine. `fetch` gives the stored vectors the queries are made of."""
    ids = np.asarray(ids, np.int64)
    if k < 1 or len(ids) < 2:
        return empty_pairs()
    known, found = np.sort(ids), []
    allowed = known if index.ntotal > len(known) else None  # vectors of other images (offline roots) take no slot
    for s in range(0, len(ids), CHUNK):
        queries = ids[s : s + CHUNK]
        D, hits = index.search(fetch(queries), k + 1, nprobe=nprobe, allowed=allowed)  # + 1: a query finds itself
        Q = np.repeat(queries, k + 1)
        hits, D = hits.ravel(), D.ravel()
        at = np.searchsorted(known, hits).clip(0, len(known) - 1)
        keep = (hits != Q) & (known[at] == hits)
        found.append((Q[keep], hits[keep], (1.0 - D[keep]).astype(np.float32)))
    a, b, d = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return united((np.minimum(a, b), np.maximum(a, b), d))


def united(*parts: Pairs) -> Pairs:
    """The pairs of all parts (each a < b), each pair once with its smallest distance; sorted by (a, b)."""
    a, b, d = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((d, b, a))
    a, b, d = a[order], b[order], d[order]
    first = np.ones(len(a), bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[first], b[first], d[first].astype(np.float32)


def cosine_pairs(
    index: VectorIndex,
    fetch: Callable[[Ids], np.ndarray],
    ids: Ids,
    min_cosine: float,
    *,
    margin: float = 0.02,
    nprobe: int = DEDUP_NPROBE,
) -> Pairs:
    """Pairs of ids with exact cosine >= min_cosine; distance 1 - cosine.

    The index proposes neighbours above min_cosine - margin (its own scores come from a bfloat16 copy);
    each is re-scored on the float32 vectors `fetch` returns, and only that score is thresholded. `nprobe`:
    IVF lists scanned per query."""
    ids = np.asarray(ids, np.int64)
    known = np.sort(ids)
    found = [
        _chunk_pairs(index, fetch, known, ids[s : s + CHUNK], min_cosine - margin, min_cosine, nprobe)
        for s in range(0, len(ids), CHUNK)
    ]
    if not found:
        return empty_pairs()
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def fetched(fetch: Callable[[Ids], np.ndarray], ids: Ids) -> np.ndarray:
    """fetch(ids) in chunks of CHUNK ids (one SQL IN list each); (len(ids), d)."""
    return np.concatenate([fetch(ids[s : s + CHUNK]) for s in range(0, len(ids), CHUNK)])


def _chunk_pairs(index, fetch, known: Ids, queries: Ids, radius: float, min_cosine: float, nprobe) -> Pairs:
    """Pairs (query, hit) with query < hit and hit among the `known` (sorted) ids."""
    xq = fetch(queries)
    lims, _, hits = index.range_search(xq, radius, nprobe=nprobe)
    Q = np.repeat(np.arange(len(queries)), np.diff(lims))
    at = np.searchsorted(known, hits).clip(0, max(len(known) - 1, 0))
    keep = (queries[Q] < hits) & (known[at] == hits)
    Q, hits = Q[keep], hits[keep]
    if not len(hits):
        return empty_pairs()
    targets, where = np.unique(hits, return_inverse=True)
    xb = fetched(fetch, targets)
    cos = np.einsum("ij,ij->i", xq[Q], xb[where])
    ok = cos >= min_cosine
    return queries[Q[ok]], hits[ok], (1.0 - cos[ok]).astype(np.float32)
