"""An IVF-PQ index built in blocks and merged on disk, for collections beyond one process's memory.

The coarse quantizer and the product quantizer are trained once, on a sample (`train`). Each block,
in any process or on any machine, encodes its own vectors with those trained parameters into its own
file (`fill_block`). The blocks' inverted lists are then merged into one `.ivfdata` file
(`merge`, FAISS's `contrib.ondisk.merge_ondisk`), which `open_merged` memory-maps: serving needs RAM
for the centroids and the lists a query probes, not for all the codes. Since every block uses the
same trained parameters, the merged index holds exactly the codes a one-piece build would hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
from faiss.contrib.ondisk import merge_ondisk
from numpy.typing import NDArray

from indexer.errors import BadVectors
from indexer.model import Embeddings

from .topk import Ids

TRAINED, MERGED, LISTS = "trained.index", "merged.index", "merged.ivfdata"


def _checked(xb: Embeddings, d: int | None = None) -> Embeddings:
    xb = np.ascontiguousarray(xb, dtype=np.float32)
    if xb.ndim != 2 or (d is not None and xb.shape[1] != d):
        raise BadVectors(f"vectors must be (n, {d or 'd'}) float32, got {xb.shape}")
    return xb


def train(sample: Embeddings, factory: str, directory: Path) -> Path:
    """Train `factory` (an IVF...,PQ... string) for inner product on `sample`; write and return trained.index."""
    sample = _checked(sample)
    index = faiss.index_factory(sample.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if faiss.try_extract_index_ivf(index) is None:
        raise BadVectors(f"{factory!r} is not an IVF index; builds in blocks merge inverted lists")
    index.train(sample)
    directory.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(directory / TRAINED))
    return directory / TRAINED


def fill_block(trained: Path, ids: Ids, xb: Embeddings, out: Path) -> Path:
    """Encode (ids, xb) with the trained parameters into the block file `out`; return it."""
    index = faiss.read_index(str(trained))
    xb = _checked(xb, index.d)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if ids.shape != (len(xb),):
        raise BadVectors(f"{len(xb)} vectors but ids of shape {ids.shape}")
    index.add_with_ids(xb, ids)
    tmp = out.with_name(out.name + ".tmp")
    faiss.write_index(index, str(tmp))
    tmp.replace(out)  # a block file exists only once complete, so a resumed build can skip it
    return out


def merge(trained: Path, blocks: Sequence[Path], directory: Path) -> Path:
    """Merge the blocks' inverted lists into directory/merged.ivfdata; return merged.index, which points to it."""
    index = faiss.read_index(str(trained))
    directory.mkdir(parents=True, exist_ok=True)
    merge_ondisk(index, [str(b) for b in blocks], str(directory / LISTS))
    faiss.write_index(index, str(directory / MERGED))
    return directory / MERGED


def open_merged(path: Path, nprobe: int = 16) -> faiss.Index:
    """The merged index, its inverted lists memory-mapped from the .ivfdata beside it."""
    index = faiss.read_index(str(path), faiss.IO_FLAG_ONDISK_SAME_DIR)
    faiss.extract_index_ivf(index).nprobe = nprobe
    return index


def search(index: faiss.Index, xq: Embeddings, k: int) -> tuple[NDArray[np.float32], Ids]:
    """Return (D, I), each (nq, k); D is the PQ-approximated inner product, I the ids (-1 where none)."""
    return index.search(_checked(xq, index.d), k)
