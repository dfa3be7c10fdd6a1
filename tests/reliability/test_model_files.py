"""Hostile model files are refused with one clear line, before their payload runs or anything large is allocated."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.errors import BadModelFile
from indexer.model.config import read_config
from indexer.model.tokenizer import Tokenizer
from indexer.model.weights import load_pdparams

from .hostile import jpeg_bytes, picture
from .library_state import run_pixseek


class _Payload:
    """Unpickling this runs `touch <marker>`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _HugeArray:
    """Pickles as a float32 array whose header claims 10^6 x 10^6 elements (4 TB) over 16 bytes of data."""

    def __reduce__(self):
        state = (1, (10**6, 10**6), np.dtype("<f4"), False, b"\0" * 16)
        return (np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct,
                (np.ndarray, (0,), b"b"), state)  # fmt: skip


@pytest.fixture()
def model_copy(tmp_path, micro_model) -> Path:
    dest = tmp_path / "model"
    shutil.copytree(micro_model, dest)
    return dest


def _refused(*args: str) -> str:
    """Run pixseek; it must exit 2 with exactly one line on stderr; return that line."""
    done = run_pixseek(*args, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_pickle_payload_in_the_weights_is_refused_by_models_info_and_index_and_never_runs(tmp_path, model_copy):
    marker = tmp_path / "pwned"
    weights = model_copy / "model_state.pdparams"
    weights.write_bytes(pickle.dumps({"w": np.zeros(2, np.float32), "x": _Payload(marker)}, protocol=4))
    assert "refused to load: the pickle references posix.system" in _refused("models", "info", str(model_copy))
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(jpeg_bytes(picture(0)))
    line = _refused("index", str(photos), "-l", str(tmp_path / "lib"), "-m", str(model_copy), "--json")
    assert line.startswith(f"error: {weights}: refused to load") and not marker.exists()


def test_an_array_header_claiming_4_tb_is_refused_without_allocating_it(tmp_path):
    path = tmp_path / "model_state.pdparams"
    path.write_bytes(pickle.dumps({"w": _HugeArray()}, protocol=4))
    with pytest.raises(BadModelFile, match="not a readable weights pickle"):
        load_pdparams(path)


def test_a_config_with_absurd_sizes_is_refused_in_one_line(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["vision_config"]["hidden_size"] = 10**9
    (model_copy / "config.json").write_text(json.dumps(config))
    assert "outside" in _refused("models", "info", str(model_copy))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("vocab.json", b"#version: 0.2\ni n\n", "not JSON"),
        ("vocab.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("vocab.json", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text"),
        ("merges.txt", b'{"<|startoftext|>": 0}', "first line is not a '#version: ...' header"),
        ("config.json", b"{" * 100_000, "not readable JSON"),
        ("config.json", b'["a list"]', "expected a JSON object"),
    ],
    ids=["vocab-is-merges", "vocab-nested", "vocab-is-png", "merges-is-json", "config-nested", "config-is-list"],
)
def test_a_model_file_that_is_not_what_it_claims_is_refused_naming_it(model_copy, name, content, reason):
    """In process: the CLI's one line for a BadModelFile is shown by the two tests above."""
    (model_copy / name).write_bytes(content)
    with pytest.raises(BadModelFile) as caught:
        read_config(model_copy) if name == "config.json" else Tokenizer.from_dir(model_copy)
    assert str(caught.value).startswith(f"{model_copy / name}: ") and reason in str(caught.value)


@pytest.mark.parametrize("name", ["vocab.json", "merges.txt", "config.json"])
def test_a_huge_tokenizer_or_config_file_is_refused_before_it_is_read(model_copy, name):
    with open(model_copy / name, "wb") as fh:
        fh.truncate(8 << 30)  # 8 GB, sparse: reading it would be the allocation
    with pytest.raises(BadModelFile, match="too large for a"):
        read_config(model_copy) if name == "config.json" else Tokenizer.from_dir(model_copy)
