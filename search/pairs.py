"""Candidate pairs of images for the dedup tiers, each with its measured distance.

near-identical: the catalog's 64-bit pHash proposes pairs (FAISS binary range search), and a 256-bit
pHash of the two files decides. The 64-bit hash alone cannot: it puts scikit-image's stereo motorcycle
pair (two photos) 4 bits apart, closer than JPEG q10 copies of some photos (up to 8); the 256-bit hash
puts that pair 76 bits apart and JPEG q10 / half-size copies of the bundled photos at most 28.

semantic: the production index proposes pairs (a range search a little below the threshold) and the
catalog's float32 vectors decide. IVF-PQ scores are biased low (FACTS: 0.77 for pairs at exact cosine
0.96), so no approximate score is ever compared with the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import faiss
import imagehash
import numpy as np
from numpy.typing import NDArray
from PIL import ImageOps

from indexer import ImageError
from indexer.library import VectorIndex
from indexer.model import to_rgb
from indexer.sources import guarded, open_image, open_source

Ids = NDArray[np.int64]  # (n,) catalog image ids
Pairs = tuple[Ids, Ids, NDArray[np.float32]]  # (a, b, distance), a < b
FINE_HASH_SIZE = 16  # 16 x 16 = 256-bit pHash
FINE_DRAFT = 256  # JPEGs decoded at >= 256 px: the hash looks at 64 x 64
# IVF lists scanned per dedup query: near copies share a list with their original or lie next door.
# bench/dedup_scale.py, 100k planted pairs at cosine 0.96, 1024 lists: recall 0.98 at 1, 0.998 at 2, 1.0 at 4.
DEDUP_NPROBE = 4
CHUNK = 4096  # queries (and vectors fetched) per step: SQLite's bound-variable limit and memory


def empty_pairs() -> Pairs:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)


def hash_bytes(hexes: Sequence[str]) -> NDArray[np.uint8]:
    """(n, 8) uint8 codes of n 16-hex-digit hashes, for FAISS binary indexes."""
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), np.uint8).reshape(len(hexes), 8)


def hamming_pairs(ids: Ids, codes: NDArray[np.uint8], max_bits: int) -> Pairs:
    """Pairs of ids whose (n, 8) codes differ in at most max_bits bits; distance in bits."""
    if len(ids) < 2:
        return empty_pairs()
    index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    index.add(np.ascontiguousarray(codes))
    lims, D, J = index.range_search(np.ascontiguousarray(codes), max_bits + 1)  # radius is exclusive
    Q = np.repeat(np.arange(len(ids)), np.diff(lims).astype(np.int64))
    keep = Q < J
    return ids[Q[keep]], ids[J[keep]], D[keep].astype(np.float32)


def fine_hash(path: str) -> NDArray[np.bool_] | None:
    """256-bit pHash of the upright image at path, or None when it cannot be read now."""
    try:
        with guarded(path), open_image(open_source(path), draft_size=FINE_DRAFT) as image:
            gray = ImageOps.grayscale(to_rgb(image))
    except ImageError:
        return None
    return imagehash.phash(gray, hash_size=FINE_HASH_SIZE).hash.ravel()


def confirm_near(candidates: Pairs, path_of: Callable[[int], str], max_bits: int) -> Pairs:
    """The candidate pairs whose 256-bit pHashes differ in at most max_bits; distance in those bits.

    Each image's file is read once; an image that cannot be read confirms nothing."""
    cache: dict[int, NDArray[np.bool_] | None] = {}

    def fine(image_id: int):
        if image_id not in cache:
            cache[image_id] = fine_hash(path_of(image_id))
        return cache[image_id]

    out = []
    for a, b in zip(candidates[0].tolist(), candidates[1].tolist(), strict=True):
        ha, hb = fine(a), fine(b)
        if ha is not None and hb is not None and (bits := int(np.count_nonzero(ha != hb))) <= max_bits:
            out.append((a, b, bits))
    return _as_pairs(out)


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


def _as_pairs(rows: list[tuple[int, int, float]]) -> Pairs:
    if not rows:
        return empty_pairs()
    a, b, d = zip(*rows, strict=True)
    return np.array(a, np.int64), np.array(b, np.int64), np.array(d, np.float32)
