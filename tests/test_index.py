"""`pixseek index`: folders -> catalog -> vector index, incremental, consistent, on real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

import indexer.pipeline.indexing
import indexer.pipeline.run
import indexer.sources.reader
from indexer.library.catalog import bytes_to_vectors, open_catalog, session
from indexer.library.folder import LibraryBusy, model_key, vectors_dir, writer_lock
from indexer.library.tables import Embedding, File, Run
from indexer.library.vectors import VectorIndex
from indexer.model.load import model_ref
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from ui.cli.main import app

ROOT = Path(__file__).parents[1]

INLINE = IndexSettings(workers=0, batch_size=8)


def make_folder(folder: Path, n: int, seed: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        synthetic.write(synthetic.sample(i, seed), folder, i)
    return folder


def run(folder, library, model, settings=INLINE):
    return index([folder], library, str(model), settings)


def no_model_calls(monkeypatch):
    """Make any model load or decode fail the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the model or the decoder was used")

    monkeypatch.setattr(indexer.pipeline.run, "load_encoder", forbidden)
    monkeypatch.setattr(indexer.sources.reader, "decode_bytes", forbidden)


def consistent(library: Path, model) -> tuple[set, set]:
    """(ids the index holds, ids the catalog says belong in it), after reopening from disk."""
    ref = model_ref(str(model))
    engine = open_catalog(library)
    with session(engine) as s:
        wanted = set(
            s.scalars(
                select(Embedding.image_id).where(
                    Embedding.image_id.in_(select(File.image_id).where(File.status == "ok"))
                )
            )
        )
    vi = VectorIndex.open(vectors_dir(library, model_key(ref.name, ref.weights_sha256)), ref.config.embed_dim)
    return set(vi.ids().tolist()), wanted


def test_index_embeds_every_image_and_records_failures(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 20)
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "page.png").write_bytes(b"<html>not an image</html>")
    summary = run(folder, tmp_path / "lib", micro_model)
    assert (summary.indexed, summary.failed) == (20, 2)
    assert {Path(p).name: r for p, r in summary.failures} == {
        "zero.jpg": "empty file",
        "page.png": "not a recognised image format",
    }
    have, wanted = consistent(tmp_path / "lib", micro_model)
    assert have == wanted and len(have) == 20


def test_second_run_neither_decodes_nor_calls_the_model(tmp_path, micro_model, monkeypatch):
    folder = make_folder(tmp_path / "photos", 12)
    run(folder, tmp_path / "lib", micro_model)
    no_model_calls(monkeypatch)
    summary = run(folder, tmp_path / "lib", micro_model)
    assert (summary.indexed, summary.unchanged) == (0, 12)


def test_renamed_and_moved_files_keep_their_vectors_without_a_model_call(tmp_path, micro_model, monkeypatch):
    folder = make_folder(tmp_path / "photos", 6)
    run(folder, tmp_path / "lib", micro_model)
    first = sorted(folder.iterdir())[0]
    (folder / "sub").mkdir()
    first.rename(folder / "sub" / ("renamed" + first.suffix))
    no_model_calls(monkeypatch)
    summary = run(folder, tmp_path / "lib", micro_model)
    assert (summary.moved, summary.missing, summary.indexed) == (1, 0, 0)
    with session(open_catalog(tmp_path / "lib")) as s:
        assert s.scalar(select(func.count(File.id))) == 6  # the row was updated, not duplicated
        assert s.scalar(select(File.relpath).where(File.relpath.like("sub/%"))) == "sub/renamed" + first.suffix


def test_identical_content_at_two_paths_is_embedded_once(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 4)
    original = sorted(folder.iterdir())[0]
    shutil.copy(original, folder / ("copy" + original.suffix))
    summary = run(folder, tmp_path / "lib", micro_model)
    assert summary.indexed + summary.duplicates == 5 and summary.indexed == 4
    with session(open_catalog(tmp_path / "lib")) as s:
        assert s.scalar(select(func.count()).select_from(Embedding)) == 4


def test_deleted_file_is_kept_as_missing_and_leaves_the_index(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 5)
    run(folder, tmp_path / "lib", micro_model)
    sorted(folder.iterdir())[0].unlink()
    summary = run(folder, tmp_path / "lib", micro_model)
    assert summary.missing == 1
    with session(open_catalog(tmp_path / "lib")) as s:
        assert s.scalar(select(func.count(File.id)).where(File.status == "missing")) == 1
    have, wanted = consistent(tmp_path / "lib", micro_model)
    assert have == wanted and len(have) == 4


def test_changed_file_is_embedded_again(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 3)
    run(folder, tmp_path / "lib", micro_model)
    target = sorted(folder.iterdir())[0]
    synthetic.sample(99, 99).image.save(target, format="PNG" if target.suffix == ".png" else "JPEG")
    summary = run(folder, tmp_path / "lib", micro_model)
    assert (summary.indexed, summary.unchanged) == (1, 2)


def test_eight_exif_orientations_give_the_upright_vector(tmp_path, micro_model):
    from indexer.model.load import load_model

    upright = synthetic.sample(1, 21).image.resize((160, 120))
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    folder = tmp_path / "orient"
    folder.mkdir()
    for tag, op in inverse.items():
        stored = upright.transpose(op) if op is not None else upright
        exif = Image.Exif()
        exif[0x0112] = tag
        stored.save(folder / f"o{tag}.jpg", quality=95, exif=exif)
    upright.save(tmp_path / "upright.jpg", quality=95)
    run(folder, tmp_path / "lib", micro_model)
    reference = load_model(micro_model, runtime="paddle", device="cpu").encode_images(
        [Image.open(tmp_path / "upright.jpg")]
    )
    with session(open_catalog(tmp_path / "lib")) as s:
        blobs = list(s.scalars(select(Embedding.vector)))
    cosines = bytes_to_vectors(blobs, reference.shape[1]) @ reference[0]
    assert len(blobs) == 8 and cosines.min() >= 0.999


def test_a_second_index_run_on_the_same_library_is_refused_with_a_clear_message(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 2)
    with writer_lock(tmp_path / "lib"):
        with pytest.raises(LibraryBusy, match="another `pixseek index` is running"):
            run(folder, tmp_path / "lib", micro_model)


def test_index_that_lags_the_catalog_is_rebuilt_from_persisted_vectors(tmp_path, micro_model, monkeypatch):
    folder = make_folder(tmp_path / "photos", 7)
    run(folder, tmp_path / "lib", micro_model)
    shutil.rmtree(tmp_path / "lib" / "vectors")
    no_model_calls(monkeypatch)
    run(folder, tmp_path / "lib", micro_model)
    have, wanted = consistent(tmp_path / "lib", micro_model)
    assert have == wanted and len(have) == 7


def test_cli_index_prints_a_json_summary_and_status_reports_the_library(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 4)
    (folder / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    runner = CliRunner()
    result = runner.invoke(
        app, ["index", str(folder), "-l", str(tmp_path / "lib"), "-m", str(micro_model), "--workers", "0", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["indexed"], summary["failed"]) == (4, 1)
    assert f"skipping {folder / 'bad.jpg'}: " in result.stderr
    status = json.loads(runner.invoke(app, ["status", "-l", str(tmp_path / "lib"), "--json"]).stdout)
    assert status["counts"]["files"] == {"ok": 4, "failed": 1, "missing": 0}
    assert status["index"]["ntotal"] == 4 and status["failures"][0]["path"].endswith("bad.jpg")
    strict = runner.invoke(app, ["index", str(folder), "-l", str(tmp_path / "lib"), "-m", str(micro_model), "--strict"])
    assert strict.exit_code == 0  # nothing failed in this run: the bad file is unchanged, not retried


def test_index_of_a_missing_folder_is_one_error_line(tmp_path):
    result = CliRunner().invoke(app, ["index", str(tmp_path / "nope"), "-l", str(tmp_path / "lib")])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {tmp_path / 'nope'}: not a folder or tar shard"


def _embeddings(library: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{library / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def test_kill_9_at_any_moment_then_rerun_leaves_catalog_and_index_in_agreement(tmp_path, micro_model):
    # Enough files that four runs, each killed up to 0.2 s after its first commit, do not finish them
    # (300 did not always: since the writer's bulk inserts a run can finish within 0.2 s).
    n = 600
    folder = make_folder(tmp_path / "photos", n)
    library = tmp_path / "lib"
    cmd = [
        sys.executable,
        "-m",
        "ui.cli",
        "index",
        str(folder),
        "-l",
        str(library),
        "-m",
        str(micro_model),
        "--batch-size",
        "4",
        "--workers",
        "1",
        "--json",
    ]
    rng = np.random.default_rng(9)
    kills = 0
    for _ in range(4):
        before = _embeddings(library)
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while _embeddings(library) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # wait until this run has committed something, then kill it mid-run
        time.sleep(float(rng.uniform(0, 0.2)))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 3  # each kill came after a commit and before the run finished
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    have, wanted = consistent(library, micro_model)
    assert have == wanted and len(have) == n
    with session(open_catalog(library)) as s:
        assert s.scalar(select(func.count(File.id)).where(File.status == "ok")) == n
        assert s.scalar(select(func.count()).select_from(Embedding)) == n
        statuses = list(s.scalars(select(Run.status).order_by(Run.id)))
    # A kill can land after a run recorded itself done (while the process exits): at least one is interrupted.
    assert statuses[-1] == "done" and "running" not in statuses and "interrupted" in statuses


def test_a_file_name_that_is_not_utf8_is_reported_not_fatal(tmp_path, micro_model):
    folder = make_folder(tmp_path / "photos", 2)
    good = sorted(folder.iterdir())[0]
    os.link(good, os.fsencode(folder) + b"/bad-\xff-name" + os.fsencode(good.suffix))
    summary = run(folder, tmp_path / "lib", micro_model)
    assert summary.indexed == 2 and summary.failed == 1
    assert "not valid UTF-8" in summary.failures[0][1]


def test_progress_names_the_model_load_stage_and_measures_the_time_left(tmp_path, micro_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, s in enumerate(synthetic.generate(12, seed=3)):
        s.image.save(folder / f"{i:02d}.png")
    seen = []
    index([folder], tmp_path / "lib", str(micro_model), IndexSettings(workers=0, batch_size=4),
          progress=lambda p: seen.append((p.stage, p.remaining_s)))  # fmt: skip
    stages = [stage for stage, _ in seen]
    assert stages.index("loading model") < stages.index("indexing")
    assert any(left is not None for stage, left in seen if stage == "indexing")


def test_a_long_run_is_told_its_cost_and_a_cheaper_releases():
    from indexer.pipeline import Progress
    from ui.cli.index import cost_line

    state = Progress(total=2140, done=10, model="vit-g-14", device="cpu", vision_gflop=533.6, remaining_s=4800)
    assert (
        cost_line(state)
        == "2,130 files to go, about 1 h 20 min on this CPU with vit-g-14; vit-b-32 would take about 1 min"
    )
    cheapest = Progress(total=500, done=0, model="vit-b-32", device="cuda:0", vision_gflop=8.6, remaining_s=90)
    assert cost_line(cheapest) == "500 files to go, about 2 min on this GPU (cuda:0) with vit-b-32"
