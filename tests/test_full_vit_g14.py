"""The parity check on the full ViT-g/14 config (40 + 24 layers, random weights): slow, run with -m slow.

    pytest -m slow tests/test_full_vit_g14.py -s     # about 10 minutes and 18 GB of RAM on 2 cores

Writes bench/results/parity-vit-g-14-full-cpu.json with the cosines it measured.
"""

from __future__ import annotations

import gc
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.model.directory import architecture, write_model_dir
from indexer.model.load import load_model
from indexer.model.state import random_state
from indexer.sources.synthetic import PARITY_TEXTS as TEXTS
from indexer.sources.synthetic import parity_images as images

RESULTS = Path(__file__).parents[1] / "bench" / "results" / "parity-vit-g-14-full-cpu.json"


def _encode(model_dir: Path, runtime: str) -> tuple[np.ndarray, np.ndarray, float]:
    start = time.perf_counter()
    enc = load_model(model_dir, runtime=runtime, device="cpu", batch_size=4)
    image, text = enc.encode_images(images()), enc.encode_texts(TEXTS)
    del enc
    gc.collect()
    return image, text, time.perf_counter() - start


@pytest.mark.slow
def test_full_vit_g14_paddle_and_torch_match_open_clip(tmp_path):
    pytest.importorskip("paddle")
    pytest.importorskip("open_clip")
    config = architecture("vit-g-14")
    model_dir = write_model_dir(tmp_path / "vit-g-14-random", config, random_state(config, seed=0))
    gc.collect()
    paddle_image, paddle_text, paddle_s = _encode(model_dir, "paddle")
    torch_image, torch_text, torch_s = _encode(model_dir, "torch")
    # open_clip's own path on the same seeded weights, in its own process (tools/make_golden.py).
    golden = tmp_path / "golden.npz"
    make_golden = [sys.executable, str(Path(__file__).parents[1] / "tools" / "make_golden.py")]
    subprocess.run([*make_golden, "--arch", "vit-g-14", "--out", str(golden)], check=True, timeout=3600)
    ref_image, ref_text = np.load(golden)["image"], np.load(golden)["text"]
    result = {
        "config": "vit-g-14 (40 vision + 24 text layers), random weights seed 0",
        "machine": f"{platform.processor() or platform.machine()} CPU, 2 cores",
        "images": 16,
        "texts": 16,
        "paddle_vs_open_clip_image_min_cos": float((paddle_image * ref_image).sum(1).min()),
        "paddle_vs_open_clip_text_min_cos": float((paddle_text * ref_text).sum(1).min()),
        "torch_vs_open_clip_image_min_cos": float((torch_image * ref_image).sum(1).min()),
        "torch_vs_open_clip_text_min_cos": float((torch_text * ref_text).sum(1).min()),
        "paddle_seconds": round(paddle_s, 1),
        "torch_seconds": round(torch_s, 1),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    assert min(v for k, v in result.items() if k.endswith("_min_cos")) >= 0.99999
