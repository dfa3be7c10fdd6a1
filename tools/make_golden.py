"""Write the open_clip reference vectors for the ViT-g/14-narrow parity test.

    python tools/make_golden.py            # writes tests/data/golden-vit-g-14-narrow.npz

The model is the "vit-g-14-narrow" architecture (ViT-g/14's widths, heads, MLP sizes and gelu,
2 layers per tower) with `layout.random_state(config, seed=0)`. The reference is open_clip's own
path end to end: `open_clip.model.CLIP` built with a normal init and loaded strictly, open_clip's
eval transform for ViT-g-14 and its tokenizer padded to 77 tokens.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from indexer.model.convert import paddle_to_open_clip
from indexer.model.directory import architecture
from indexer.model.runtimes.torch import open_clip_cfg
from indexer.model.state import random_state
from indexer.sources.synthetic import PARITY_TEXTS, parity_images

ROOT = Path(__file__).resolve().parents[1]

WEIGHTS_SEED = 0


def reference_vectors(config, state) -> tuple[np.ndarray, np.ndarray]:
    """(image vectors, text vectors), each (16, dim), L2-normalised, from open_clip."""
    import open_clip
    import torch

    model = open_clip.model.CLIP(**open_clip_cfg(config)).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in paddle_to_open_clip(state).items()}, strict=True)
    transform = open_clip.image_transform(config.vision.image_size, is_train=False)
    tokenizer = open_clip.get_tokenizer("ViT-g-14")
    with torch.no_grad():
        pixels = torch.stack([transform(im) for im in parity_images()])
        image = model.encode_image(pixels, normalize=True).numpy()
        text = model.encode_text(tokenizer(PARITY_TEXTS), normalize=True).numpy()
    return image.astype(np.float32), text.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit-g-14-narrow")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    config = architecture(args.arch)
    state = random_state(config, seed=WEIGHTS_SEED)
    image, text = reference_vectors(config, state)
    out = args.out or ROOT / "tests" / "data" / f"golden-{args.arch}.npz"
    np.savez(
        out,
        image=image,
        text=text,
        weights_seed=WEIGHTS_SEED,
        weights_checksum=np.float64(sum(float(np.abs(v).sum()) for v in state.values())),
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
