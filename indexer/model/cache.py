"""The converted weights cache: each model's weights split per tower, in the layout and precision a
runtime uses, as safetensors files that are memory-mapped instead of read.

The release's `model_state.pdparams` (a 5.5 GB fp32 pickle for ViT-g/14) stays the source of truth: it
is read once, by the safe unpickler, to build an entry, and never again while the entry is good.

    <cache>/models/<source sha256[:32]>-<config digest>-<layout>-<dtype>/
        text.safetensors      the text tower (token and position embeddings, blocks, final norm, projection)
        vision.safetensors    the vision tower
        manifest.json         source path, size and sha256; per file its size, sha256 and the stat it had

An entry is keyed by the source file's sha256 and the config (a changed source makes a new entry) and checked on
every open: a file whose size differs from the manifest's is refused at once; one whose stat changed
since it was written or last checked is hashed again. A file that fails either check is never used:
the entry is rebuilt. Builders take a lock, write into a temporary folder and rename it into place.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import platformdirs

from indexer.errors import BadModelFile

from . import tensorfile
from .checkpoint import read_checkpoint
from .config import ModelConfig
from .convert import State, open_clip_layout

FORMAT = 1
TOWERS = ("text", "vision")
LAYOUTS = ("open_clip", "paddle")  # open_clip: the numpy and torch runtimes; paddle: the canonical state
MANIFEST = "manifest.json"

Tower = tuple[dict[str, np.ndarray], dict[str, str]]  # ({name: array}, {name: stored dtype: F32, F16, BF16})


def cache_root() -> Path:
    """$PIXSEEK_CACHE_DIR, else the user cache directory."""
    env = os.environ.get("PIXSEEK_CACHE_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("pixseek"))


@dataclass(frozen=True)
class Key:
    """One entry: a model's weights (by the source file's sha256) under one config, layout and precision."""

    model_dir: Path
    source: Path  # the weights file the entry is converted from
    source_sha256: str
    config: ModelConfig  # the conversion is validated against it: another config is another entry
    layout: str
    dtype: str

    @property
    def path(self) -> Path:
        digest = hashlib.sha256(json.dumps(asdict(self.config), sort_keys=True).encode()).hexdigest()[:8]
        return cache_root() / "models" / f"{self.source_sha256[:32]}-{digest}-{self.layout}-{self.dtype}"


def tower_of(name: str) -> str | None:
    """Which tower a parameter belongs to, in either layout (logit_scale belongs to none)."""
    if name.startswith(("visual.", "vision_model.", "vision_projection")):
        return "vision"
    return None if name == "logit_scale" else "text"


def layout_of(state: State, layout: str) -> dict[str, Callable[[], np.ndarray]]:
    """name -> tensor maker for the runtime's layout (open_clip's, or the canonical PaddleNLP one)."""
    if layout == "open_clip":
        return open_clip_layout(state)
    return {k: (lambda v=v: v) for k, v in state.items()}


def _stamp(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(entry: Path) -> dict | None:
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def trusted(entry: Path, tower: str) -> bool:
    """Whether the tower's file is the one the manifest describes: same size always, same sha256 whenever
    its stat changed since it was last checked (then the new stat is recorded)."""
    manifest = _read_manifest(entry)
    record = (manifest or {}).get("files", {}).get(tower)
    path = entry / f"{tower}.safetensors"
    if record is None or not path.is_file() or path.stat().st_size != record["bytes"]:
        return False
    if _stamp(path) == record["stamp"]:
        return True
    if _sha256(path) != record["sha256"]:
        return False
    record["stamp"] = _stamp(path)
    _write_json(entry / MANIFEST, manifest)
    return True


def _write_tower(path: Path, makers: dict[str, Callable[[], np.ndarray]], dtype: str) -> dict:
    # Shapes first (the header precedes the data), from views that cost no memory; then one tensor at a time.
    shapes = {name: make().shape for name, make in makers.items()}
    size = tensorfile.write(path, ((n, make()) for n, make in makers.items()), tensorfile.NAMES[dtype], shapes)
    return {"bytes": size, "sha256": _sha256(path), "stamp": _stamp(path)}


def build(key: Key) -> Path:
    """Read the checkpoint once and write both towers of one entry; returns the entry folder."""
    entry = key.path
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        config, state = read_checkpoint(key.model_dir)
        if config != key.config:
            raise BadModelFile(str(key.model_dir), "the model's files changed while it was being loaded")
        makers = layout_of(state, key.layout)
        files = {}
        for tower in TOWERS:
            part = {n: m for n, m in makers.items() if tower_of(n) == tower}
            files[tower] = _write_tower(tmp / f"{tower}.safetensors", part, key.dtype)
        del state, makers
        manifest = {"format": FORMAT, "source": str(key.source), "source_sha256": key.source_sha256}
        manifest |= {"source_bytes": key.source.stat().st_size, "layout": key.layout, "dtype": key.dtype}
        manifest["files"] = files
        manifest["built"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_json(tmp / MANIFEST, manifest)
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return entry


@contextmanager
def _locked(entry: Path) -> Iterator[None]:
    """One builder per entry at a time, across processes (others wait, then find it built)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.with_name(entry.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure(key: Key, towers: tuple[str, ...] = TOWERS) -> Path:
    """The entry folder, built first (reading and validating the checkpoint) unless the towers' files are
    trusted."""
    entry = key.path
    if not all(trusted(entry, t) for t in towers):
        with _locked(entry):
            if not all(trusted(entry, t) for t in towers):
                build(key)
    return entry


def tower(key: Key, name: str) -> Tower:
    """One tower of a model, memory-mapped from its cache entry; the entry is (re)built when it is missing
    or its file cannot be trusted."""
    entry = ensure(key, (name,))
    try:
        return tensorfile.read(entry / f"{name}.safetensors")
    except BadModelFile:  # replaced under us between the check and the map: build it once more
        with _locked(entry):
            build(key)
        return tensorfile.read(entry / f"{name}.safetensors")


def in_memory(state: State, layout: str, dtype: str, name: str) -> Tower:
    """One tower of an in-memory state (random weights in tests and benchmarks), converted, not cached."""
    stored = tensorfile.NAMES[dtype]
    makers = {n: m for n, m in layout_of(state, layout).items() if tower_of(n) == name}
    arrays = {n: tensorfile.stored(m(), stored) for n, m in makers.items()}
    return arrays, dict.fromkeys(arrays, stored)


def entries() -> list[dict]:
    """Every cache entry with its manifest's facts and its size on disk (for `pixseek models cache`)."""
    out = []
    for entry in sorted((cache_root() / "models").glob("*-*-*")):
        manifest = _read_manifest(entry) if entry.is_dir() and not entry.name.startswith(".") else None
        if manifest is not None:
            size = sum(f.stat().st_size for f in entry.iterdir() if f.is_file())
            keep = ("source", "source_sha256", "layout", "dtype", "built")
            out.append({"path": str(entry), "bytes": size, **{k: manifest.get(k) for k in keep}})
    return out


def remove(entry: str | Path) -> None:
    """Delete one entry (a folder `entries()` listed); the next load rebuilds it."""
    path = Path(entry)
    if path.parent != cache_root() / "models" or _read_manifest(path) is None:
        raise BadModelFile(str(path), "not a pixseek weights cache entry")
    shutil.rmtree(path)
    path.with_name(path.name + ".lock").unlink(missing_ok=True)
