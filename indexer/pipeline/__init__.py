"""The index run that ties sources, model and library together: plan what changed, read and decode,
encode in batches, write each batch in one transaction, bring the vector index up to date.

run (settings, summary, IndexRun) <- plan, writer, batch_size, interrupt <- engines: local (host path),
gpu_feed (one GPU), gpu_workers (one process per GPU), ray_engine (Ray Data) <- indexing (index()) <- watch
(index, then follow the folders' changes).
"""

from .gpu_workers import GpuSpecError, resolve_gpus, visible_gpus
from .indexing import FIRST_MODEL, ModelMismatch, RootNotFound, index
from .run import IndexSettings, IndexSummary, Progress
from .watch import CannotWatch, WatchRound, WatchSettings, WatchSummary, watch

__all__ = ["GpuSpecError", "IndexSettings", "IndexSummary", "Progress", "RootNotFound", "index", "resolve_gpus"]
__all__ += [
    "FIRST_MODEL",
    "ModelMismatch",
    "visible_gpus",
    "CannotWatch",
    "WatchRound",
    "WatchSettings",
    "WatchSummary",
]
__all__ += ["watch"]
