"""The hand-written CLIP tokenizer against open_clip's and PaddleNLP's, and its refusal of bad files.

The files under models/clip-bpe/ come from `python tools/make_bpe_files.py`.
"""

from __future__ import annotations

import html
import importlib.util
import json
import shutil
from pathlib import Path

import ftfy
import numpy as np
import pytest
import regex
from tokenizer_corpus import corpus

from indexer.errors import BadModelFile
from indexer.model.tokenizer import Tokenizer, clean

ROOT = Path(__file__).resolve().parents[1]
BPE_DIR = ROOT / "models" / "clip-bpe"

# Where PaddleNLP's CLIPTokenizer legitimately gives other ids than open_clip's (and ours), and why.
_OPEN_CLIP_SPECIAL = regex.compile(r"<start_of_text>|<end_of_text>", regex.IGNORECASE)
_PADDLE_SPECIAL = regex.compile(r"<\|startoftext\|>|<\|endoftext\|>", regex.IGNORECASE)
PADDLE_DIFFERENCES = {
    # open_clip reads its own spellings in the text as sot/eot, and (IGNORECASE) also variants such as
    # "<ſtart_of_text>", which it then keeps as one BPE word where PaddleNLP splits off "<".
    "open_clip special spelling": lambda t: bool(_OPEN_CLIP_SPECIAL.search(clean(t))),
    # PaddleNLP reads "<|startoftext|>" / "<|endoftext|>" in the text, any case, as its bos/eos.
    "PaddleNLP special spelling": lambda t: bool(_PADDLE_SPECIAL.search(t.lower())),
    # open_clip runs html.unescape twice after ftfy; PaddleNLP only ftfy, which leaves entities alone in
    # text containing "<" and ignores those without ";" such as "&not" (html.unescape reads "&notan" as "¬an").
    "html.unescape": lambda t: html.unescape(html.unescape(ftfy.fix_text(t))) != ftfy.fix_text(t),
}


def _paddle_difference(text: str) -> str | None:
    """Return the documented reason PaddleNLP may tokenize text differently, or None."""
    return next((reason for reason, applies in PADDLE_DIFFERENCES.items() if applies(text)), None)


def _paddle_ids(paddle_tokenizer, text: str) -> list[int]:
    """Return PaddleNLP's BPE ids for text, without the bos/eos it adds when called."""
    return paddle_tokenizer.convert_tokens_to_ids(paddle_tokenizer.tokenize(text))


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.from_dir(BPE_DIR)


@pytest.fixture(scope="module")
def open_clip_tokenizer():
    open_clip = pytest.importorskip("open_clip")
    return open_clip.get_tokenizer("ViT-g-14")


@pytest.fixture(scope="module")
def paddle_tokenizer():
    pytest.importorskip("paddlenlp")
    from paddlenlp.transformers import CLIPTokenizer

    return CLIPTokenizer(str(BPE_DIR / "vocab.json"), str(BPE_DIR / "merges.txt"))


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A copy of the BPE files that a test may spoil."""
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(BPE_DIR / name, tmp_path / name)
    return tmp_path


def test_tokenizer_matches_open_clip_on_corpus(tokenizer, open_clip_tokenizer):
    texts = corpus()
    ours, theirs = tokenizer.tokenize(texts), open_clip_tokenizer(texts).numpy()
    differing = [t for t, a, b in zip(texts, ours, theirs, strict=True) if not np.array_equal(a, b)]
    print(f"{len(texts) - len(differing)}/{len(texts)} texts tokenised as open_clip does")
    assert len(texts) >= 1000
    assert differing == []


def test_tokenizer_returns_int64_rows_of_context_length(tokenizer):
    ids = tokenizer.tokenize(["a cat", ""], context_length=8)
    assert ids.dtype == np.int64 and ids.shape == (2, 8)
    assert ids.tolist() == [[49406, 320, 2368, 49407, 0, 0, 0, 0], [49406, 49407, 0, 0, 0, 0, 0, 0]]


def test_encode_gives_known_clip_ids_without_open_clip(tokenizer):
    """Ids printed by open_clip.get_tokenizer("ViT-g-14").encode, so this runs where open_clip is absent."""
    assert tokenizer.encode("a photo of a cat") == [320, 1125, 539, 320, 2368]
    assert tokenizer.encode("It's 2 DOGS &amp; a 🐱!") == [585, 568, 273, 3255, 261, 320, 35710, 256]
    assert tokenizer.encode("東京") == [48338, 21078, 361]
    assert tokenizer.encode(" \t\n") == []


def test_special_ids_and_vocab_size_are_clips(tokenizer):
    assert (tokenizer.sot_id, tokenizer.eot_id, tokenizer.vocab_size) == (49406, 49407, 49408)


def test_truncation_keeps_eot_as_last_token(tokenizer):
    text = "a very detailed photograph of a red bicycle leaning against a brick wall at sunset, " * 6
    row = tokenizer.tokenize([text])[0]
    assert row[0] == tokenizer.sot_id and row[-1] == tokenizer.eot_id
    assert row[1:-1].tolist() == tokenizer.encode(text)[:75]


def test_truncated_is_true_only_past_context_length(tokenizer):
    assert len(tokenizer.encode("a " * 75)) == 75
    assert not tokenizer.truncated("a " * 75)
    assert tokenizer.truncated("a " * 76)
    assert tokenizer.truncated("a cat", context_length=3)


def test_tokenize_refuses_a_bare_string(tokenizer):
    with pytest.raises(TypeError, match="sequence of texts"):
        tokenizer.tokenize("a cat")


def test_vocab_json_has_open_clip_ids_under_hugging_face_special_names(open_clip_tokenizer):
    renamed = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    expected = {renamed.get(token, token): i for token, i in open_clip_tokenizer.encoder.items()}
    assert json.loads((BPE_DIR / "vocab.json").read_text(encoding="utf-8")) == expected


def test_committed_bpe_files_are_what_make_bpe_files_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_bpe_files", ROOT / "tools" / "make_bpe_files.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(["--out", str(tmp_path)])
    for name in ("vocab.json", "merges.txt"):
        assert (tmp_path / name).read_bytes() == (BPE_DIR / name).read_bytes(), name


def test_paddlenlp_clip_tokenizer_gives_the_same_ids_from_these_files(tokenizer, paddle_tokenizer):
    texts = [t for t in corpus() if _paddle_difference(t) is None]
    differing = [t for t in texts if _paddle_ids(paddle_tokenizer, t) != tokenizer.encode(t)]
    left_out = len(corpus()) - len(texts)
    print(f"{len(texts) - len(differing)}/{len(texts)} texts as PaddleNLP ({left_out} documented differences left out)")
    assert len(texts) >= 900
    assert differing == []


def test_paddlenlp_adds_the_same_start_and_end_ids(tokenizer, paddle_tokenizer):
    assert paddle_tokenizer("a cat")["input_ids"] == tokenizer.tokenize(["a cat"], context_length=4)[0].tolist()


@pytest.mark.parametrize(
    "text",
    ["a <end_of_text> cat", "<ſtart_of_text>", "<|endoftext|> after", "&notanentity;", "<b>&amp;</b>"],
)
def test_paddlenlp_differs_from_open_clip_where_documented(text, tokenizer, paddle_tokenizer, open_clip_tokenizer):
    assert _paddle_difference(text) is not None
    assert tokenizer.encode(text) == open_clip_tokenizer.encode(text)
    assert _paddle_ids(paddle_tokenizer, text) != tokenizer.encode(text)


def test_missing_vocab_json_is_refused_naming_the_file(model_dir):
    (model_dir / "vocab.json").unlink()
    with pytest.raises(BadModelFile, match=r"vocab\.json: missing"):
        Tokenizer.from_dir(model_dir)


def test_vocab_json_that_is_a_list_is_refused(model_dir):
    (model_dir / "vocab.json").write_text('["a", "b"]', encoding="utf-8")
    with pytest.raises(BadModelFile, match=r"vocab\.json: not a JSON object of token -> integer id"):
        Tokenizer.from_dir(model_dir)


def test_vocab_json_without_special_tokens_is_refused(model_dir):
    vocab = json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))
    vocab["<|sot|>"] = vocab.pop("<|startoftext|>")
    (model_dir / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(BadModelFile, match=r"vocab\.json: not a CLIP BPE vocabulary: no '<\|startoftext\|>'"):
        Tokenizer.from_dir(model_dir)


def test_vocab_json_with_ids_out_of_range_is_refused(model_dir):
    vocab = json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))
    vocab["<|endoftext|>"] = 10**6
    (model_dir / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(BadModelFile, match=r"vocab\.json: ids are not 0\.\.49407, each once"):
        Tokenizer.from_dir(model_dir)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (bytes(range(256)) * 4, "not UTF-8 text"),
        (b"PK\x03\x04 this is a zip file", "first line is not a '#version: ...' header"),
        (b"#version: 0.2\ni n\nt h e\n", "line 3 is not two symbols"),
        (b"#version: 0.2\nqqqq zzzz\n", "line 2 merges 'qqqq' 'zzzz', not all in vocab.json"),
        (b"#version: 0.2\ni n\n", "1 merges do not fit vocab.json's 49408 tokens"),
    ],
)
def test_garbage_merges_txt_is_refused_naming_the_file(model_dir, content, reason):
    (model_dir / "merges.txt").write_bytes(content)
    with pytest.raises(BadModelFile) as caught:
        Tokenizer.from_dir(model_dir)
    assert str(caught.value).startswith(f"{model_dir / 'merges.txt'}: {reason}")
