"""model_state.pdparams is read without running what the pickle carries."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from indexer.errors import BadModelFile, UnsafeWeights
from indexer.model.load import load_model
from indexer.model.weights import load_pdparams, save_pdparams


class _Payload:
    """Unpickling this runs `touch <marker>` through os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pdparams_roundtrip_keeps_names_dtypes_and_values(tmp_path):
    state = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4, np.float16)}
    save_pdparams(state, tmp_path / "model_state.pdparams")
    loaded = load_pdparams(tmp_path / "model_state.pdparams")
    assert set(loaded) == {"a.weight", "b"}
    assert loaded["a.weight"].dtype == np.float32 and np.array_equal(loaded["a.weight"], state["a.weight"])
    assert loaded["b"].dtype == np.float16


def test_pickle_with_os_system_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model_state.pdparams"
    path.write_bytes(pickle.dumps({"w": np.zeros(2, np.float32), "evil": _Payload(marker)}, protocol=4))
    with pytest.raises(UnsafeWeights, match=r"posix\.system|os\.system"):
        load_pdparams(path)
    assert not marker.exists()


def test_model_with_hostile_weights_fails_to_load_with_a_clear_error(tmp_path, narrow_model):
    model = tmp_path / "hostile"
    model.mkdir()
    for f in narrow_model.iterdir():
        if f.name != "model_state.pdparams":
            (model / f.name).write_bytes(f.read_bytes())
    marker = tmp_path / "pwned"
    (model / "model_state.pdparams").write_bytes(pickle.dumps({"x": _Payload(marker)}, protocol=4))
    with pytest.raises(UnsafeWeights, match="refused to load"):
        load_model(model, runtime="paddle")
    assert not marker.exists()


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "model_state.pdparams"
    path.write_bytes(pickle.dumps({"w": np.array(["a", 1], dtype=object)}, protocol=4))
    with pytest.raises(BadModelFile):
        load_pdparams(path)


def test_truncated_pickle_is_a_bad_model_file_not_a_crash(tmp_path):
    path = tmp_path / "model_state.pdparams"
    save_pdparams({"w": np.ones(1000, np.float32)}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(BadModelFile, match="not a readable weights pickle"):
        load_pdparams(path)


def test_file_larger_than_its_config_allows_is_refused_before_reading(tmp_path):
    path = tmp_path / "model_state.pdparams"
    save_pdparams({"w": np.ones(10_000, np.float32)}, path)
    with pytest.raises(BadModelFile, match="more than"):
        load_pdparams(path, max_bytes=1000)


def test_weights_written_by_pixseek_load_with_paddle_load(tmp_path):
    paddle = pytest.importorskip("paddle")
    save_pdparams({"w": np.arange(3, dtype=np.float32)}, tmp_path / "m.pdparams")
    loaded = paddle.load(str(tmp_path / "m.pdparams"))
    assert np.array_equal(np.asarray(loaded["w"]), np.arange(3, dtype=np.float32))
