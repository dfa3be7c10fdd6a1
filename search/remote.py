"""A running `pixseek serve` as a Searcher: the same query, options and results, over HTTP (`pixseek search
--server URL`), so a repeated CLI query costs a round trip instead of a model load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import httpx

from indexer import PixseekError

from .filters import Filters
from .searcher import Hit, SearchResult


class ServerError(PixseekError):
    """The server could not be reached, or refused the request (its one-line reason is kept)."""


def _hit(data: dict) -> Hit:
    taken = data.get("taken_at")
    return Hit(**{**data, "taken_at": datetime.fromisoformat(taken) if taken else None})


class RemoteSearcher:
    """Searches the library a pixseek server serves (`token`: its bearer token, if it has one)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def _post(self, path: str, **request) -> dict:
        try:
            response = self._client.post(path, **request)
        except httpx.HTTPError as exc:
            raise ServerError(f"{self.url}: cannot reach the pixseek server ({exc})") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text[:200]
            raise ServerError(f"{self.url}: {detail}")
        return response.json()

    def search(
        self,
        query: str | Sequence[str] = (),
        k: int = 20,
        *,
        images: Sequence[str | Path] = (),
        keywords: str | None = None,
        offset: int = 0,
        filters: Filters | None = None,
        relevant: bool = False,
        strictness: float = 0.5,
        sort: str = "score",
        reverse: bool = False,
    ) -> SearchResult:
        """As Searcher.search; an image file is uploaded (one at most: the server decodes what it gets)."""
        terms = [query] if isinstance(query, str) else list(query)
        fields = {k: v for k, v in asdict(filters or Filters()).items() if v not in (None, ())}
        fields = {**fields, "formats": list(fields.pop("formats", ()))}
        fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
        options = {"k": k, "offset": offset, "relevant": relevant, "strictness": strictness, "sort": sort}
        asked = {"keywords": keywords} if keywords else {}
        options = {**options, "reverse": reverse, **asked}
        if len(images) > 1:
            raise ServerError("a search on a server takes one --image (it is uploaded)")
        if images:
            path = Path(images[0]).expanduser()
            try:
                upload = {"file": (path.name, path.read_bytes())}
            except OSError as exc:
                raise ServerError(f"{path}: cannot read ({exc.strerror or exc})") from None
            data = self._post(
                "/api/search/upload", files=upload, data={"q": terms, "k": k, "relevant": relevant, **asked}
            )
        else:
            data = self._post("/api/search", json={"q": terms, **options, **fields})
        return SearchResult([_hit(h) for h in data["hits"]], data.get("total"), data.get("warnings", []))
