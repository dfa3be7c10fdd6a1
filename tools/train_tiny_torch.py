"""Train tiny-shapes in torch on a GPU (open_clip's CLIP), exported through the project's converter.

    python tools/train_tiny_torch.py --out models/tiny-shapes --steps 8000 --batch 256 --device cuda

The same model, data, augmentation and loss as tools/train_tiny.py (the Paddle CPU trainer), with
batches made in worker processes (each batch is a function of the seed and its step number, so the
run is deterministic however many workers there are) and many more steps than a CPU allows. The
weights are converted from open_clip's layout to PaddleNLP's by indexer.model.convert and written in the
release layout, so the Paddle runtime loads them like any other model directory.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from pathlib import Path

import numpy as np
from train_tiny import ARCH, IMAGE_IMAGE_WEIGHT, Batches, add_recipe_options, schedule

from indexer.model.convert import open_clip_to_paddle
from indexer.model.directory import architecture, bpe_dir, write_model_dir
from indexer.model.runtimes.torch import open_clip_cfg
from indexer.model.state import state_shapes
from indexer.model.tokenizer import Tokenizer
from indexer.sources import synthetic

ROOT = Path(__file__).resolve().parents[1]

_batches: Batches | None = None


def _sample(args: tuple[int, int]):
    return synthetic.sample(*args)


def _init(batches: Batches) -> None:
    global _batches
    _batches = batches


def _batch_at(step: int):
    """The batch of one step, from its own RNG: the same whatever process makes it."""
    _batches.rng = np.random.default_rng([_batches.seed, step])
    return _batches.next()


def contrastive(torch, a, b, scale):
    logits = scale * a @ b.T
    labels = torch.arange(a.shape[0], device=a.device)
    f = torch.nn.functional
    return (f.cross_entropy(logits, labels) + f.cross_entropy(logits.T, labels)) / 2


def pixels(torch, crops: np.ndarray, device: str):
    """float32 (n, 3, S, S) on the device from uint8 (n, S, S, 3) crops: normalised there, as preprocess does."""
    pre = architecture(ARCH).preprocess
    x = torch.from_numpy(crops).to(device, non_blocking=True).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor(pre.mean, device=device)[:, None, None]
    return (x - mean) / torch.tensor(pre.std, device=device)[:, None, None]


def step_loss(torch, model, view1, view2, ids, device):
    f = torch.nn.functional
    v1 = f.normalize(model.encode_image(pixels(torch, view1, device)), dim=-1)
    padded = np.zeros((len(ids), 77), np.int64)  # open_clip's text tower runs on the full context
    padded[:, : ids.shape[1]] = ids
    t = f.normalize(model.encode_text(torch.from_numpy(padded).to(device)), dim=-1)
    scale = model.logit_scale.clamp(max=math.log(100.0)).exp()
    if view2 is None:
        return contrastive(torch, v1, t, scale)
    v2 = f.normalize(model.encode_image(pixels(torch, view2, device)), dim=-1)
    text_terms = (contrastive(torch, v1, t, scale) + contrastive(torch, v2, t, scale)) / 2
    return text_terms + IMAGE_IMAGE_WEIGHT * contrastive(torch, v1, v2, scale)


def export(model, out: Path, arch: str = ARCH) -> Path:
    config = architecture(arch)
    weights = open_clip_to_paddle({k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()})
    return write_model_dir(out, config, {k: weights[k].astype(np.float16) for k in state_shapes(config)})


def train(args) -> Path:
    import open_clip
    import torch

    torch.manual_seed(args.seed)
    config = architecture(args.arch)
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    with context.Pool(args.workers) as pool:
        samples = pool.map(_sample, [(i, args.seed) for i in range(args.pool)], chunksize=256)
    tokenizer = Tokenizer.from_dir(bpe_dir())
    batches = Batches(samples, tokenizer, config.vision.image_size, args.batch, args.seed, args)
    batches.seed = args.seed
    model = open_clip.model.CLIP(**open_clip_cfg(config)).to(args.device).train()
    if args.logit_scale:
        model.logit_scale.data.fill_(math.log(args.logit_scale))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    print(f"pool of {len(samples)} samples in {time.perf_counter() - started:.0f} s", flush=True)
    with context.Pool(args.workers, initializer=_init, initargs=(batches,)) as pool:
        for step, batch in enumerate(pool.imap(_batch_at, range(args.steps), chunksize=4)):
            for group in opt.param_groups:
                group["lr"] = schedule(step, args.steps, args.lr, args.warmup)
            loss = step_loss(torch, model, *batch, args.device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            minutes = (time.perf_counter() - started) / 60
            if step % 250 == 0 or step == args.steps - 1:
                print(f"step {step:5d}  loss {loss.item():.4f}  {minutes:5.1f} min", flush=True)
            if step + 1 in args.save_at:
                export(model, args.out.with_name(f"{args.out.name}-step{step + 1}"), args.arch)
            if args.max_minutes and minutes > args.max_minutes:
                print(f"stopped at step {step} after {minutes:.1f} min (--max-minutes)", flush=True)
                break
    return export(model.eval(), args.out, args.arch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-shapes")
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--pool", type=int, default=100_000, help="generated training samples")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--save-at",
        type=lambda v: {int(s) for s in v.split(",") if s},
        default=set(),
        help="also write OUT-stepN after these step counts, e.g. 400,800",
    )
    add_recipe_options(parser)
    parser.add_argument("--workers", type=int, default=max(1, (multiprocessing.cpu_count() or 2) - 2))
    args = parser.parse_args()
    print(f"wrote {train(args)}")


if __name__ == "__main__":
    main()
