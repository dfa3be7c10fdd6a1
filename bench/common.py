"""What every benchmark shares: a random-weight encoder of a named architecture, and result output."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
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


def run_pixseek(args: list[str], env: dict) -> dict:
    """Run `pixseek ARGS` as a child; its wall seconds, peak RSS (GB, itself and its waited children), status."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "ui.cli", *args], env=env, stdout=subprocess.PIPE)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    result = {"wall_s": round(time.perf_counter() - start, 2), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 3)}
    if child.returncode:
        raise SystemExit(f"pixseek {' '.join(args)} exited {child.returncode}: {out.decode()[-500:]}")
    return result


def make_release_model(arch: str, folder: Path) -> dict:
    """Seeded random weights in the release format, written by a child process: this one stays small, so
    the children it starts later do not begin life with its memory (fork copies the RSS it counts)."""
    if not (folder / "config.json").is_file():
        start = time.perf_counter()
        code = (
            "import sys; from indexer.model import architecture, random_state, write_model_dir; "
            "c = architecture(sys.argv[1]); write_model_dir(sys.argv[2], c, random_state(c, seed=0))"
        )
        subprocess.run([sys.executable, "-c", code, arch, str(folder)], check=True)
        print(f"wrote {folder} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return {"weights_bytes": (folder / "model_state.pdparams").stat().st_size}
