"""Write a synthetic shapes set: images and captions.jsonl (the bundled model's training and evaluation data).

python tools/make_shapes.py OUT_DIR --n 1000 --seed 7    # writes 00000.png/.jpg ... and captions.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from indexer.sources.synthetic import sample, write


def main(argv: list[str] | None = None) -> int:
    """Write n samples of one seed into OUT_DIR with captions.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.n < 0 or args.seed < 0:
        parser.error("--n and --seed must be non-negative")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with open(args.out_dir / "captions.jsonl", "w") as f:
        for i in range(args.n):
            f.write(json.dumps(write(sample(i, args.seed), args.out_dir, i)) + "\n")
    print(f"wrote {args.n} images and captions.jsonl to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
