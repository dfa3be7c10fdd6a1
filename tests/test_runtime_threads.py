"""The model runs from any thread: Streamlit imports and runs everything in script threads, a new one per rerun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Paddle's eager mode is thread-local and set up in the thread that imports it first; this must run in a
# fresh interpreter, where no test has imported Paddle on the main thread yet.
SCRIPT = """
import sys, threading
import numpy as np
from indexer import load_model

def in_thread(work):
    out = []
    worker = threading.Thread(target=lambda: out.append(work()))
    worker.start()
    worker.join()
    if not out:
        sys.exit("the thread raised")
    return out[0]

encoder = in_thread(lambda: load_model(sys.argv[1], runtime=sys.argv[2], device="cpu"))
pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
texts = in_thread(lambda: encoder.encode_texts(["a red circle"]))
images = in_thread(lambda: encoder.encode_pixels(pixels))
assert np.abs(images - encoder.encode_pixels(pixels)).max() < 1e-5
assert np.abs(texts - encoder.encode_texts(["a red circle"])).max() < 1e-5
print("same vectors in every thread")
"""


@pytest.mark.parametrize("runtime", ["paddle", "torch"])
def test_a_model_loaded_in_one_thread_encodes_in_others(micro_model, runtime):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(micro_model), runtime],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "same vectors in every thread" in done.stdout


MKL_SCRIPT = """
import os, sys
from indexer import load_model
load_model(sys.argv[1], runtime="paddle", device="cpu").encode_texts(["a red circle"])
print("MKL_DEBUG_CPU_TYPE=" + os.environ.get("MKL_DEBUG_CPU_TYPE", "unset"))
"""


@pytest.mark.parametrize(("given", "expected"), [(None, "5"), ("2", "2")])
def test_paddle_starts_mkl_on_its_fast_path_unless_the_user_chose(micro_model, given, expected):
    """Paddle's bundled MKL runs float32 GEMM at half speed on AMD processors unless told the CPU type."""
    env = {k: v for k, v in os.environ.items() if k != "MKL_DEBUG_CPU_TYPE"}
    if given is not None:
        env["MKL_DEBUG_CPU_TYPE"] = given
    done = subprocess.run(
        [sys.executable, "-c", MKL_SCRIPT, str(micro_model)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"MKL_DEBUG_CPU_TYPE={expected}" in done.stdout
