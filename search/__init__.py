"""pixseek's read side: everything that reads a library. Queries (the query language, text/image/id
terms, filters, a relevance cutoff per query) through `Searcher`; near-duplicate groups (dedup, keep-best,
actions with undo); curation (recipes, subsets, diversity) and export; facets and map points for the UI;
and the evaluation of search quality. It reads libraries through `indexer`'s fronts only.

query, filters, relevance, fusion <- searcher; likeness, pairs <- near_identical; near_identical, grouping, keep,
members, dismissals, references <- dedup <- actions;
recipe <- export <- curate (with diversity); facets, points, evaluation on top of searcher; remote (a
running `pixseek serve` searched the same way).
"""

from .actions import ActionRecord, DeleteNotConfirmed, apply, undo
from .curate import build_subset
from .dedup import TIERS, BadDedupSettings, DedupSettings, Group, find_groups
from .dismissals import NothingToDismiss, UnknownTarget, dismiss, target_members, undismiss, undo_dismissal
from .diversity import METHODS
from .evaluation import evaluate, precision_recall, synthetic_library
from .export import FORMATS, UnknownFormat, export
from .facets import Facets, facets
from .filters import Filters
from .keep import DEFAULT_ORDER, UnknownKeepRule
from .members import Member
from .points import first_paths, library_points, points_version
from .query import QueryError, Term, parse
from .recipe import BadRecipe, Item, Recipe, RecipeModelMismatch, Subset
from .references import NotAFolder, forget_references, reference_folders, references_of, remember_references
from .remote import RemoteSearcher, ServerError
from .safe_paths import UnsafePath
from .searcher import SORTS, Hit, NoModel, Searcher, SearchResult

__all__ = ["DEFAULT_ORDER", "FORMATS", "METHODS", "SORTS", "TIERS", "ActionRecord", "BadDedupSettings", "BadRecipe"]
__all__ += ["DedupSettings", "DeleteNotConfirmed", "Facets", "Filters", "Group", "Hit", "Item", "Member", "NoModel"]
__all__ += ["QueryError", "Recipe", "RecipeModelMismatch", "SearchResult", "Searcher", "Subset", "Term"]
__all__ += ["UnknownFormat", "UnknownKeepRule", "UnsafePath", "apply", "build_subset", "evaluate", "export"]
__all__ += ["facets", "find_groups", "first_paths", "library_points", "parse", "points_version", "precision_recall"]
__all__ += ["synthetic_library", "undo", "RemoteSearcher", "ServerError"]
__all__ += ["NotAFolder", "NothingToDismiss", "UnknownTarget", "dismiss", "forget_references", "reference_folders"]
__all__ += ["references_of", "remember_references", "target_members", "undismiss", "undo_dismissal"]
