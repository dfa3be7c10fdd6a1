"""The served library, shared by every route: its folder and its one Searcher."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from indexer.library import existing_library
from search import Searcher


class Library:
    """The served library and its one Searcher (made on first use; it reloads the index when the indexer
    wrote, so a running index shows up in searches)."""

    def __init__(self, path: Path, runtime: str = "auto", device: str = "auto"):
        self.path, self.runtime, self.device = path, runtime, device
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()

    @property
    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                path = existing_library(self.path)
                self._searcher = Searcher(path, runtime=self.runtime, device=self.device, long_lived=True)
            return self._searcher

    def warm(self) -> None:
        """Load the index and the model's text tower before the first request."""
        searcher = self.searcher
        searcher.index  # noqa: B018 - loads and catches up the vector index
        searcher.encoder.tower("text")

    @property
    def name(self) -> str:
        return self.path.name


def served(request: Request) -> Library:
    """The app's library (a dependency of the routes)."""
    return request.app.state.library


Served = Annotated[Library, Depends(served)]  # a route's `library: Served` parameter
