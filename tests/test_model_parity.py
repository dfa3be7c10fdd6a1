"""Both runtimes give open_clip's vectors for the same weights (ViT-g/14 widths, 2 layers per tower).

Golden vectors: `python tools/make_golden.py` (open_clip's CLIP, eval transform and tokenizer).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.model.load import load_model
from indexer.sources.synthetic import PARITY_TEXTS as TEXTS
from indexer.sources.synthetic import parity_images as images

GOLDEN = Path(__file__).parent / "data" / "golden-vit-g-14-narrow.npz"
TOOLS = Path(__file__).parents[1] / "tools"
MIN_COSINE = 0.99999


@pytest.fixture(scope="module")
def golden(narrow_state):
    data = np.load(GOLDEN)
    checksum = sum(float(np.abs(v).sum()) for v in narrow_state.values())
    assert np.isclose(checksum, float(data["weights_checksum"]), rtol=1e-9), "seeded weights drifted from golden"
    return data


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def needs(runtime: str) -> None:
    if runtime != "numpy":
        pytest.importorskip("paddle" if runtime == "paddle" else "torch")


@pytest.mark.parametrize("runtime", ["paddle", "torch", "numpy"])
def test_runtime_matches_open_clip_golden_vectors(runtime, narrow_model, golden):
    needs(runtime)
    enc = load_model(narrow_model, runtime=runtime, device="cpu", dtype="float32")
    image_cos = cosines(enc.encode_images(images()), golden["image"])
    text_cos = cosines(enc.encode_texts(TEXTS), golden["text"])
    print(f"{runtime}: image cosine min {image_cos.min():.7f}, text cosine min {text_cos.min():.7f}")
    assert len(image_cos) == 16 and len(text_cos) == 16
    assert image_cos.min() >= MIN_COSINE
    assert text_cos.min() >= MIN_COSINE


def test_golden_vectors_are_what_open_clip_computes_now(tmp_path, golden):
    """tools/make_golden.py, run again, gives the committed vectors: open_clip and the inputs are unchanged."""
    pytest.importorskip("open_clip")
    out = tmp_path / "golden.npz"
    subprocess.run([sys.executable, str(TOOLS / "make_golden.py"), "--out", str(out)], check=True, timeout=600)
    now = np.load(out)
    assert cosines(now["image"], golden["image"]).min() >= MIN_COSINE
    assert cosines(now["text"], golden["text"]).min() >= MIN_COSINE


def test_encoders_return_unit_float32_vectors_of_model_dim(narrow_model):
    pytest.importorskip("paddle")
    enc = load_model(narrow_model, runtime="paddle", device="cpu")
    vectors = enc.encode_texts(["a red circle", "a blue square"])
    assert enc.dim == 1024
    assert vectors.dtype == np.float32 and vectors.shape == (2, 1024)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("runtime", ["paddle", "torch", "numpy"])
def test_text_truncated_at_end_of_text_equals_padded_run(runtime, narrow_model):
    needs(runtime)
    enc = load_model(narrow_model, runtime=runtime, device="cpu", dtype="float32")
    truncated = enc.encode_texts(TEXTS)
    padded = enc.encode_texts(TEXTS, pad_to_context=True)
    assert cosines(truncated, padded).min() >= MIN_COSINE


def test_weights_sha256_is_the_file_digest_and_is_cached(narrow_model, tmp_path, monkeypatch):
    import hashlib

    pytest.importorskip("open_clip")
    monkeypatch.setenv("PIXSEEK_CACHE_DIR", str(tmp_path))
    enc = load_model(narrow_model, runtime="torch", device="cpu")
    expected = hashlib.sha256((narrow_model / "model_state.pdparams").read_bytes()).hexdigest()
    assert enc.weights_sha256 == expected
    assert expected in (tmp_path / "weights-sha256.json").read_text()


def test_uint8_crops_and_float_pixels_give_the_same_vectors(narrow_model):
    pytest.importorskip("open_clip")
    from indexer.model import transform as preprocess

    enc = load_model(narrow_model, runtime="torch", device="cpu", dtype="float32")
    crops = np.stack([preprocess.resize_crop(preprocess.to_rgb(im), 224) for im in images()[:4]])
    pixels = preprocess.normalize(crops, enc.config.preprocess)
    assert cosines(enc.encode_pixels(crops), enc.encode_pixels(pixels)).min() >= MIN_COSINE


def test_the_torch_runtime_imports_neither_open_clip_nor_torchvision(narrow_model):
    """open_clip's import (with torchvision's) was most of a GPU run's wait before its first batch."""
    script = (
        "import sys\n"
        "from indexer.model.load import load_model\n"
        "from indexer.sources.synthetic import parity_images\n"
        f"enc = load_model({str(narrow_model)!r}, runtime='torch', device='cpu')\n"
        "enc.encode_images(parity_images()[:2]); enc.encode_texts(['a red circle'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'open_clip', 'torchvision', 'timm', 'transformers'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
