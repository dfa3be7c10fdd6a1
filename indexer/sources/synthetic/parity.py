"""Deterministic inputs for the model parity checks: 16 images and 16 texts that exercise the edges of
preprocessing and tokenisation (sizes, aspect ratios, greyscale, scripts, emoji, HTML entities, overlong text).

tools/make_golden.py runs open_clip on them; the parity tests run pixseek's runtimes on them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PARITY_TEXTS = [
    "a red circle",
    "two small blue squares on a yellow background",
    "A photo of a dog running on the beach at sunset!",
    "",
    "   lots   of\twhitespace\n here ",
    "café, naïve, façade — résumé",
    "東京の夜景",
    "emoji 🐶🏖️🌅 and 👩‍👩‍👧",
    "&amp; html &#39;entities&#39; &lt;b&gt;",
    "UPPER case Mixed CaSe",
    "numbers 1234567890 and 3.14159",
    "don't won't it's we're they've I'm you'll he'd",
    "a " * 100,  # longer than the context: truncated, end-of-text kept
    "a purple star at the top left of a black background",
    "Ελληνικά και русский текст",
    "!!!???...;;;:::",
]
PARITY_SEED = 20261127


def parity_images() -> list[Image.Image]:
    """16 RGB and greyscale images of varied sizes: gradients, noise and blocks."""
    rng = np.random.default_rng(PARITY_SEED)
    sizes = [
        (224, 224),
        (300, 200),
        (200, 300),
        (640, 480),
        (480, 640),
        (100, 60),
        (60, 100),
        (1000, 250),
        (250, 1000),
        (225, 223),
        (512, 512),
        (333, 777),
        (800, 600),
        (97, 131),
        (224, 300),
        (1024, 768),
    ]
    out = []
    for i, (w, h) in enumerate(sizes):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], axis=-1)
        noise = rng.normal(0, 25, (h, w, 3))
        x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
        base[y0 : y0 + h // 3, x0 : x0 + w // 3] = rng.integers(0, 255, 3)
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        image = Image.fromarray(arr, "RGB")
        out.append(image.convert("L") if i % 5 == 4 else image)
    return out
