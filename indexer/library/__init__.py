"""A library on disk, which the indexer writes and search reads: the catalog (SQLAlchemy tables and
sessions; Alembic migrations), the per-model FAISS vector index with its refine store, kept in step
with the catalog, the on-disk IVF built in blocks, the folder and its writer lock, and status.

tables <- catalog <- folder; roots (list, move, remove; offline) and merge (two libraries into one) on sync;
tables <- keywords (names, folders, captions, cameras; triggers keep its table);
topk <- index_params <- refine_store <- index_files <- vectors <- ondisk; sync (index from catalog) and status on top.
"""

from .catalog import (
    activate_model,
    active_model,
    bytes_to_vectors,
    create_catalog_engine,
    get_or_add_root,
    has_catalog,
    migration_connection,
    open_catalog,
    session,
    use_database,
    vector_to_bytes,
)
from .folder import LibraryBusy, LibraryNotFound, existing_library, library_path, model_key, vectors_dir, writer_lock
from .index_params import IndexParams, choose_params
from .keywords import KEYWORD_MIN_CHARS, keyword_hits, keyword_words
from .merge import CannotMerge, MergeSummary, merge
from .roots import (
    MovedRoot,
    NotAFolder,
    RemovedRoot,
    RootInfo,
    RootTaken,
    UnknownRoot,
    library_roots,
    move_library_root,
    offline,
    ok_files,
    remove_library_root,
)
from .status import library_status
from .sync import fetch_vectors, indexed_ids, open_index
from .tables import (
    ACTION_KINDS,
    RUN_COUNTS,
    Action,
    Base,
    Dismissal,
    Embedding,
    File,
    Image,
    Model,
    ReferenceFolder,
    Root,
    Run,
    utcnow,
)
from .topk import recall_at_k
from .vectors import VectorIndex, set_threads

__all__ = ["ACTION_KINDS", "RUN_COUNTS", "Action", "Base", "Dismissal", "Embedding", "File", "Image", "IndexParams"]
__all__ += ["ReferenceFolder"]
__all__ += ["LibraryBusy", "LibraryNotFound", "Model", "Root", "Run", "VectorIndex", "activate_model", "active_model"]
__all__ += ["bytes_to_vectors", "choose_params", "create_catalog_engine", "existing_library", "fetch_vectors"]
__all__ += ["get_or_add_root", "has_catalog", "indexed_ids", "keyword_hits", "keyword_words", "library_path"]
__all__ += ["KEYWORD_MIN_CHARS", "library_status", "migration_connection"]
__all__ += ["model_key", "open_catalog", "open_index", "recall_at_k", "session", "set_threads", "use_database"]
__all__ += ["utcnow", "vector_to_bytes", "vectors_dir", "writer_lock"]
__all__ += ["MovedRoot", "NotAFolder", "RemovedRoot", "RootInfo", "RootTaken", "UnknownRoot", "library_roots"]
__all__ += ["move_library_root", "offline", "ok_files", "remove_library_root", "CannotMerge", "MergeSummary", "merge"]
