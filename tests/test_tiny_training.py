"""The generator and the trainer run end to end (a few steps on a few dozen images), so neither can rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from indexer import load_model

ROOT = Path(__file__).parents[1]


def test_trainer_writes_a_model_directory_that_loads_and_encodes(tmp_path):
    out, arch = tmp_path / "tiny", tmp_path / "tiny-32px.json"
    config = json.loads((ROOT / "indexer" / "architectures" / "tiny-shapes.json").read_text())
    config["vision_config"]["image_size"] = 32  # a variant architecture given as a file
    arch.write_text(json.dumps(config))
    cmd = [sys.executable, str(ROOT / "tools" / "train_tiny.py"), "--out", str(out), "--arch", str(arch)]
    cmd += ["--views", "1", "--steps", "3", "--pool", "48", "--batch", "16", "--warmup", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step     2" in done.stdout
    enc = load_model(out, runtime="paddle", device="cpu")
    vectors = enc.encode_texts(["a red circle", "two blue squares on a white background"])
    assert vectors.shape == (2, 128) and np.isfinite(vectors).all()
    assert json.loads((out / "preprocessor_config.json").read_text())["crop_size"] == {"height": 32, "width": 32}
    assert enc.encode_images([Image.new("RGB", (80, 50), "red")]).shape == (1, 128)


def test_generator_cli_writes_images_and_captions(tmp_path):
    cmd = [sys.executable, "-m", "ui.shapes", str(tmp_path / "set"), "--n", "24", "--seed", "11"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120, cwd=ROOT)
    lines = (tmp_path / "set" / "captions.jsonl").read_text().splitlines()
    assert len(lines) == 24 and len(list((tmp_path / "set").glob("0*.*"))) == 24
