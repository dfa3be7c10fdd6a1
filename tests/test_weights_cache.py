"""Tower-lazy encoders over the converted weights cache (indexer.model.cache): what is read, when the
cache is trusted and when it is rebuilt, and that cached weights give the vectors the checkpoint gives."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from indexer.model import build_encoder, cache, load_model, random_state, read_checkpoint, tensorfile, write_model_dir
from ui.cli import app

RUNTIMES = [
    "numpy",
    pytest.param(
        "torch", marks=pytest.mark.skipif(not __import__("importlib").util.find_spec("torch"), reason="no torch")
    ),
    pytest.param(
        "paddle", marks=pytest.mark.skipif(not __import__("importlib").util.find_spec("paddle"), reason="no paddle")
    ),
]
IMAGES = [Image.new("RGB", (48, 40), "red"), Image.new("RGB", (40, 48), "blue")]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXSEEK_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def model(tmp_path, micro_model):
    """A private copy of the micro model (tests below rewrite its weights)."""
    config, state = read_checkpoint(micro_model)
    return write_model_dir(tmp_path / "micro", config, state)


def files_read(monkeypatch) -> list[str]:
    """The cache files mapped from now on, by file name."""
    seen: list[str] = []
    real = tensorfile.read
    monkeypatch.setattr(tensorfile, "read", lambda path: seen.append(path.name) or real(path))
    return seen


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_text_query_never_reads_the_vision_tower(model, runtime, monkeypatch):
    load_model(model, runtime=runtime, device="cpu").encode_texts(["warm the cache"])  # builds both files once
    seen = files_read(monkeypatch)
    enc = load_model(model, runtime=runtime, device="cpu")
    enc.encode_texts(["a red circle"])
    assert seen == ["text.safetensors"] and enc.weights.opened == ["text"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_image_query_reads_the_vision_tower_on_first_use_only(model, runtime, monkeypatch):
    load_model(model, runtime=runtime, device="cpu").encode_images(IMAGES[:1])
    seen = files_read(monkeypatch)
    enc = load_model(model, runtime=runtime, device="cpu")
    assert seen == []  # loading a model reads no weights
    enc.encode_images(IMAGES)
    enc.encode_images(IMAGES)
    assert seen == ["vision.safetensors"]


def test_indexing_never_builds_the_text_tower(tmp_path, model, monkeypatch):
    from indexer import IndexSettings, index

    asked: list[str] = []
    real = cache.tower
    monkeypatch.setattr(cache, "tower", lambda key, name: asked.append(name) or real(key, name))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, im in enumerate(IMAGES):
        im.save(photos / f"{i}.png")
    summary = index([photos], tmp_path / "lib", str(model), IndexSettings(workers=0, runtime="numpy"))
    assert summary.indexed == 2 and asked == ["vision"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cached_weights_give_the_vectors_of_the_checkpoint_at_the_same_precision(model, runtime):
    config, state = read_checkpoint(model)
    cached = load_model(model, runtime=runtime, device="cpu", dtype="float32")
    direct = build_encoder("micro", model, config, state, runtime=runtime, device="cpu", dtype="float32", batch_size=8)
    for a, b in [(cached.encode_texts(["a red circle", "x"]), direct.encode_texts(["a red circle", "x"]))]:
        assert (a * b).sum(axis=1).min() >= 0.99999
    a, b = cached.encode_images(IMAGES), direct.encode_images(IMAGES)
    assert (a * b).sum(axis=1).min() >= 0.99999


def test_bfloat16_weights_stay_within_cosine_0_999_of_float32_on_the_vit_g14_widths(narrow_model):
    for runtime in ("numpy", *(["torch"] if __import__("importlib").util.find_spec("torch") else [])):
        full = load_model(narrow_model, runtime=runtime, device="cpu", dtype="float32")
        half = load_model(narrow_model, runtime=runtime, device="cpu", dtype="bfloat16")
        texts = ["a red circle", "a photo of a dog on the beach at sunset"]
        assert (full.encode_texts(texts) * half.encode_texts(texts)).sum(axis=1).min() >= 0.999, runtime
        assert (full.encode_images(IMAGES) * half.encode_images(IMAGES)).sum(axis=1).min() >= 0.999, runtime


def entry_of(model, dtype="bfloat16"):
    enc = load_model(model, runtime="numpy", device="cpu", dtype=dtype)
    enc.encode_texts(["x"])
    return enc.weights.key.path


def test_a_truncated_cache_file_is_rebuilt_not_used(model):
    entry = entry_of(model)
    expected = load_model(model, runtime="numpy", device="cpu").encode_texts(["a red circle"])
    path = entry / "text.safetensors"
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    again = load_model(model, runtime="numpy", device="cpu").encode_texts(["a red circle"])
    assert path.stat().st_size == size and np.array_equal(again, expected)


def test_a_cache_file_whose_bytes_changed_is_rebuilt(model):
    entry = entry_of(model)
    expected = load_model(model, runtime="numpy", device="cpu").encode_images(IMAGES)
    path = entry / "vision.safetensors"
    data = bytearray(path.read_bytes())
    data[-1000:] = os.urandom(1000)  # same size, other weights
    path.write_bytes(bytes(data))
    again = load_model(model, runtime="numpy", device="cpu").encode_images(IMAGES)
    assert np.array_equal(again, expected)
    assert cache.trusted(entry, "vision")


def test_a_changed_source_gets_its_own_entry_and_its_own_vectors(model):
    before = entry_of(model)
    old = load_model(model, runtime="numpy", device="cpu").encode_texts(["a red circle"])
    config, _ = read_checkpoint(model)
    write_model_dir(model, config, random_state(config, seed=99))
    after = entry_of(model)
    new = load_model(model, runtime="numpy", device="cpu").encode_texts(["a red circle"])
    assert after != before and before.is_dir() and after.is_dir()
    assert float((old * new).sum()) < 0.99


def test_a_text_query_imports_neither_torch_nor_paddle(model):
    """The cold path of `pixseek search`: numpy only, so a query answers without a framework's start-up."""
    code = (
        "import sys; from indexer import load_model; "
        f"load_model({str(model)!r}).encode_texts(['a red circle']); "
        "print(sorted(m for m in ('torch', 'paddle', 'open_clip') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert done.stdout.strip() == "[]"


def test_models_cache_lists_and_removes_entries(model):
    entry = entry_of(model)
    listed = CliRunner().invoke(app, ["models", "cache", "--json"])
    assert listed.exit_code == 0 and str(entry) in listed.output
    removed = CliRunner().invoke(app, ["models", "cache", "--remove", "all"])
    assert removed.exit_code == 0 and f"removed {entry}" in removed.output and not entry.exists()
    bad = CliRunner().invoke(app, ["models", "cache", "--remove", str(model)])
    assert bad.exit_code == 2 and "not a pixseek weights cache entry" in bad.output


def test_models_info_shows_the_precision_this_cpu_uses(model):
    result = CliRunner().invoke(app, ["models", "info", str(model), "--json"])
    assert result.exit_code == 0, result.output
    info = __import__("json").loads(result.output)
    assert info["cpu"]["precision"] in ("bfloat16", "float32") and info["cpu"]["query_with"].startswith("numpy")
    assert info["cache"] and info["parameters"] > 0
