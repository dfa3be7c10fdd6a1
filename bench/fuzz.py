"""The long fuzz run: many more random cases than CI's bounded, fixed-seed one (tests/reliability/test_fuzz.py).

    python bench/fuzz.py [--cases N]      # N cases per target (default 20000); writes bench/results/fuzz.json

It runs that test with random cases (PIXSEEK_FUZZ_CASES) and reads back what each target found
(PIXSEEK_FUZZ_REPORT). Prints one JSON line: per target the cases run, the crashes found (with their
messages; a target stops at its first crash, shrunk by hypothesis) and seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, emit, machine

TEST = "tests/reliability/test_fuzz.py::test_fuzzed_input_gives_a_result_or_the_typed_error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="cases per target")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as report:
        env = {**os.environ, "PIXSEEK_FUZZ_CASES": str(args.cases), "PIXSEEK_FUZZ_REPORT": report}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST], cwd=ROOT, env=env)
        results = {p.stem: json.loads(p.read_text()) for p in sorted(Path(report).glob("*.json"))}
    emit("fuzz", {"machine": machine(None), "cases_per_target": args.cases, "targets": results})


if __name__ == "__main__":
    main()
