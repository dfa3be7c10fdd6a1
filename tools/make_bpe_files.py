"""Write models/clip-bpe/vocab.json and merges.txt (Hugging Face / PaddleNLP layout) from open_clip's BPE file.

Usage: python tools/make_bpe_files.py [path/to/bpe_simple_vocab_16e6.txt.gz] [--out models/clip-bpe]

Without a path it uses the copy inside the installed open_clip package, found without importing
open_clip (which would import torch). The ids are the ones open_clip's SimpleTokenizer builds.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
from pathlib import Path

GZ_NAME = "bpe_simple_vocab_16e6.txt.gz"
N_MERGES = 49152 - 256 - 2  # CLIP's vocabulary is 49152 minus the byte symbols and two specials
SPECIALS = ["<|startoftext|>", "<|endoftext|>"]  # open_clip's <start_of_text>, <end_of_text>
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "models" / "clip-bpe"


def find_bpe_gz() -> Path:
    """Return the BPE file shipped inside the installed open_clip package."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"open_clip is not installed; pass the path of {GZ_NAME}")
    return Path(next(iter(spec.submodule_search_locations))) / GZ_NAME


def read_merges(gz_path: Path) -> list[str]:
    """Return the N_MERGES merge lines ("a b") of open_clip's file; its line 0 is a header."""
    lines = gzip.open(gz_path).read().decode("utf-8").split("\n")
    merges = lines[1 : N_MERGES + 1]
    if len(merges) != N_MERGES or any(len(m.split(" ")) != 2 for m in merges):
        sys.exit(f"{gz_path}: expected {N_MERGES} merge lines of two symbols after the header")
    return merges


def byte_symbols() -> list[str]:
    """Return CLIP's 256 printable stand-ins for bytes, in open_clip's order."""
    # Kept apart from indexer/model/tokenizer.py so that these files check that module, not copy it.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + n) for n in range(len(others))]


def build_vocab(merges: list[str]) -> dict[str, int]:
    """Return token -> id: bytes, bytes + '</w>', one token per merge, then the two specials."""
    symbols = byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + [m.replace(" ", "") for m in merges] + SPECIALS
    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) != len(tokens):
        sys.exit("two merges produce the same token; the ids would not match open_clip's")
    return vocab


def write_files(merges: list[str], out_dir: Path) -> None:
    """Write vocab.json (one line, ids in order) and merges.txt under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_text = json.dumps(build_vocab(merges), ensure_ascii=False)
    (out_dir / "vocab.json").write_text(vocab_text + "\n", encoding="utf-8", newline="\n")
    merges_text = "\n".join(["#version: 0.2", *merges]) + "\n"
    (out_dir / "merges.txt").write_text(merges_text, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gz", nargs="?", type=Path, help=f"open_clip's {GZ_NAME} (default: the installed one)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    gz_path = args.gz or find_bpe_gz()
    write_files(read_merges(gz_path), args.out)
    print(f"wrote {args.out}/vocab.json and merges.txt from {gz_path}")


if __name__ == "__main__":
    main()
