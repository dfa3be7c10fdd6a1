"""config.json is validated before any weight is allocated; silent defaults are refused."""

from __future__ import annotations

import json
import shutil

import pytest

from indexer.errors import BadModelFile, ModelNotDownloaded, UnknownModel
from indexer.model.config import read_config
from indexer.model.directory import architecture
from indexer.model.load import load_model
from indexer.model.state import state_shapes


@pytest.fixture()
def model_copy(tmp_path, narrow_model):
    """A copy of the narrow model's small files (weights linked) to edit."""
    dest = tmp_path / "model"
    dest.mkdir()
    for f in narrow_model.iterdir():
        if f.name == "model_state.pdparams":
            (dest / f.name).symlink_to(f)
        else:
            shutil.copy(f, dest / f.name)
    return dest


def _edit(model_dir, edit):
    path = model_dir / "config.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_vit_g14_architecture_has_the_published_sizes():
    config = architecture("vit-g-14")
    v, t = config.vision, config.text
    assert (v.width, v.layers, v.heads, v.width // v.heads, v.mlp, v.patch, v.image_size) == (
        1408,
        40,
        16,
        88,
        6144,
        14,
        224,
    )
    assert (t.width, t.layers, t.heads, t.mlp, t.context, t.vocab) == (1024, 24, 16, 4096, 77, 49408)
    assert config.embed_dim == 1024 and v.act == t.act == "gelu"
    total = sum(int(__import__("numpy").prod(s)) for s in state_shapes(config).values())
    assert abs(total - 1_366_680_000) < 1_000_000  # open_clip model_profile: 1366.68 M parameters
    assert total == config.param_count()


def test_missing_hidden_act_is_refused_because_paddlenlp_would_default_to_quick_gelu(model_copy):
    _edit(model_copy, lambda d: d["vision_config"].pop("hidden_act"))
    with pytest.raises(BadModelFile, match="hidden_act.*quick_gelu"):
        read_config(model_copy)


def test_unknown_activation_is_refused(model_copy):
    _edit(model_copy, lambda d: d["text_config"].update(hidden_act="relu"))
    with pytest.raises(BadModelFile, match="'relu' is not one of"):
        read_config(model_copy)


def test_absurd_sizes_are_refused_before_allocation(model_copy):
    _edit(model_copy, lambda d: d["vision_config"].update(hidden_size=10**9))
    with pytest.raises(BadModelFile, match="outside"):
        load_model(model_copy, runtime="paddle")


def test_heads_must_divide_width(model_copy):
    _edit(model_copy, lambda d: d["vision_config"].update(num_attention_heads=15))
    with pytest.raises(BadModelFile, match="not divisible"):
        read_config(model_copy)


def test_config_that_disagrees_with_weights_names_the_first_bad_tensor(model_copy):
    _edit(model_copy, lambda d: d["vision_config"].update(num_hidden_layers=3))
    with pytest.raises(BadModelFile, match="missing"):
        load_model(model_copy, runtime="paddle")


def test_missing_config_file_is_named(model_copy):
    (model_copy / "config.json").unlink()
    with pytest.raises(BadModelFile, match="config.json: file is missing"):
        load_model(model_copy)


def test_broken_json_is_named(model_copy):
    (model_copy / "preprocessor_config.json").write_text("{not json")
    with pytest.raises(BadModelFile, match="preprocessor_config.json: not readable JSON"):
        read_config(model_copy)


def test_missing_tokenizer_file_is_named(model_copy):
    (model_copy / "merges.txt").unlink()
    with pytest.raises(BadModelFile, match="merges.txt"):
        load_model(model_copy, runtime="paddle")


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(UnknownModel, match="known models: tiny-shapes, vit-b-32, vit-g-14, vit-h-14, vit-l-14"):
        load_model("vit-z-99")


def test_registered_but_absent_model_says_how_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXSEEK_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelNotDownloaded, match="pixseek models download vit-g-14"):
        load_model("vit-g-14")
