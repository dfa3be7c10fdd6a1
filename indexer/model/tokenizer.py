"""CLIP's byte-level BPE tokenizer, read from a model directory's vocab.json and merges.txt.

Hand-written rather than borrowed: open_clip's tokenizer imports torch and PaddleNLP's imports paddle,
and tokenising a query must work with either runtime installed, or neither. It gives the ids of
open_clip's SimpleTokenizer with its default 'lower' cleaning (tests/test_tokenizer.py checks a corpus).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import ftfy
import numpy as np
import regex
from numpy.typing import NDArray

from indexer.errors import BadModelFile

TokenIds = NDArray[np.int64]  # (n, context_length): [sot, ids..., eot, 0...]

SOT, EOT = "<|startoftext|>", "<|endoftext|>"
# open_clip spells its specials this way and turns them into their ids when a text contains them.
_OPEN_CLIP_SPECIALS = {"<start_of_text>": SOT, "<end_of_text>": EOT}
_WORDS = regex.compile(
    r"""<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)
# CLIP's vocab.json is 0.9 MB and merges.txt 0.5 MB; a million-token BPE stays well under this.
MAX_FILE_BYTES = 64 << 20
_CACHE_WORDS = 1 << 16  # bounded, unlike open_clip's dict: a search server sees endless new words


@lru_cache(maxsize=1)
def byte_symbols() -> dict[int, str]:
    """Return byte -> the printable character that stands for it in the vocabulary."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {b: chr(b) for b in printable} | {b: chr(256 + n) for n, b in enumerate(others)}


def clean(text: str) -> str:
    """Return text as open_clip's 'lower' cleaning leaves it: fixed, unescaped, spaces collapsed, lowercase."""
    text = html.unescape(html.unescape(ftfy.fix_text(text)))
    return " ".join(text.split()).lower()


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    """Return word with every non-overlapping occurrence of pair, left to right, joined into one symbol."""
    out: list[str] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


class Tokenizer:
    """Text -> CLIP token ids; build it with Tokenizer.from_dir(model_dir)."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self._vocab = vocab
        self._ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.sot_id, self.eot_id = vocab[SOT], vocab[EOT]
        self.vocab_size = len(vocab)
        self._word_ids = lru_cache(maxsize=_CACHE_WORDS)(self._word_ids_uncached)

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> Tokenizer:
        """Read model_dir/vocab.json and model_dir/merges.txt; BadModelFile if either is not CLIP's BPE."""
        vocab_path, merges_path = Path(model_dir) / "vocab.json", Path(model_dir) / "merges.txt"
        vocab = _read_vocab(vocab_path)
        merges = _read_merges(merges_path)
        _check_merges_in_vocab(merges, vocab, merges_path)
        return cls(vocab, merges)

    def encode(self, text: str) -> list[int]:
        """Return the BPE ids of text, without sot/eot."""
        return [i for word in _WORDS.findall(clean(text)) for i in self._word_ids(word)]

    def tokenize(self, texts: Sequence[str], context_length: int = 77) -> TokenIds:
        """Return (len(texts), context_length) int64 rows [sot, ids, eot, 0...]; too long keeps eot last."""
        if isinstance(texts, str):
            raise TypeError("tokenize takes a sequence of texts; wrap a single text in a list")
        if context_length < 1:
            raise ValueError(f"context_length must be at least 1, got {context_length}")
        out = np.zeros((len(texts), context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = self._fit([self.sot_id, *self.encode(text), self.eot_id], context_length)
            out[row, : len(ids)] = ids
        return out

    def truncated(self, text: str, context_length: int = 77) -> bool:
        """Return whether text with sot and eot is longer than context_length tokens."""
        return len(self.encode(text)) + 2 > context_length

    def _fit(self, ids: list[int], context_length: int) -> list[int]:
        """Cut ids to context_length, ending on eot as open_clip does."""
        if len(ids) <= context_length:
            return ids
        return [*ids[: context_length - 1], self.eot_id]

    def _word_ids_uncached(self, word: str) -> tuple[int, ...]:
        """Return the ids of one regex word of cleaned text."""
        if word in _OPEN_CLIP_SPECIALS:
            return (self._vocab[_OPEN_CLIP_SPECIALS[word]],)
        symbols = byte_symbols()
        return tuple(self._vocab[s] for s in self._bpe("".join(symbols[b] for b in word.encode("utf-8"))))

    def _bpe(self, token: str) -> tuple[str, ...]:
        """Return the symbols of token after applying merges, lowest rank first, until none applies."""
        word = (*token[:-1], token[-1] + "</w>")
        while len(word) > 1:
            pair = min(pairwise(word), key=lambda p: self._ranks.get(p, math.inf))
            if pair not in self._ranks:
                break
            word = _merge(word, pair)
        return word


def _read_text(path: Path) -> str:
    """Return the UTF-8 text of a tokenizer file, or BadModelFile saying why not (checked in size before read)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadModelFile(str(path), f"{size} bytes is too large for a tokenizer file; not read")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadModelFile(str(path), "missing; a CLIP model directory needs vocab.json and merges.txt") from None
    except UnicodeDecodeError:
        raise BadModelFile(str(path), "not UTF-8 text; is this really a tokenizer file?") from None
    except OSError as e:
        raise BadModelFile(str(path), f"cannot read: {e.strerror or e}") from None


def _read_vocab(path: Path) -> dict[str, int]:
    """Return vocab.json as token -> id, checked to be CLIP's: ids 0..n-1, byte symbols and specials present."""
    try:
        vocab = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise BadModelFile(str(path), f"not JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise BadModelFile(str(path), "not JSON that a vocabulary could be (nested too deeply)") from None
    if not isinstance(vocab, dict) or not all(type(i) is int for i in vocab.values()):
        raise BadModelFile(str(path), "not a JSON object of token -> integer id")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise BadModelFile(str(path), f"ids are not 0..{len(vocab) - 1}, each once")
    symbols = list(byte_symbols().values())
    missing = [t for t in [SOT, EOT, *symbols, *(s + "</w>" for s in symbols)] if t not in vocab]
    if missing:
        raise BadModelFile(str(path), f"not a CLIP BPE vocabulary: no {missing[0]!r} (and {len(missing) - 1} more)")
    return vocab


def _read_merges(path: Path) -> list[tuple[str, str]]:
    """Return merges.txt as (left, right) pairs in rank order; the first line must be '#version: ...'."""
    lines = _read_text(path).rstrip("\n").split("\n")
    if not lines[0].startswith("#version:"):
        raise BadModelFile(str(path), "first line is not a '#version: ...' header; not a BPE merges file")
    merges = [tuple(line.split()) for line in lines[1:]]  # split() as open_clip and PaddleNLP read it
    bad = next((n for n, m in enumerate(merges, start=2) if len(m) != 2), None)
    if bad is not None:
        raise BadModelFile(str(path), f"line {bad} is not two symbols separated by a space")
    return merges  # type: ignore[return-value]  # every tuple has two items, checked above


def _check_merges_in_vocab(merges: list[tuple[str, str]], vocab: dict[str, int], path: Path) -> None:
    """Refuse merges whose symbols the vocabulary lacks, or a vocabulary sized for other merges."""
    for n, (left, right) in enumerate(merges, start=2):
        if left not in vocab or right not in vocab or left + right not in vocab:
            raise BadModelFile(str(path), f"line {n} merges {left!r} {right!r}, not all in vocab.json")
    if len(vocab) != 512 + len(merges) + 2:
        raise BadModelFile(str(path), f"{len(merges)} merges do not fit vocab.json's {len(vocab)} tokens")
