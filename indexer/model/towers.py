"""Where an encoder gets each tower's weights when it first needs it: mapped from the weights cache
(indexer.model.cache), or converted from a state already in memory (random weights in tests and
benchmarks). The runtime asks in its own layout and precision; `opened` says which towers were read."""

from __future__ import annotations

from . import cache
from .convert import State


class TowerWeights:
    """One model's weights, tower by tower, in one runtime's layout and precision."""

    def __init__(self, layout: str, dtype: str, *, key: cache.Key | None = None, state: State | None = None):
        self.layout, self.dtype, self.key, self.state = layout, dtype, key, state
        self.source_sha256 = key.source_sha256 if key else None
        self.opened: list[str] = []

    @classmethod
    def cached(cls, key: cache.Key) -> TowerWeights:
        return cls(key.layout, key.dtype, key=key)

    @classmethod
    def in_memory(cls, state: State, layout: str, dtype: str) -> TowerWeights:
        return cls(layout, dtype, state=state)

    def prepare(self) -> None:
        """Make sure both towers can be mapped: the cache entry is built now (the checkpoint read and
        validated once) unless it is there and trusted, so a bad model fails when it is loaded."""
        if self.key is not None:
            cache.ensure(self.key)

    def tower(self, name: str) -> cache.Tower:
        """({name: array}, {name: stored dtype}) of the "text" or "vision" tower."""
        self.opened.append(name)
        if self.state is not None:
            return cache.in_memory(self.state, self.layout, self.dtype, name)
        return cache.tower(self.key, name)
