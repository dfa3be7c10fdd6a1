"""The tiny model's figures on a held-out synthetic set (seed never used in training).

    python tools/eval_tiny.py [MODEL] [--runtime torch --device cuda]   # default: tiny-shapes; one JSON line

What is measured: indexer.sources.synthetic.evaluation.
"""

from __future__ import annotations

import argparse
import json

from indexer import load_model
from indexer.sources.synthetic import evaluate_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="tiny-shapes")
    parser.add_argument("--runtime", default="paddle")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(json.dumps(evaluate_model(load_model(args.model, runtime=args.runtime, device=args.device, batch_size=256))))


if __name__ == "__main__":
    main()
