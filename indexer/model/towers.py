"""Where an encoder gets each tower's weights when it first needs it: mapped from the weights cache
(indexer.model.cache), or converted from a state already in memory (random weights in tests and
benchmarks). The runtime asks in its own layout and precision; `opened` says which towers were read."""

from __future__ import annotations

from pathlib import Path

from . import cache
from .convert import State


class TowerWeights:
    """One model's weights, tower by tower, in one runtime's layout and precision."""

    def __init__(
        self,
        layout: str,
        dtype: str,
        *,
        model_dir: Path | None = None,
        source: Path | None = None,
        source_sha256: str | None = None,
        state: State | None = None,
    ):
        self.layout, self.dtype = layout, dtype
        self.model_dir, self.source, self.source_sha256, self.state = model_dir, source, source_sha256, state
        self.opened: list[str] = []

    @classmethod
    def cached(cls, model_dir: Path, source: Path, source_sha256: str, layout: str, dtype: str) -> TowerWeights:
        return cls(layout, dtype, model_dir=model_dir, source=source, source_sha256=source_sha256)

    @classmethod
    def in_memory(cls, state: State, layout: str, dtype: str) -> TowerWeights:
        return cls(layout, dtype, state=state)

    def tower(self, name: str) -> cache.Tower:
        """({name: array}, {name: stored dtype}) of the "text" or "vision" tower."""
        self.opened.append(name)
        if self.state is not None:
            return cache.in_memory(self.state, self.layout, self.dtype, name)
        return cache.tower(self.model_dir, self.source, self.source_sha256, self.layout, self.dtype, name)
