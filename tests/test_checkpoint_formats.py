"""open_clip and Hugging Face checkpoints load into the same vectors as the PaddleNLP release layout."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from indexer.model.load import load_model
from indexer.model.runtimes.torch import open_clip_cfg
from indexer.sources.synthetic import PARITY_TEXTS as TEXTS
from indexer.sources.synthetic import parity_images as images

TOKENIZER_FILES = (
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
)


def _hf_state(canonical: dict) -> dict:
    """Canonical (PaddleNLP) names -> Hugging Face CLIPModel names, written independently of indexer.model.convert."""
    out = {}
    renames = {
        "token_embedding.weight": "embeddings.token_embedding.weight",
        "positional_embedding.weight": "embeddings.position_embedding.weight",
        "ln_final": "final_layer_norm",
        "class_embedding": "embeddings.class_embedding",
        "conv1.weight": "embeddings.patch_embedding.weight",
        "ln_pre": "pre_layrnorm",
        "ln_post": "post_layernorm",
    }
    for key, value in canonical.items():
        if key in ("vision_projection", "text_projection"):
            out[("visual_projection" if key.startswith("vision") else "text_projection") + ".weight"] = value.T
            continue
        if key == "logit_scale":
            out[key] = value.reshape(())
            continue
        tower, rest = key.split(".", 1)
        if rest.startswith("transformer.layers."):
            _, _, index, part = rest.split(".", 3)
            for old, new in (
                ("norm1", "layer_norm1"),
                ("norm2", "layer_norm2"),
                ("linear1", "mlp.fc1"),
                ("linear2", "mlp.fc2"),
            ):
                part = part.replace(old, new) if part.startswith(old) else part
            linear = part.endswith("weight") and "norm" not in part
            out[f"{tower}.encoder.layers.{index}.{part}"] = value.T if linear else value
        else:
            for old, new in renames.items():
                if rest.startswith(old):
                    rest = new + rest[len(old) :]
                    break
            out[f"{tower}.{rest}"] = value
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _copy_small_files(src, dest, names):
    dest.mkdir()
    for name in names:
        shutil.copy(src / name, dest / name)


@pytest.fixture(scope="module")
def reference(narrow_model):
    enc = load_model(narrow_model, runtime="paddle", device="cpu", dtype="float32")
    return enc.encode_images(images()[:4]), enc.encode_texts(TEXTS[:6])


def _assert_same_vectors(model_dir, runtime, reference):
    enc = load_model(model_dir, runtime=runtime, device="cpu", dtype="float32")
    image, text = enc.encode_images(images()[:4]), enc.encode_texts(TEXTS[:6])
    assert (image * reference[0]).sum(1).min() >= 0.99999
    assert (text * reference[1]).sum(1).min() >= 0.99999


@pytest.mark.parametrize("runtime", ["paddle", "torch", "numpy"])
def test_hugging_face_safetensors_checkpoint_gives_the_same_vectors(
    runtime, tmp_path, narrow_model, narrow_state, reference
):
    if runtime != "numpy":
        pytest.importorskip("paddle" if runtime == "paddle" else "open_clip")
    from safetensors.numpy import save_file

    model_dir = tmp_path / "hf"
    _copy_small_files(narrow_model, model_dir, (*TOKENIZER_FILES, "config.json"))
    save_file(_hf_state(narrow_state), str(model_dir / "model.safetensors"))
    _assert_same_vectors(model_dir, runtime, reference)


def test_open_clip_checkpoint_gives_the_same_vectors(tmp_path, narrow_model, narrow_config, reference):
    pytest.importorskip("open_clip")
    import torch

    from indexer.model.runtimes.torch import build_open_clip
    from indexer.model.weights import load_pdparams

    model = build_open_clip(narrow_config, load_pdparams(narrow_model / "model_state.pdparams"))
    model_dir = tmp_path / "open_clip"
    _copy_small_files(narrow_model, model_dir, ("vocab.json", "merges.txt"))
    cfg = open_clip_cfg(narrow_config)
    cfg["vision_cfg"]["mlp_ratio"] = 4.3637  # as open_clip's own ViT-g-14.json writes it
    (model_dir / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": {}}))
    torch.save(model.state_dict(), model_dir / "open_clip_pytorch_model.bin")
    _assert_same_vectors(model_dir, "torch", reference)
