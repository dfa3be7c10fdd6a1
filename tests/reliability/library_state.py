"""What a library on disk holds, read the way a user's next command would: catalog rows and the saved index."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from indexer.library.catalog import active_model, open_catalog, session
from indexer.library.folder import model_key, vectors_dir
from indexer.library.sync import indexed_ids
from indexer.library.tables import Embedding, File, Image, Run
from indexer.library.vectors import VectorIndex
from indexer.model.load import model_ref
from indexer.sources import synthetic

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FileRow:
    status: str
    error: str | None
    content_hash: str | None
    size: int
    width: int | None
    height: int | None
    image_id: int | None


def file_rows(library: Path) -> dict[str, FileRow]:
    """relpath -> its catalog row (one root per library in these tests)."""
    with session(open_catalog(library)) as s:
        rows = s.execute(
            select(File.relpath, File.status, File.error, File.content_hash, File.size, Image.width, Image.height)
            .add_columns(File.image_id)
            .outerjoin(Image, Image.id == File.image_id)
        ).tuples()
        return {r[0]: FileRow(*r[1:]) for r in rows}


@dataclass(frozen=True)
class Agreement:
    index_ids: list[int]  # ids in the saved vector index (with repeats, if any)
    wanted: set[int]  # ids the catalog says belong in it
    embeddings: int  # embedding rows
    distinct_images: int  # images with an embedding
    file_rows: int
    distinct_paths: int
    run_statuses: list[str]


def agreement(library: Path, model: Path) -> Agreement:
    """The saved index against the catalog, each read fresh from disk."""
    ref = model_ref(str(model))
    engine = open_catalog(library)
    index = VectorIndex.open(vectors_dir(library, model_key(ref.name, ref.weights_sha256)), ref.config.embed_dim)
    with session(engine) as s:
        model_id = active_model(s).id
        paths = select(File.root_id, File.relpath).distinct().subquery()
        return Agreement(
            index_ids=index.ids().tolist(),
            wanted=set(indexed_ids(engine, model_id).tolist()),
            embeddings=s.scalar(select(func.count()).select_from(Embedding)),
            distinct_images=s.scalar(select(func.count(func.distinct(Embedding.image_id)))),
            file_rows=s.scalar(select(func.count(File.id))),
            distinct_paths=s.scalar(select(func.count()).select_from(paths)),
            run_statuses=run_statuses(library),
        )


def run_statuses(library: Path) -> list[str]:
    """The status of every index run, oldest first."""
    with session(open_catalog(library)) as s:
        return list(s.scalars(select(Run.status).order_by(Run.id)))


def duplicated(a: Agreement) -> int:
    """Everything stored twice: index entries, embeddings of one image, rows of one path."""
    repeats = len(a.index_ids) - len(set(a.index_ids))
    return repeats + (a.embeddings - a.distinct_images) + (a.file_rows - a.distinct_paths)


def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every regular file under folder (not following links)."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def pixseek(*args: str) -> list[str]:
    """The argv that runs the real `pixseek` command of this checkout in a fresh interpreter."""
    return [sys.executable, "-m", "ui.cli", *args]


def run_pixseek(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(pixseek(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def popen_pixseek(*args: str, **options) -> subprocess.Popen:
    """A `pixseek` process in its own process group (so a test can signal it and its workers)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(pixseek(*args), cwd=ROOT, env=env, start_new_session=True, **options)


def add_images(folder: Path, start: int, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        synthetic.write(synthetic.sample(i, 5), folder, i)


def index_args(folder: Path, library: Path, model: Path, *extra: str) -> list[str]:
    return ["index", str(folder), "-l", str(library), "-m", str(model), "--batch-size", "2", "--json", *extra]


def rows(library: Path, table: str = "embeddings") -> int:
    """Rows in a catalog table, read as another process would (0 before the catalog exists)."""
    try:
        with sqlite3.connect(f"file:{library / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def wait_for_commit(proc: subprocess.Popen, library: Path, embeddings_before: int = 0) -> None:
    """Wait until the run of `proc` has committed a batch (more embeddings than before); it must still run."""
    deadline = time.monotonic() + 120
    while rows(library) <= embeddings_before and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be stopped"
