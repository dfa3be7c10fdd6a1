"""Which training recipe of the tiny model fits the Paddle CPU trainer's budget: emulated on a GPU.

    python bench/tiny_recipes.py --recipes "b128-v2:--batch 128 --views 2 --steps 800 --save-at 400" \
        "s32:--arch @s32 --batch 128 --views 1 --steps 4000" --variants "s32:vision_config.image_size=32"

Each recipe runs tools/train_tiny_torch.py (the same model, data, captions, augmentation and loss as the
Paddle CPU trainer) with its own options and a pool of 20,000 samples like the CPU trainer's; several
recipes train at once on the one GPU. `--variants` derive architectures from tiny-shapes, used with
`--arch @NAME`. Every model written (the end and each `--save-at` checkpoint) is evaluated by
tools/eval_tiny.py on the held-out set. The steps a recipe can afford on 2 CPU cores come from timing
the Paddle trainer there; this bench tells what a recipe reaches at that many steps without an hour of
CPU per try.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, emit


def variant(spec: str, out: Path) -> None:
    """Write NAME.json: tiny-shapes with the given fields changed ("NAME:vision_config.image_size=32,...")."""
    name, changes = spec.split(":", 1)
    config = json.loads((ROOT / "indexer" / "architectures" / "tiny-shapes.json").read_text())
    for change in changes.split(","):
        key, value = change.split("=")
        tower, field = key.split(".")
        config[tower][field] = int(value)
    (out / f"{name}.json").write_text(json.dumps(config))


def train(name: str, options: str, out: Path, workers: int) -> str:
    """Train one recipe; return its log's tail."""
    command = [sys.executable, str(ROOT / "tools" / "train_tiny_torch.py"), "--out", str(out / "models" / name)]
    options = options.replace("--arch @", f"--arch {out}/")
    command += ["--pool", "20000", "--workers", str(workers), *shlex.split(options)]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"{name}: {run.stderr[-2000:]}")
    return run.stdout[-300:]


def evaluate(model: Path, device: str) -> dict:
    command = [sys.executable, str(ROOT / "tools" / "eval_tiny.py"), str(model), "--runtime", "torch"]
    run = subprocess.run([*command, "--device", device], capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", required=True, help="NAME:OPTIONS of train_tiny_torch.py")
    parser.add_argument("--variants", nargs="*", default=[], help="NAME:TOWER.FIELD=INT,... of tiny-shapes")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3, help="batch-making processes per recipe")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--card", default="")
    args = parser.parse_args()
    recipes = dict(r.split(":", 1) for r in args.recipes)
    out = Path(tempfile.mkdtemp(prefix="pixseek-recipes-"))
    (out / "models").mkdir()
    for spec in args.variants:
        variant(spec, out)
    with ThreadPoolExecutor(args.parallel) as pool:
        jobs = {n: pool.submit(train, n, o, out, args.workers) for n, o in recipes.items()}
        logs = {n: job.result() for n, job in jobs.items()}
    models = sorted(p for p in (out / "models").iterdir() if p.is_dir())
    with ThreadPoolExecutor(args.parallel) as pool:
        results = dict(zip((m.name for m in models), pool.map(lambda m: evaluate(m, args.device), models), strict=True))
    for name, figures in results.items():
        print(name, json.dumps(figures), flush=True)
    emit(
        f"tiny-recipes-{args.card or 'gpu'}".replace(" ", "_"),
        {"recipes": recipes, "variants": args.variants, "pool": 20000, "results": results, "logs": logs},
    )


if __name__ == "__main__":
    main()
