"""`Searcher`: query vectors from text, image files and indexed images, searched in a library's index; keywords
(names, folders, captions, cameras) searched in its catalog, alone or fused with the vector search."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from indexer import PixseekError
from indexer.library import (
    KEYWORD_MIN_CHARS,
    Embedding,
    File,
    Image,
    Root,
    active_model,
    existing_library,
    fetch_vectors,
    keyword_hits,
    keyword_words,
    model_key,
    open_catalog,
    open_index,
    session,
    vectors_dir,
)
from indexer.model import load_model, query_runtime
from indexer.sources import decode_file

from .batching import TextBatcher
from .filters import Filters, allowed_ids, display_path
from .fusion import fuse
from .query import QueryError, Term, parse
from .relevance import relevant_count

SORTS = ("score", "date", "path", "size")
CANDIDATES = 4000  # scores looked at to decide how many results are relevant
KEYWORD_CANDIDATES = 10_000  # best keyword-matching files looked at (before filters)


class NoModel(PixseekError):
    def __init__(self, library: Path):
        super().__init__(f"{library}: nothing is indexed yet; run `pixseek index FOLDER` first")


class ModelChanged(PixseekError):
    def __init__(self, source: str):
        super().__init__(f"the model at {source} is not the one this library was indexed with; index again with it")


@dataclass(frozen=True)
class Hit:
    image_id: int
    path: str
    score: float  # cosine similarity to the query vector; see `matched` for the others
    width: int
    height: int
    format: str
    size: int  # bytes
    taken_at: datetime | None
    camera: str | None
    caption: str | None = None  # a tar shard member's sample caption (.txt)
    # Which search found it: "semantic" (score: cosine), "keywords" alone (score: keyword score, higher is
    # better), or with both searched, "semantic", "keywords" or "both" (score: reciprocal rank fusion).
    matched: str = "semantic"

    def as_dict(self) -> dict:
        out = dict(vars(self))
        out["taken_at"] = self.taken_at.isoformat() if self.taken_at else None
        return out


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int | None = None  # relevant results in all (with relevant=True), before paging
    warnings: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=2)
def cached_encoder(source: str, runtime: str, device: str, dtype: str = "auto", long_lived: bool = False):
    """One loaded model per (model, runtime, device, dtype) per process; 'auto' picks the fastest for queries
    (`long_lived`: for a process that serves many, indexer.model.query_runtime)."""
    runtime, dtype = query_runtime(runtime, device, dtype, long_lived)
    return load_model(source, runtime=runtime, device=device, dtype=dtype)


class Searcher:
    """Searches one library with its active model; reloads the index when the indexer wrote a newer one."""

    def __init__(
        self,
        library: str | Path | None = None,
        *,
        runtime: str = "auto",
        device: str = "auto",
        dtype: str = "auto",
        long_lived: bool = False,
    ):
        """`long_lived`: this searcher serves many queries (a server), which changes the best runtime."""
        self.library = existing_library(library)
        self.db = open_catalog(self.library)
        self.runtime, self.device, self.dtype, self.long_lived = runtime, device, dtype, long_lived
        with session(self.db) as s:
            model = active_model(s)
            if model is None:
                raise NoModel(self.library)
            self.model_id, self.dim, self.weights_sha256 = model.id, model.dim, model.weights_sha256
            self.source = model.source or model.name
            self.key = model_key(model.name, model.weights_sha256)
            self.precision = model.precision  # of the library's vectors; None before pixseek recorded it
        if dtype == "auto" and self.precision:  # queries in the precision the images were embedded in
            self.dtype = self.precision
        self._index, self._stamp = None, None
        self._batcher: TextBatcher | None = None
        self._batcher_lock = threading.Lock()

    @property
    def encoder(self):
        encoder = cached_encoder(self.source, self.runtime, self.device, self.dtype, self.long_lived)
        if encoder.weights_sha256 != self.weights_sha256:
            raise ModelChanged(self.source)
        return encoder

    def _current_stamp(self) -> tuple:
        manifest = vectors_dir(self.library, self.key) / "manifest.json"
        with session(self.db) as s:
            files = s.scalar(select(func.count(File.id)).where(File.status == "ok"))
            vectors = s.scalar(select(func.count()).select_from(Embedding).where(Embedding.model_id == self.model_id))
        return (manifest.stat().st_mtime_ns if manifest.exists() else None, files, vectors)

    @property
    def index(self):
        stamp = self._current_stamp()
        if self._index is None or stamp != self._stamp:
            self._index = open_index(self.db, self.library, self.key, self.model_id, self.dim, save=False)
            self._stamp = stamp
        return self._index

    def _stored_vectors(self, ids: list[int]) -> np.ndarray:
        try:
            return fetch_vectors(self.db, self.model_id, self.dim)(np.asarray(ids, np.int64))
        except KeyError as exc:
            raise QueryError(f"id:{exc.args[0]}", "no indexed image has this id") from None

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        """The texts' vectors; a long-lived searcher encodes concurrent queries together (search.batching)."""
        if not self.long_lived:
            return self.encoder.encode_texts(texts)
        with self._batcher_lock:
            if self._batcher is None:
                self._batcher = TextBatcher(self.encoder.encode_texts)
        return self._batcher(texts)

    def query_vector(self, terms: Sequence[Term]) -> tuple[np.ndarray, list[str]]:
        """(dim,) unit query vector: the weighted sum of the terms' vectors; and warnings."""
        notes, parts = [], []
        texts = [t for t in terms if t.kind == "text"]
        if texts:
            context = self.encoder.config.text.context
            notes += [
                f"query term {t.value[:40]!r} is longer than the model's {context} tokens; it was cut"
                for t in texts
                if self.encoder.tokenizer.truncated(t.value, context)
            ]
            parts += list(zip(texts, self._encode_texts([t.value for t in texts]), strict=True))
        ids = [t for t in terms if t.kind == "id"]
        if ids:
            parts += list(zip(ids, self._stored_vectors([int(t.value) for t in ids]), strict=True))
        files = [t for t in terms if t.kind == "image"]
        for term in files:
            # an image file, or a member of an indexed tar shard (`<tar>::<member>`)
            crop = decode_file(term.value, self.encoder.config.vision.image_size).crop
            parts.append((term, self.encoder.encode_pixels(crop[None])[0]))
        vector = np.sum([t.weight * v for t, v in parts], axis=0)
        norm = float(np.linalg.norm(vector))
        if norm < 1e-6:
            raise QueryError("", "the terms cancel out; nothing is left to search for")
        return (vector / norm).astype(np.float32), notes

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
        """Hits for a query (see search.query for the language); relevant=True keeps only what stands out.

        `keywords`: words found in file names, folders, tar captions and camera text (indexer.library.keywords).
        Alone they need no model: every match is relevant, ranked by keyword score. With a query, the query's
        ranking and theirs are fused into one (search.fusion). `sort` other than "score" orders every relevant
        result (the relevance cutoff chooses them) before paging, so page 2 of a date-sorted search goes on
        where page 1 stopped; `reverse` flips the order."""
        _check(k, offset, sort)
        keywords = (keywords or "").strip() or None
        if keywords and not images and not (query if isinstance(query, str) else list(query)):
            return self.search_keywords(keywords, k, offset=offset, filters=filters, sort=sort, reverse=reverse)
        terms = parse(query, images)
        xq, notes = self.query_vector(terms)
        encoded = any(t.kind != "id" for t in terms)
        if encoded and self.precision and self.encoder.dtype != self.precision:
            notes.append(
                f"the query was encoded with {self.encoder.dtype} weights, the library's images with "
                f"{self.precision} ones; scores can differ slightly (leave out --dtype to match)"
            )
        result = self.search_vector(xq, k, keywords=keywords, offset=offset, filters=filters, relevant=relevant,
                                    strictness=strictness, sort=sort, reverse=reverse)  # fmt: skip
        result.warnings[:0] = notes
        return result

    def search_keywords(
        self,
        keywords: str,
        k: int = 20,
        *,
        offset: int = 0,
        filters: Filters | None = None,
        sort: str = "score",
        reverse: bool = False,
    ) -> SearchResult:
        """Hits for keywords alone, best keyword score first; all are relevant (`total` counts them)."""
        _check(k, offset, sort)
        ids, scores, notes = self._keyword_ranking(keywords, self._allowed(filters))
        total = len(ids)
        if sort == "score":
            ids, scores = ids[: offset + k], scores[: offset + k]
        hits = _sorted(self._hits(ids, scores, dict.fromkeys(ids.tolist(), "keywords")), sort, reverse)
        return SearchResult(hits=hits[offset : offset + k], total=total, warnings=notes)

    def search_vector(
        self,
        xq: np.ndarray,
        k: int = 20,
        *,
        keywords: str | None = None,
        offset: int = 0,
        filters: Filters | None = None,
        relevant: bool = False,
        strictness: float = 0.5,
        sort: str = "score",
        reverse: bool = False,
    ) -> SearchResult:
        """Hits for a (dim,) query vector (normalised here), as `search` gives them for a query."""
        _check(k, offset, sort)
        xq = self._unit(xq)
        allowed = self._allowed(filters)
        relevant = relevant or sort != "score"  # a date (path, size) order is over the results that count
        ids, scores = self._nearest(xq, CANDIDATES if relevant or keywords else k + offset, allowed)
        total = relevant_count(scores, strictness) if relevant and len(scores) else 0 if relevant else None
        if relevant:
            ids, scores = ids[:total], scores[:total]
        matched, notes = None, []
        if keywords:  # the keyword matches are all relevant: what the cutoff kept, fused with them
            found, _, notes = self._keyword_ranking(keywords, allowed)
            matched = _matched(ids, found)
            ids, scores = fuse([ids, found])
            total = len(ids) if relevant else None
        if sort == "score":
            ids, scores = ids[: offset + k], scores[: offset + k]
        hits = _sorted(self._hits(ids, scores, matched), sort, reverse)[offset : offset + k]
        return SearchResult(hits=hits, total=total, warnings=notes)

    def _unit(self, xq: np.ndarray) -> np.ndarray:
        xq = np.asarray(xq, np.float32).reshape(-1)
        norm = float(np.linalg.norm(xq)) if xq.shape == (self.dim,) and np.isfinite(xq).all() else 0.0
        if norm < 1e-6:
            raise QueryError("", f"a query vector must be {self.dim} finite numbers, not all zero")
        return xq / norm

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        with session(self.db) as s:
            return allowed_ids(s, filters)

    def _nearest(self, xq: np.ndarray, want: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the `want` images nearest to the unit (dim,) query, best first."""
        index = self.index
        if index.ntotal == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        D, ids = index.search(xq[None], max(1, min(want, index.ntotal)), allowed=allowed)
        keep = ids[0] >= 0
        return ids[0][keep], D[0][keep]

    def _keyword_ranking(self, keywords: str, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list]:
        """(ids, scores) of the images the keywords find, best first, within `allowed`; and warnings."""
        _, short = keyword_words(keywords)
        notes = [f"keyword {w!r} is shorter than {KEYWORD_MIN_CHARS} characters; it was left out" for w in short]
        with session(self.db) as s:
            ids, scores = keyword_hits(s, keywords, KEYWORD_CANDIDATES)
        if allowed is not None:
            keep = np.isin(ids, allowed)
            ids, scores = ids[keep], scores[keep]
        return ids, scores, notes

    def _hits(self, ids: np.ndarray, scores: np.ndarray, matched: dict[int, str] | None = None) -> list[Hit]:
        if not len(ids):
            return []
        with session(self.db) as s:
            rows = (
                s.execute(
                    select(Image, Root.path, File.relpath, File.size, File.caption)
                    .join(File, File.image_id == Image.id)
                    .join(Root, Root.id == File.root_id)
                    .where(Image.id.in_([int(i) for i in ids]), File.status == "ok")
                    .order_by(Root.path, File.relpath)
                )
                .tuples()
                .all()
            )
        first = {}
        for image, root, relpath, size, caption in rows:
            first.setdefault(image.id, (image, display_path(root, relpath), size, caption))
        how = matched or {}
        return [
            _hit(first[int(i)], float(sc), how.get(int(i), "semantic"))
            for i, sc in zip(ids, scores, strict=True)
            if int(i) in first
        ]


def _check(k: int, offset: int, sort: str) -> None:
    if sort not in SORTS:
        raise QueryError(sort, f"sort by one of {', '.join(SORTS)}")
    if k < 1 or offset < 0:
        raise QueryError("", "k must be at least 1 and offset at least 0")


def _matched(semantic: np.ndarray, keywords: np.ndarray) -> dict[int, str]:
    """Which of the two rankings holds each id: "semantic", "keywords" or "both"."""
    both = set(semantic.tolist()) & set(keywords.tolist())
    out = dict.fromkeys(semantic.tolist(), "semantic") | dict.fromkeys(keywords.tolist(), "keywords")
    return out | dict.fromkeys(both, "both")


def _hit(found: tuple, score: float, matched: str = "semantic") -> Hit:
    image, path, size, caption = found
    camera = " ".join(x for x in (image.camera_make, image.camera_model) if x) or None
    return Hit(
        image_id=image.id,
        path=path,
        score=score,
        width=image.width,
        height=image.height,
        format=image.format,
        size=size,
        taken_at=image.taken_at,
        camera=camera,
        caption=caption,
        matched=matched,
    )


def _sorted(hits: list[Hit], sort: str, reverse: bool = False) -> list[Hit]:
    """Best score, newest, path A-Z, largest first (reversed: the other way); undated hits last either way."""
    sign = -1 if reverse else 1
    if sort == "date":
        dated = sorted((h for h in hits if h.taken_at), key=lambda h: -sign * h.taken_at.timestamp())
        return dated + [h for h in hits if not h.taken_at]
    if sort == "path":
        return sorted(hits, key=lambda h: h.path, reverse=reverse)
    if sort == "size":
        return sorted(hits, key=lambda h: -sign * h.size)
    return hits[::-1] if reverse else hits
