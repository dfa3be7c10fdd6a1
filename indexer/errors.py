"""Typed errors of the model and index layers; the CLI and the UI turn them into one line."""

from __future__ import annotations


class PixseekError(Exception):
    """Base of every error pixseek raises on purpose; str() is the one line a user sees."""


class ModelError(PixseekError):
    """A model directory or name cannot be used."""


class UnknownModel(ModelError):
    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(f"unknown model {name!r}: not a directory; known models: {', '.join(known)}")


class ModelNotDownloaded(ModelError):
    def __init__(self, name: str, path: str):
        self.name, self.path = name, path
        super().__init__(f"model {name!r} is not downloaded (expected at {path}); run: pixseek models download {name}")


class BadModelFile(ModelError):
    """A file of a model directory is missing, unreadable or says something impossible."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


class UnsafeWeights(BadModelFile):
    """A weights pickle asks for something other than arrays and plain containers."""


class RuntimeUnavailable(ModelError):
    def __init__(self, runtime: str, hint: str):
        self.runtime, self.hint = runtime, hint
        super().__init__(f"runtime {runtime!r} is not available: {hint}")


class DeviceUnavailable(ModelError):
    """A GPU was asked for that no installed runtime can use here; the message names why."""


class DownloadError(PixseekError):
    """A model file could not be fetched or did not verify."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}")


class ImageError(PixseekError):
    """An image file cannot be read or decoded; the indexer skips it and records the reason."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


class ImageTooLarge(ImageError):
    """An image's header declares more pixels than the limit; refused before decoding."""

    def __init__(self, path: str, pixels: int, limit: int):
        self.pixels, self.limit = pixels, limit
        super().__init__(path, f"{pixels:,} pixels is over the limit of {limit:,} pixels")


class CatalogError(PixseekError):
    """A library's catalog cannot be opened or upgraded, or holds something this version cannot read."""


class IndexCorrupt(PixseekError):
    """A vector index on disk cannot be trusted (torn save, missing or altered file): rebuild it from the catalog."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}; rebuild the index from the catalog")


class BadVectors(PixseekError):
    """Vectors or ids handed to the index have the wrong shape, dtype, norm or are duplicated."""


class IndexBudgetTooSmall(PixseekError):
    def __init__(self, budget: int, d: int):
        self.budget, self.d = budget, d
        super().__init__(f"a budget of {budget} bytes per vector leaves no room for a PQ code of {d}-d vectors")


class Interrupted(PixseekError):
    """A run stopped by SIGINT (Ctrl-C) or SIGTERM; what it committed stays, the next run resumes."""

    def __init__(self, signum: int):
        self.signum = signum
        name = "Ctrl-C" if signum == 2 else f"signal {signum}"
        super().__init__(f"stopped by {name}; what was indexed is kept and the next run continues from there")


class LibraryWriteFailed(PixseekError):
    """Writing the catalog or the vector index failed (disk full, I/O error): the failed batch left no trace."""

    def __init__(self, library: str, reason: str):
        self.library, self.reason = library, reason
        super().__init__(
            f"{library}: cannot write ({reason}); the library keeps what earlier batches wrote, "
            "and the next run continues from there"
        )
