"""Keyword search in the catalog: file names, folders, tar captions and camera text, by substring.

The index is the `file_keywords` table the migration f2d8a6c4b1e9 makes and its triggers keep (SQLite: FTS5
with the trigram tokenizer, ranked by bm25; PostgreSQL: a pg_trgm GIN index, ranked by where the words
matched). Both match each word of the text as a case-insensitive substring of 3 characters or more, and a
file matches when all of its words do. User text never reaches either as syntax: every word is one quoted
FTS5 string (its quotes doubled), or one escaped ILIKE pattern, always a bound parameter.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import and_, case, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from .tables import File

KEYWORD_MIN_CHARS = 3  # a trigram index cannot look up less: shorter words are left out (`keyword_words`)
# How much a word found in each field counts: a name match is the strongest sign, then a caption's words.
WEIGHTS = {"name": 4.0, "path": 1.0, "caption": 2.0, "camera": 1.0}
FIELDS = tuple(WEIGHTS)
KEYWORDS = table("file_keywords", column("rowid"), column("file_id"), column("document"), *map(column, FIELDS))


def keyword_words(text: str) -> tuple[list[str], list[str]]:
    """The words of `text` that are searched, and the ones too short to be (under KEYWORD_MIN_CHARS characters)."""
    words = text.split()
    return [w for w in words if len(w) >= KEYWORD_MIN_CHARS], [w for w in words if len(w) < KEYWORD_MIN_CHARS]


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression that finds every word as a literal string: `a"b OR (` cannot be syntax."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def keyword_hits(s: Session, text: str, limit: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores): int64 image ids with an ok file matching every word of `text`, best first, at most
    `limit` files looked at; scores (float32) are higher for better matches. Empty when no word is searched."""
    words, _ = keyword_words(text)
    if not words:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    query = _postgresql(words) if s.get_bind().dialect.name == "postgresql" else _sqlite(words)
    ok = (File.status == "ok") & File.image_id.is_not(None)
    rows = s.execute(query.where(ok).order_by(literal_column("score").desc(), File.image_id).limit(limit))
    best: dict[int, float] = {}
    for image_id, score in rows.tuples():
        best.setdefault(image_id, float(score))  # an image's best file ranks it
    return np.fromiter(best, np.int64, len(best)), np.fromiter(best.values(), np.float32, len(best))


def _sqlite(words: list[str]):
    # bm25 is lower for better matches (negative): its negation is a score that grows with the match.
    score = -func.bm25(literal_column("file_keywords"), *WEIGHTS.values())
    return (
        select(File.image_id, score.label("score"))
        .join(KEYWORDS, KEYWORDS.c.rowid == File.id)
        .where(literal_column("file_keywords").op("MATCH")(fts5_query(words)))
    )


def _postgresql(words: list[str]):
    found = [KEYWORDS.c.document.icontains(w, autoescape=True) for w in words]
    score = sum(
        case((KEYWORDS.c[name].icontains(w, autoescape=True), weight), else_=0.0)
        for w in words
        for name, weight in WEIGHTS.items()
    )
    return select(File.image_id, score.label("score")).join(KEYWORDS, KEYWORDS.c.file_id == File.id).where(and_(*found))
