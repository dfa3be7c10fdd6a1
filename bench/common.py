"""What every benchmark shares: a random-weight encoder of a named architecture, and result output."""

from __future__ import annotations

import json
import platform
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"


def random_encoder(arch: str, runtime: str, device: str, dtype: str, batch_size: int, seed: int = 0):
    """An encoder of architecture `arch` with seeded random weights, built in memory (no file written)."""
    from indexer.model.directory import architecture, bpe_dir
    from indexer.model.load import build_encoder
    from indexer.model.state import random_state

    config = architecture(arch)
    state = random_state(config, seed)
    return build_encoder(
        f"{arch}-random", bpe_dir(), config, state, runtime=runtime, device=device, dtype=dtype, batch_size=batch_size
    )


def machine(card: str | None) -> str:
    """The card's name when given (GPU runs), else the CPU model and core count."""
    if card:
        return card
    import os

    cpu = platform.processor() or platform.machine()
    try:
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0].strip() if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def emit(name: str, result: dict) -> None:
    """Print one JSON line and keep it under bench/results/<name>.json."""
    result = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), **result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


def slug(*parts: object) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", str(p)) for p in parts if p not in (None, ""))
