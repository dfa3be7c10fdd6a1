"""pixseek's read side: queries against a library, near-duplicates and curation.

It reuses the model layer of `indexer` (the text tower for queries); see shared/DESIGN.md.
Near-duplicates: search.dedup (find_groups), search.actions (apply, undo). Curation: search.curate
(Recipe, build_subset) and search.export (export).
"""

from .actions import ActionRecord, apply, undo
from .curate import Recipe, Subset, build_subset, export
from .dedup import DedupSettings, Group, find_groups
from .filters import Filters
from .members import Member
from .query import QueryError, Term, parse
from .searcher import Hit, NoModel, Searcher, SearchResult

__all__ = ["ActionRecord", "DedupSettings", "Filters", "Group", "Hit", "Member", "NoModel", "QueryError", "Recipe"]
__all__ += ["SearchResult", "Searcher", "Subset", "Term", "apply", "build_subset", "export", "find_groups", "parse"]
__all__ += ["undo"]
