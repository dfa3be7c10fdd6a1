"""The generator and the trainer run end to end (a few steps on a few dozen images), so neither can rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.model.load import load_model

ROOT = Path(__file__).parents[1]
SIGNALLED = "terminated with signal"  # paddle.distributed.spawn, when a process of the run was killed


def _train(out: Path, *options: str) -> str:
    cmd = [sys.executable, str(ROOT / "tools" / "train_tiny.py"), "--out", str(out), "--pool", "48", "--batch", "16"]
    cmd += ["--warmup", "1", *options]
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # a crash shows every thread's Python stack
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if done.returncode != 0 and SIGNALLED in done.stderr:
        # Paddle's multi-process CPU training (spawn, gloo) once lost a process to SIGABRT in CI, without a
        # message, and did not again in 73 runs here: one more try, and the first one's output shown in the
        # warnings summary. A second failure, or wrong numbers, still fail the test.
        warnings.warn(f"the trainer's processes failed once, tried again:\n{_tails(done)}", stacklevel=2)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, _tails(done)
    return done.stdout


def _tails(done: subprocess.CompletedProcess) -> str:
    """The ends of both streams: Paddle reports a fatal signal (its C++ stack) on stdout."""
    return f"stdout: ...{done.stdout[-1500:]}\nstderr: ...{done.stderr[-3000:]}"


def test_trainer_writes_a_model_directory_that_loads_and_encodes(tmp_path):
    out = tmp_path / "tiny"
    assert "step     2" in _train(out, "--steps", "3", "--close-ups", "0.5")
    enc = load_model(out, runtime="paddle", device="cpu")
    vectors = enc.encode_texts(["a red circle", "two blue squares on a white background"])
    assert vectors.shape == (2, 128) and np.isfinite(vectors).all()


def test_trainer_takes_an_architecture_file_one_view_and_a_time_limit(tmp_path):
    out, arch = tmp_path / "tiny", tmp_path / "tiny-32px.json"
    config = json.loads((ROOT / "indexer" / "model" / "architectures" / "tiny-shapes.json").read_text())
    config["vision_config"]["image_size"] = 32
    arch.write_text(json.dumps(config))
    log = _train(out, "--arch", str(arch), "--views", "1", "--steps", "500", "--max-minutes", "0.0001")
    assert "stopped after step 0" in log  # the pool alone takes longer than the limit: one step, then export
    assert json.loads((out / "preprocessor_config.json").read_text())["crop_size"] == {"height": 32, "width": 32}
    enc = load_model(out, runtime="paddle", device="cpu")
    assert enc.encode_images([Image.new("RGB", (80, 50), "red")]).shape == (1, 128)


def test_two_processes_train_the_model_one_process_trains(tmp_path):
    """--procs 2 splits every batch between two processes: the same steps, so the same model up to rounding."""
    from indexer.sources import synthetic

    recipe = ("--views", "1", "--close-ups", "0.5")
    logs = {
        name: _train(tmp_path / name, "--steps", steps, *procs, *recipe)
        for name, steps, procs in [("one", "3", ()), ("two", "3", ("--procs", "2")), ("shorter", "2", ())]
    }
    # "step N  loss L  M min": the steps and losses, not the minutes (which a busy machine changes)
    steps = {
        name: [line.split()[:4] for line in log.splitlines() if line.startswith("step")] for name, log in logs.items()
    }
    assert len(steps["two"]) == 2 and steps["one"] == steps["two"]  # the same losses at the same steps
    images = [s.image for s in synthetic.generate(8, seed=77)]
    vectors = {name: load_model(tmp_path / name, runtime="paddle", device="cpu").encode_images(images) for name in logs}
    assert np.abs(vectors["one"] - vectors["two"]).max() < 2e-3
    assert np.abs(vectors["one"] - vectors["shorter"]).max() > 2e-2  # one step less is told apart


def test_generator_cli_writes_images_and_captions(tmp_path):
    cmd = [sys.executable, str(ROOT / "tools" / "make_shapes.py"), str(tmp_path / "set"), "--n", "24", "--seed", "11"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120, cwd=ROOT)
    lines = (tmp_path / "set" / "captions.jsonl").read_text().splitlines()
    assert len(lines) == 24 and len(list((tmp_path / "set").glob("0*.*"))) == 24


def test_torch_trainer_exports_a_model_the_paddle_runtime_loads(tmp_path):
    """The GPU trainer, run on the CPU: its checkpoints go through the converter into the release layout."""
    out = tmp_path / "tiny"
    cmd = [sys.executable, str(ROOT / "tools" / "train_tiny_torch.py"), "--out", str(out), "--device", "cpu"]
    options = ["--pool", "48", "--batch", "16", "--steps", "3", "--warmup", "1", "--workers", "1", "--save-at", "2"]
    done = subprocess.run([*cmd, *options, "--views", "1", "--close-ups", "0.5"], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for model in (out, tmp_path / "tiny-step2"):
        vectors = load_model(model, runtime="paddle", device="cpu").encode_texts(["a red circle", "a blue star"])
        assert vectors.shape == (2, 128) and np.isfinite(vectors).all()
        assert abs(vectors[0] @ vectors[1]) < 0.9999  # real weights, not a constant
