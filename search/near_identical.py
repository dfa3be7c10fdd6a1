"""The near-identical tier's pairs: proposed by hashes and embeddings, decided on the files' pixels.

Candidates come from two sources, each blind where the other sees (search.pairs):
- the catalog's 64-bit pHash, one side also flipped or turned: re-encodes, resizes, light changes, flips and
  turns; but a crop or a caption bar moves the whole frame's hash;
- each image's nearest neighbours in the library's embedding index, which a crop, a resize or a caption
  barely moves. Every indexed image has its vector already: nothing new is computed or stored to index.
search.likeness decides each pair on the two files' pixels (`PixelCheck`).

A copy's nearest neighbours are often other copies of the same picture (the 5% crop next to the 10% crop),
so a copy may be proposed beside its original's other copies and never beside the original. Grouping
(search.grouping) trusts only a pair with the keeper itself, so every two images two steps apart through
pairs found alike are compared directly as well: the crop is then checked against the photo itself, and no
group rests on a chain of likeness.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse

from indexer.library import fetch_vectors

from .likeness import Likeness, Print, compare, read_print
from .pairs import Pairs, empty_pairs, hash_bytes, neighbour_pairs, turned_hamming_pairs, united
from .searcher import Searcher

READERS = min(8, os.cpu_count() or 1)  # files read at once: decoding and resizing release the GIL
Refused = Callable[[int, int], bool]  # (image a, image b) -> never join them (answered "not duplicates")


def candidate_pairs(searcher: Searcher, hashes: Mapping[int, str | None], phash_bits: int, neighbours: int) -> Pairs:
    """Pairs of image ids (the keys of `hashes`, image id -> 64-bit pHash hex) worth a look: pHashes within
    phash_bits under any flip/turn, and each image with its `neighbours` nearest in the library's index."""
    hashed = np.array([i for i, h in hashes.items() if h], np.int64)
    found = [turned_hamming_pairs(hashed, hash_bytes([hashes[i] for i in hashed.tolist()]), phash_bits)]
    if neighbours:
        fetch = fetch_vectors(searcher.db, searcher.model_id, searcher.dim)
        indexed = indexed_ids(searcher, hashes)
        found.append(neighbour_pairs(searcher.index, fetch, indexed, neighbours))
    return united(*found)


def indexed_ids(searcher: Searcher, images) -> np.ndarray:
    """The image ids among `images` that the library's index holds, sorted."""
    return np.intersect1d(np.fromiter(images, np.int64), searcher.index.ids())


class PixelCheck:
    """Images' prints read once (READERS at a time) and pairs compared once, for one or several settings.

    path_of: image id -> a file of it; max_bits: pairs further apart are refused on their hashes alone."""

    def __init__(self, path_of: Callable[[int], str], max_bits: int = 256):
        self._path_of, self._max_bits = path_of, max_bits
        self._prints: dict[int, Print | None] = {}
        self._compared: dict[tuple[int, int], Likeness | None] = {}

    def read(self, ids) -> None:
        """Read the prints of these image ids not read yet; one that cannot be read confirms nothing."""
        todo = sorted(set(ids) - self._prints.keys())
        with ThreadPoolExecutor(READERS) as pool:
            self._prints.update(zip(todo, pool.map(lambda i: read_print(self._path_of(i)), todo), strict=True))

    def likeness(self, a: int, b: int) -> Likeness | None:
        """How alike images a and b are (None when one cannot be read); both must have been read."""
        key = (a, b) if a < b else (b, a)
        if key not in self._compared:
            pa, pb = self._prints[key[0]], self._prints[key[1]]
            self._compared[key] = None if pa is None or pb is None else compare(pa, pb, self._max_bits)
        return self._compared[key]

    def pairs(self, candidates: Pairs, accept: Callable[[Likeness], bool], refused: Refused | None = None) -> Pairs:
        """The candidate pairs `accept` finds alike, then those two steps apart through them that it finds
        alike too; distance the 256-bit pHash bits. Pairs `refused` are never compared."""
        a, b = candidates[0].tolist(), candidates[1].tolist()
        self.read(a + b)

        def alike(x: int, y: int) -> int | None:
            if refused is not None and refused(x, y):
                return None
            found = self.likeness(x, y)
            return found.bits if found is not None and accept(found) else None

        edges: dict[int, dict[int, int]] = defaultdict(dict)
        for x, y in zip(a, b, strict=True):
            if (bits := alike(x, y)) is not None:
                edges[x][y] = edges[y][x] = bits
        for x, y in _two_steps(edges):
            if (bits := alike(x, y)) is not None:
                edges[x][y] = edges[y][x] = bits
        return _as_pairs(edges)


def _two_steps(edges: dict[int, dict[int, int]]) -> list[tuple[int, int]]:
    """Pairs (x < y), sorted, not joined directly but through one image: the square of the adjacency matrix
    (sparse, so a set of a thousand mutually alike frames costs a product, not a Python triple loop)."""
    nodes = np.array(sorted(edges), np.int64)
    at = {image: i for i, image in enumerate(nodes.tolist())}
    x = [at[a] for a, ends in edges.items() for _ in ends]
    y = [at[b] for ends in edges.values() for b in ends]
    adjacent = sparse.csr_matrix((np.ones(len(x), np.int32), (x, y)), shape=(len(nodes), len(nodes)))
    reached = sparse.triu(adjacent @ adjacent, k=1).tocsr()
    reached = (reached - reached.multiply(adjacent)).tocoo()  # not the pairs joined already
    keep = reached.data > 0
    return sorted(zip(nodes[reached.row[keep]].tolist(), nodes[reached.col[keep]].tolist(), strict=True))


def _as_pairs(edges: dict[int, dict[int, int]]) -> Pairs:
    rows = [(a, b, bits) for a, ends in edges.items() for b, bits in ends.items() if a < b]
    if not rows:
        return empty_pairs()
    a, b, d = zip(*sorted(rows), strict=True)
    return np.array(a, np.int64), np.array(b, np.int64), np.array(d, np.float32)
