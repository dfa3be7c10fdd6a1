"""`pixseek models list | info | download | remove`, driven as a user would, against 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from fake_http import PROXY_VARS, serving
from typer.testing import CliRunner

from indexer.model.registry import MODEL_FILES
from ui.cli.main import app

runner = CliRunner()


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIXSEEK_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def _files(model_dir) -> dict[str, bytes]:
    return {name: (model_dir / name).read_bytes() for name in MODEL_FILES}


def test_models_list_shows_registered_models_and_whether_installed(models_dir):
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) >= {"tiny-shapes", "vit-g-14"}
    assert rows["vit-g-14"]["installed"] is False


def test_models_info_describes_a_model_directory(narrow_model):
    result = runner.invoke(app, ["models", "info", str(narrow_model), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["dim"] == 1024 and info["vision"]["width"] == 1408 and info["vision"]["heads"] == 16
    assert info["vision"]["act"] == "gelu" and info["weights"] == "model_state.pdparams"


def test_models_info_prints_readable_text_not_python_dicts(narrow_model):
    result = runner.invoke(app, ["models", "info", str(narrow_model)])
    assert result.exit_code == 0, result.output
    assert "{" not in result.output and "'" not in result.output
    assert "1024 dimensions" in result.output and "width 1408 (16 heads" in result.output
    assert "GFLOP per image" in result.output and "weights cache" in result.output


def test_models_info_of_a_release_not_downloaded_describes_it_and_how_to_get_it(models_dir):
    result = runner.invoke(app, ["models", "info", "vit-g-14"])
    assert result.exit_code == 0, result.output
    assert "pixseek models download vit-g-14" in result.output
    assert "40 layers of width 1408" in result.output and "1,367 M parameters" in result.output
    info = json.loads(runner.invoke(app, ["models", "info", "vit-g-14", "--json"]).output)
    assert info["installed"] is False and info["dim"] == 1024 and "weights_sha256" not in info


def test_models_info_on_a_bad_path_is_one_error_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["models", "info", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown model" in result.stderr and "Traceback" not in result.output


def test_models_download_installs_a_model_that_then_loads(models_dir, micro_model):
    with serving(_files(micro_model)) as server:
        result = runner.invoke(app, ["models", "download", "vit-g-14", "--base-url", server.url("")])
    assert result.exit_code == 0, result.output
    installed = models_dir / "vit-g-14"
    assert all((installed / name).read_bytes() == (micro_model / name).read_bytes() for name in MODEL_FILES)
    listing = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert {r["name"]: r["installed"] for r in listing}["vit-g-14"] is True


def test_models_download_resumes_after_the_connection_drops(models_dir, micro_model):
    with serving(_files(micro_model)) as server:
        server.drop_after, server.drops_left, server.drop_only = 1_000_000, 1, "model_state.pdparams"
        result = runner.invoke(app, ["models", "download", "vit-g-14", "--base-url", server.url("")])
        ranges = server.seen("model_state.pdparams")
    assert result.exit_code == 0, result.output
    assert ranges == [None, "bytes=1000000-"]
    assert (models_dir / "vit-g-14" / "model_state.pdparams").read_bytes() == (
        micro_model / "model_state.pdparams"
    ).read_bytes()


def test_a_corrupted_download_is_refused_and_not_installed(models_dir, micro_model):
    files = _files(micro_model)
    files["model_state.pdparams"] = files["model_state.pdparams"][:-4096]  # cut short on the server side
    with serving(files) as server:
        result = runner.invoke(app, ["models", "download", "vit-g-14", "--base-url", server.url("")])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "model_state.pdparams" in result.stderr
    assert not (models_dir / "vit-g-14").exists()


def test_models_download_of_an_unknown_name_lists_the_downloadable_ones(models_dir):
    result = runner.invoke(app, ["models", "download", "vit-z-99"])
    assert result.exit_code == 2 and "known models: vit-g-14" in result.stderr


def test_models_remove_deletes_a_downloaded_model(models_dir, micro_model):
    with serving(_files(micro_model)) as server:
        runner.invoke(app, ["models", "download", "vit-g-14", "--base-url", server.url("")])
    result = runner.invoke(app, ["models", "remove", "vit-g-14"])
    assert result.exit_code == 0 and not (models_dir / "vit-g-14").exists()


def _open_clip_files(model_dir) -> dict[str, bytes]:
    """A stand-in for a LAION release in open_clip's layout: the micro model's weights, renamed and fused
    as open_clip writes them, with its config and the tokenizer files."""
    from safetensors.numpy import save

    from indexer.model import read_checkpoint
    from indexer.model.convert import paddle_to_open_clip
    from indexer.model.runtimes.torch import open_clip_cfg

    config, state = read_checkpoint(model_dir)
    config_json = json.dumps({"model_cfg": open_clip_cfg(config), "preprocess_cfg": {"size": config.preprocess.size}})
    return {
        "open_clip_config.json": config_json.encode(),
        "open_clip_model.safetensors": save(paddle_to_open_clip(state)),
        "vocab.json": (model_dir / "vocab.json").read_bytes(),
        "merges.txt": (model_dir / "merges.txt").read_bytes(),
    }


def test_a_laion_release_in_open_clip_layout_downloads_loads_and_is_listed(models_dir, micro_model):
    from indexer.model import load_model

    with serving(_open_clip_files(micro_model)) as server:
        result = runner.invoke(app, ["models", "download", "vit-b-32", "--base-url", server.url("")])
        asked = sorted(name for name in ("open_clip_config.json", "open_clip_model.safetensors") if server.seen(name))
    assert result.exit_code == 0, result.output
    assert asked == ["open_clip_config.json", "open_clip_model.safetensors"]
    vectors = load_model("vit-b-32", runtime="numpy", device="cpu").encode_texts(["a red circle"])
    reference = load_model(micro_model, runtime="numpy", device="cpu").encode_texts(["a red circle"])
    assert float((vectors * reference).sum()) >= 0.99999
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["models", "list", "--json"]).output)}
    assert rows["vit-b-32"]["installed"] is True and rows["vit-b-32"]["vision_gflop_per_image"] == 8.6
    assert {"vit-h-14", "vit-l-14"} <= set(rows)


def test_models_remove_also_removes_the_models_converted_weights(models_dir, micro_model):
    with serving(_files(micro_model)) as server:
        runner.invoke(app, ["models", "download", "vit-g-14", "--base-url", server.url("")])
    entries = json.loads(runner.invoke(app, ["models", "cache", "--json"]).output)
    sha = json.loads(runner.invoke(app, ["models", "info", "vit-g-14", "--json"]).output)["weights_sha256"]
    mine = [e["path"] for e in entries if e["source_sha256"] == sha]
    result = runner.invoke(app, ["models", "remove", "vit-g-14"])
    assert result.exit_code == 0 and mine and all(f"removed {p}" in result.output for p in mine)
