"""A deterministic corpus of awkward texts for checking the CLIP tokenizer against open_clip's."""

from __future__ import annotations

import random

# Each group aims at one step of open_clip's pipeline: ftfy, html.unescape, whitespace, lowercasing,
# the word regex (letters, single digits, punctuation runs, contractions, specials) and byte-level BPE.
EDGES = [
    "",
    " ",
    "\t\n  \r\n",
    "\u3000\u00a0\u2028\x85",
    "\x1c\x1d\x1e\x1f",  # whitespace to str.split() but not to the regex \s
    "\u200b\u200d\ufeff",
    "\x00\x07\x7f",
    "a \ud800 b",  # a lone surrogate, which ftfy replaces before UTF-8 encoding
    "<start_of_text>",
    "<end_of_text>",
    "a photo of a <end_of_text> cat",
    "<START_OF_TEXT> shouting",
    "<\u017ftart_of_text>",  # long s: the regex matches it case-insensitively, the special lookup does not
    "<|startoftext|>",
    "<|endoftext|> after",
    "</w>",
]
HTML = ["&amp;", "&amp;amp;", "&amp;amp;amp;", "&#39;", "&lt;b&gt;bold&lt;/b&gt;", "&nbsp;", "&quot;hi&quot;"]
HTML += ["&#x1F600;", "&eacute;t&eacute;", "AT&T", "fish &chips", "&notanentity;", "&#0;", "&#128512;"]
MOJIBAKE = ["Ã©tÃ©", "doesnâ€™t", "â€œquotedâ€\x9d", "sÃ£o paulo", "Ã¼ber", "cafÃ©", "â€”dashâ€”"]
MOJIBAKE += ["ï»¿bom", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "ãƒ†ã‚¹ãƒˆ"]
CONTRACTIONS = ["it's", "don't", "we're", "I've", "I'm", "we'll", "he'd", "IT'S", "WE'LL", "rock 'n' roll"]
CONTRACTIONS += ["'s", "o'clock", "it\u2019s", "y'all'd've", "'tis", "''", "dogs'", "'re'", "ma'am"]
LATIN = ["café crème brûlée", "naïve façade", "cafe\u0301", "n\u0303o", "Z\u0351\u0352a\u0353l\u0354g\u0355o"]
LATIN += ["İstanbul", "ǅemal", "Straße", "ẞ", "ﬁne ﬂow", "ＦＵＬＬ ｗｉｄｔｈ", "Ørsted Åland", "Ąę ł"]
SCRIPTS = ["東京タワーの夜景", "猫が寝ている", "一只猫在沙发上", "고양이 사진", "قطة على الأريكة", "חתול"]
SCRIPTS += ["แมวนอนหลับ", "बिल्ली की तस्वीर", "Кошка на диване", "Γάτα στον καναπέ", "ፊደል", "ᚠᛇᚻ", "𝔣𝔯𝔞𝔨𝔱𝔲𝔯"]
EMOJI = ["🐱", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇫🇷", "1️⃣", "❤️", "👩🏿‍🚀", "🧑🏻‍🤝‍🧑🏾", "🐈‍⬛", "🫠", "☃"]
NUMBERS = ["1234567890", "3.14159", "1,000,000", "½ ¼", "x² + y³", "Ⅻ", "٣٤٥", "①②", "0x1F", "-42", "1e-9"]
NUMBERS += ["2024-01-31", "12:30pm", "৫", "𝟙𝟚"]
PUNCT = ["!!!???...", "---", "***", "@#$%^&*()", "a.b.c", "http://example.com/path?q=1&x=2", "C++", "#tag"]
PUNCT += ["user@example.com", "snake_case_name", "CamelCaseWords", "«guillemets»", "“curly” ‘quotes’", "…", "—"]
PUNCT += ["(nested [brackets {here}])", "\\back\\slash", "~/.config", ":-)", "¿qué?", "¡hola!", "a/b\\c|d"]
WORDS = ["cat", "dog", "photo", "sunset", "mountain", "bicycle", "red", "blurry", "vintage", "portrait"]
WORDS += ["supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis", "aaaaaaaaaaaa"]
WORDS += ["Glühwein", "jalapeño", "smörgåsbord", "xylophone", "qwertyuiop", "zzz", "antidisestablishment"]
TEMPLATES = ["a photo of {}", "{} on a table", "{} and {}", "A {} next to a {}", "{}", "{}, {} & {}"]
TEMPLATES += ["a blurry photo of the {}.", "{} {} {} {}", "there's a {} in my {}", "ITAP of a {}"]
SEPARATORS = [" ", "  ", "\t", "\n", "\r\n", "", ",", " &amp; ", "\u00a0", " - ", "...", "\u3000"]
GROUPS = [EDGES, HTML, MOJIBAKE, CONTRACTIONS, LATIN, SCRIPTS, EMOJI, NUMBERS, PUNCT, WORDS]
CASINGS = [str, str.upper, str.title, str.swapcase, str.lower, str.capitalize]


def long_texts() -> list[str]:
    """Return texts well past 77 tokens, where truncation decides the last token."""
    sentence = "a very detailed photograph of a red bicycle leaning against a brick wall at sunset, "
    return [sentence * 6, "a" * 500, "cat " * 120, "🐱" * 60, "東京" * 80, "&amp;" * 90, "x" * 76, "a " * 75]


def _fragment(rng: random.Random) -> str:
    """Return one fragment from a random group, in a random casing."""
    return rng.choice(CASINGS)(rng.choice(rng.choice(GROUPS)))


def _filled(rng: random.Random) -> str:
    """Return a template filled with fragments and joined to another by a random separator."""
    template = rng.choice(TEMPLATES)
    text = template.format(*(_fragment(rng) for _ in range(template.count("{}"))))
    if rng.random() < 0.3:
        text += rng.choice(SEPARATORS) + _fragment(rng)
    if rng.random() < 0.1:
        text = (text + rng.choice(SEPARATORS)) * rng.randint(5, 20)
    return text


def corpus(size: int = 1200, seed: int = 20240531) -> list[str]:
    """Return at least `size` distinct texts: every fixed example, long texts, then seeded mixtures."""
    texts = [t for group in GROUPS for t in group] + long_texts()
    rng = random.Random(seed)
    seen = dict.fromkeys(texts)
    while len(seen) < size:
        seen.setdefault(_filled(rng))
    return list(seen)
