"""pixseek's read side: queries against a library, near-duplicates and curation.

It reuses the model layer of `indexer` (the text tower for queries); see shared/DESIGN.md.
"""

from .filters import Filters
from .query import QueryError, Term, parse
from .searcher import Hit, NoModel, Searcher, SearchResult

__all__ = ["Filters", "Hit", "NoModel", "QueryError", "SearchResult", "Searcher", "Term", "parse"]
