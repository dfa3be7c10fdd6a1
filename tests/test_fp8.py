"""`--dtype fp8` (indexer.model.runtimes.fp8): the vision tower's linear layers in FP8 through torch's scaled
matmul, kept only behind its gate. Run here on the CPU (torch multiplies float8 there in software): what is
checked is the arithmetic, the gate and the doors, not the speed (bench/gpu_index.py's fp8 phases)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from indexer.model import load_encoder  # noqa: E402
from indexer.model.registry import model_path  # noqa: E402
from indexer.model.runtimes import fp8  # noqa: E402
from indexer.sources.synthetic import generate, relevance_queries  # noqa: E402
from ui.cli.main import app  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (model_path("tiny-shapes") / "config.json").is_file(), reason="models/tiny-shapes is not built"
)
runner = CliRunner()


def encoder(dtype: str):
    return load_encoder("tiny-shapes", runtime="torch", device="cpu", dtype=dtype, batch_size=64)


def crops(n: int) -> np.ndarray:
    from indexer.model import resize_crop

    return np.stack([resize_crop(s.image.convert("RGB"), 64) for s in generate(n, 7)])


@pytest.mark.parametrize(("scales", "gelu"), [("static", "none"), ("row", "none"), ("static", "tanh")])
def test_fp8_tower_multiplies_in_float8_and_keeps_tiny_shapes_retrieval(monkeypatch, scales, gelu):
    monkeypatch.setattr(fp8, "SCALES", scales)
    monkeypatch.setattr(fp8, "GELU", gelu)
    quantised, reference = encoder("fp8"), encoder("bf16")
    first, block, *_, last = quantised.tower("vision").transformer.resblocks
    assert isinstance(block.attn.qkv, fp8.Fp8Linear) and isinstance(block.mlp.c_fc, fp8.Fp8Linear)
    assert first.attn.qkv is None and not isinstance(last.mlp.c_proj, fp8.Fp8Linear)  # kept in bfloat16
    assert block.mlp.gelu.approximate == gelu and first.mlp.gelu.approximate == last.mlp.gelu.approximate == "none"
    assert block.mlp.c_fc.weight.dtype == fp8.torch.float8_e4m3fn and quantised.fp8_min_cosine >= fp8.MIN_COSINE
    assert (block.mlp.c_proj.input_scale is not None) == (scales == "static")  # calibrated on the gate's photos
    samples = generate(600, 7)
    pixels = crops(600)
    a, b = quantised.encode_pixels(pixels), reference.encode_pixels(pixels)
    cosine = np.einsum("ij,ij->i", a, b)
    assert not np.array_equal(a, b) and cosine.min() >= 0.995 and cosine.mean() >= 0.999
    queries = relevance_queries(samples, low=5, high=200, per_kind=4)
    texts = reference.encode_texts([q for q, _ in queries])
    for text, (query, mask) in zip(texts, queries, strict=True):
        top_a, top_b = np.argsort(-(a @ text))[:10], np.argsort(-(b @ text))[:10]
        assert len(set(top_a) & set(top_b)) >= 8, query
        hits_a, hits_b = sum(mask[i] for i in top_a), sum(mask[i] for i in top_b)
        assert abs(hits_a - hits_b) <= 1, query


def test_fp8_vectors_under_the_gate_stop_the_run_with_one_line_and_index_nothing(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, sample in enumerate(generate(6, 3)):
        sample.image.save(photos / f"{i}.png")
    monkeypatch.setattr(fp8, "MIN_COSINE", 0.999999)
    result = runner.invoke(app, ["index", str(photos), "-l", str(tmp_path / "lib"), "--dtype", "fp8", "--json"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0 and "bfloat16" in result.stderr and "fp8" in result.stderr
    with sqlite3.connect(tmp_path / "lib" / "catalog.sqlite") as db:
        assert db.execute("SELECT count(*) FROM embeddings").fetchone() == (0,)


def test_index_in_fp8_records_bfloat16_so_a_later_plain_run_takes_bfloat16_without_a_warning(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, sample in enumerate(generate(8, 4)):
        sample.image.save(photos / f"{i}.png")
    lib = tmp_path / "lib"
    made = runner.invoke(app, ["index", str(photos), "-l", str(lib), "--dtype", "fp8", "--json"])
    assert made.exit_code == 0, made.output
    with sqlite3.connect(lib / "catalog.sqlite") as db:
        assert db.execute("SELECT runtime, precision FROM models").fetchall() == [("torch", "bfloat16")]
        assert db.execute("SELECT count(*) FROM embeddings").fetchone() == (8,)
    generate(9, 4)[8].image.save(photos / "8.png")
    again = runner.invoke(app, ["index", str(photos), "-l", str(lib), "--json"])  # the library's precision: bf16
    summary = json.loads(again.stdout)
    assert (summary["indexed"], summary["unchanged"]) == (1, 8)
    assert not [w for w in summary["warnings"] if "were made with" in w]  # no precision mismatch is claimed
    found = runner.invoke(app, ["search", "a red circle", "-l", str(lib), "--json"])
    assert found.exit_code == 0 and len(json.loads(found.stdout)) > 0


@pytest.mark.parametrize("runtime", ["numpy", "paddle"])
def test_fp8_on_a_runtime_without_it_is_one_line_naming_torch(tmp_path, runtime):
    photos = tmp_path / "photos"
    photos.mkdir()
    generate(1, 3)[0].image.save(photos / "a.png")
    result = runner.invoke(
        app, ["index", str(photos), "-l", str(tmp_path / "lib"), "--dtype", "fp8", "--runtime", runtime, "--json"]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0 and "torch runtime" in result.stderr


def test_static_scales_come_from_the_largest_input_seen_and_leave_headroom_before_clipping():
    torch = fp8.torch
    layer = torch.nn.Linear(64, 32)
    inputs = torch.randn(8, 64) * 3
    quantised = fp8.Fp8Linear(layer.weight, layer.bias, inputs.abs().amax())
    assert float(quantised.input_scale) == pytest.approx(float(inputs.abs().amax()) * fp8.HEADROOM / fp8.E4M3_MAX)
    for x in (inputs, inputs * fp8.HEADROOM * 0.9, inputs / 100):  # as calibrated, far larger, far smaller
        want, got = layer(x).detach(), quantised(x.to(torch.bfloat16)).float()
        assert torch.nn.functional.cosine_similarity(want, got).min() > 0.99
    clipped = quantised(inputs.to(torch.bfloat16) * fp8.HEADROOM * 4).float()  # past the headroom it saturates
    assert torch.nn.functional.cosine_similarity(layer(inputs * fp8.HEADROOM * 4).detach(), clipped).min() < 0.99


def test_the_bias_added_in_the_matmul_or_after_it_gives_the_same_outputs():
    torch = fp8.torch
    layer = torch.nn.Linear(64, 32)
    with torch.no_grad():
        layer.bias.mul_(50)  # large enough that a bias left out or added twice shows
    inputs = torch.randn(8, 64).to(torch.bfloat16)
    amax = inputs.abs().amax()
    fused, apart = (fp8.Fp8Linear(layer.weight, layer.bias, amax, bias_in_matmul=b) for b in (True, False))
    assert not apart.bias_in_matmul and fused.bias_in_matmul
    want = layer(inputs.float()).detach()
    for got in (fused(inputs).float(), apart(inputs).float()):
        assert torch.allclose(got, want, atol=0.2 * float(want.abs().max()) / 10, rtol=0)
    assert torch.allclose(fused(inputs).float(), apart(inputs).float(), atol=0.5, rtol=0.01)


def test_calibration_records_each_swapped_layers_largest_input_and_lets_go_of_the_tower():
    quantised = encoder("bf16")
    transformer = quantised.tower("vision").transformer
    pixels = fp8.torch.from_numpy(crops(8))
    with fp8.calibration(transformer) as amax:
        quantised.vision_tensor(pixels)
    blocks = len(transformer.resblocks)
    assert set(amax) == {(i, n) for i in range(1, blocks - 1) for n in ("qkv", "out_proj", "c_fc", "c_proj")}
    assert all(float(v) > 0 for v in amax.values())
    before = dict(amax)
    quantised.vision_tensor(pixels)  # the hooks are gone once the block ends
    assert amax == before


def test_the_tanh_gelu_written_with_one_exponential_is_nn_gelus_tanh_approximation(monkeypatch):
    torch = fp8.torch
    x = torch.linspace(-12, 12, 20001)
    want = torch.nn.GELU(approximate="tanh")(x)
    assert (fp8.TanhGeluByExp()(x) - want).abs().max() < 1e-5  # float32: the same function
    assert (torch.nn.GELU()(x) - want).abs().max() > 1e-4  # where the exact GELU differs from it
    got = fp8.TanhGeluByExp()(x.to(torch.bfloat16)).float()
    assert torch.allclose(got, want, rtol=1 / 64, atol=1e-2)  # bfloat16 keeps 8 bits
    monkeypatch.setattr(fp8, "GELU", "tanh_by_exp")
    transformer = encoder("bf16").tower("vision").transformer
    fp8.to_fp8(transformer)
    gelus = [type(block.mlp.gelu) for block in transformer.resblocks]
    assert gelus == [torch.nn.GELU] + [fp8.TanhGeluByExp] * (len(gelus) - 2) + [torch.nn.GELU]
