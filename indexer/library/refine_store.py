"""The exact vectors behind a library's vector index: a bfloat16 copy of every vector, memory-mapped.

(rows, d) bfloat16 vectors in `refine-<gen>.bf16` and their (rows,) int64 image ids in
`refine_ids-<gen>.i64`; rows added since the last save stay in memory. indexer.library.vectors re-ranks PQ
candidates on them, trains on them and answers filtered and range searches from them (its docstring
says why a memory map, and why bfloat16).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.errors import IndexCorrupt
from indexer.model import Embeddings

Ids = NDArray[np.int64]  # (n,) catalog image ids, >= 0
Rows = NDArray[np.int64]  # (n,) store row numbers: the ids FAISS holds
ID_BYTES = 8
CHUNK = 65_536


def to_bfloat16(x: Embeddings) -> NDArray[np.uint16]:
    """float32 -> bfloat16 bit patterns (as uint16), rounded to nearest even."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def from_bfloat16(b: NDArray[np.uint16]) -> Embeddings:
    """bfloat16 bit patterns -> float32, exactly."""
    bits = np.asarray(b).astype(np.uint32)
    bits <<= 16  # in place: one temporary, not two
    return bits.view(np.float32)


class RefineStore:
    """(rows, d) bfloat16 vectors and their (rows,) int64 image ids: the saved rows memory-mapped from two
    files, rows added since in memory. Only `write` (called by save) touches the files."""

    def __init__(self, directory: Path, d: int, generation: int, saved: int = 0):
        self.directory, self.d, self.generation, self.saved = directory, d, generation, saved
        self._vectors, self._ids = np.zeros((0, d), np.uint16), np.zeros(0, np.int64)
        self._new_vectors, self._new_ids, self.rows = np.zeros((0, d), np.uint16), np.zeros(0, np.int64), saved
        self._all_ids: Ids | None = None
        if saved:
            self._vectors = np.memmap(self.vector_path, np.uint16, "r", shape=(saved, d))
            self._ids = np.memmap(self.ids_path, np.int64, "r", shape=(saved,))

    @classmethod
    def open(cls, directory: Path, d: int, generation: int, rows: int) -> RefineStore:
        """The saved store; rows past `rows` (left by an interrupted save) are ignored."""
        store = cls(directory, d, generation)
        for path, width in ((store.vector_path, 2 * d), (store.ids_path, ID_BYTES)):
            size = path.stat().st_size if path.exists() else 0
            if size < rows * width:
                raise IndexCorrupt(str(path), f"holds {size // width} rows, the manifest says {rows}")
        return cls(directory, d, generation, rows)

    @property
    def vector_path(self) -> Path:
        return self.directory / f"refine-{self.generation}.bf16"

    @property
    def ids_path(self) -> Path:
        return self.directory / f"refine_ids-{self.generation}.i64"

    def append(self, ids: Ids, xb: Embeddings) -> Rows:
        """Keep vectors in memory until the next write; returns their rows."""
        n, used = len(ids), self.rows - self.saved
        if used + n > len(self._new_ids):  # grow by doubling: appends stay amortised O(n)
            size = max(2 * len(self._new_ids), used + n)
            self._new_vectors = np.resize(self._new_vectors, (size, self.d))
            self._new_ids = np.resize(self._new_ids, size)
        self._new_vectors[used : used + n], self._new_ids[used : used + n] = to_bfloat16(xb), ids
        self.rows += n
        return np.arange(self.rows - n, self.rows, dtype=np.int64)

    def read(self, rows: Rows) -> Embeddings:
        """(n, d) float32 vectors of the given rows."""
        if self.rows == self.saved:
            return from_bfloat16(self._vectors[rows])
        saved = rows < self.saved
        out = np.empty((len(rows), self.d), np.uint16)
        out[saved], out[~saved] = self._vectors[rows[saved]], self._new_vectors[rows[~saved] - self.saved]
        return from_bfloat16(out)

    def ids_at(self, rows: Rows) -> Ids:
        """Image ids of rows (any shape)."""
        return self.all_ids()[rows] if self.rows > self.saved else np.asarray(self._ids[rows], np.int64)

    def all_ids(self) -> Ids:
        if self._all_ids is None or len(self._all_ids) != self.rows:
            self._all_ids = np.concatenate([self._ids, self._new_ids[: self.rows - self.saved]])
        return self._all_ids

    def chunks(self, rows: Rows) -> Iterator[tuple[Rows, Embeddings]]:
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK]
            yield part, self.read(part)

    def write(self, live: NDArray[np.bool_]) -> tuple[RefineStore, Rows | None]:
        """Persist (fsynced): new rows appended past the saved ones, or, when rows died, only the live
        ones into a new generation; returns the saved store and old row -> new row (None: unchanged)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if live.all():
            self._write(self, self.saved, np.arange(self.saved, self.rows))
            return RefineStore(self.directory, self.d, self.generation, self.rows), None
        new, kept = RefineStore(self.directory, self.d, self.generation + 1), np.flatnonzero(live)
        self._write(new, 0, kept)
        remap = np.full(self.rows + 1, -1, np.int64)  # the extra slot maps FAISS's -1 to -1
        remap[kept] = np.arange(len(kept))
        return RefineStore(self.directory, self.d, new.generation, len(kept)), remap

    def _write(self, target: RefineStore, start: int, rows: Rows) -> None:
        """Write these rows into target's files from row `start` on, cutting anything past it."""
        for path, width, column in ((target.vector_path, 2 * self.d, "v"), (target.ids_path, ID_BYTES, "i")):
            with open(path, "r+b" if path.exists() else "wb") as f:
                f.truncate(start * width)
                f.seek(start * width)
                for part in range(0, len(rows), CHUNK):
                    sel = rows[part : part + CHUNK]
                    f.write((to_bfloat16(self.read(sel)) if column == "v" else self.ids_at(sel)).tobytes())
                f.flush()
                os.fsync(f.fileno())

    def remove_other_generations(self) -> None:
        keep = {self.vector_path.name, self.ids_path.name}
        for path in [*self.directory.glob("refine-*.bf16"), *self.directory.glob("refine_ids-*.i64")]:
            if path.name not in keep:
                path.unlink(missing_ok=True)
