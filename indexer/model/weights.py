"""Reading and writing `model_state.pdparams` without running what a pickle carries.

A pdparams file is a plain pickle (protocol 4) of {parameter name: numpy array} plus the entry
"StructuredToParameterName@@". `paddle.load` unpickles it with the full pickle machinery, so a
hostile file runs code on load. Here only the globals that numpy arrays and plain containers
need are admitted; anything else stops the load before its payload can run.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np

from indexer.errors import BadModelFile, UnsafeWeights

STRUCTURED_KEY = "StructuredToParameterName@@"

# (module, name) pairs an array pickle may reference: numpy 1.x and 2.x spell the module
# differently, protocol 5 rebuilds through _frombuffer, and Paddle may wrap values in tuples.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("builtins", "tuple"),
    ("builtins", "list"),
    ("builtins", "dict"),
}
_NUMERIC_KINDS = "fiub"  # float, signed, unsigned, bool: never object or string arrays


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise UnsafeWeights(
                self._source,
                f"refused to load: the pickle references {module}.{name}, "
                "but a weights file may hold only numpy arrays and plain containers",
            )
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise UnsafeWeights(self._source, "refused to load: the pickle uses persistent ids")


def _as_array(key: str, value, source: str) -> np.ndarray:
    # paddle.save may store a parameter as (name, array).
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.ndarray):
        value = value[1]
    if not isinstance(value, np.ndarray) or value.dtype.kind not in _NUMERIC_KINDS:
        raise BadModelFile(source, f"entry {key!r} is not a numeric array ({type(value).__name__})")
    return value


def load_pdparams(path: str | Path, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Return {name: array} from a pdparams pickle, admitting numpy arrays and containers only.

    `max_bytes` refuses a file larger than the model it claims to be before reading it.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise BadModelFile(source, "file is missing")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise BadModelFile(source, f"file is {size} bytes, more than the {max_bytes} its config allows")
    try:
        with open(path, "rb") as fh:
            state = _ArrayUnpickler(io.BufferedReader(fh, 1 << 20), source).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise BadModelFile(source, f"not a readable weights pickle ({exc})") from exc
    if not isinstance(state, dict):
        raise BadModelFile(source, f"expected a dict of arrays, found {type(state).__name__}")
    return {str(key): _as_array(str(key), value, source) for key, value in state.items() if key != STRUCTURED_KEY}


def save_pdparams(state: dict[str, np.ndarray], path: str | Path) -> None:
    """Write {name: array} as a pdparams pickle (protocol 4) that paddle.load also reads; atomic."""
    path = Path(path)
    payload = {key: np.ascontiguousarray(value) for key, value in state.items()}
    payload[STRUCTURED_KEY] = {key: key for key in state}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=4)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
