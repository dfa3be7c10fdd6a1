"""Train the bundled tiny CLIP (models/tiny-shapes) on synthetic captioned shapes, in Paddle on the CPU.

    python tools/train_tiny.py --out /tmp/tiny-cpu --steps 900 --seed 0 [--views 1 --procs 2 --max-minutes 57]

Contrastive (CLIP) training of the "tiny-shapes" architecture (indexer/architectures/tiny-shapes.json:
PaddleNLP's CLIPModel, width 128, 4 layers per tower, 64 px images in 8 px patches) with the real CLIP
tokenizer. Each image is seen in two augmented views (crop, resize, JPEG re-encode, slight colour
jitter): both views are matched to the caption, and to each other, so that the image tower is stable
under the edits near-duplicate search must see (`--views 1`: one view, matched to the caption).
Deterministic from the seed (fixed thread count; `--procs 2` splits every batch between two
one-thread processes, 1.4x faster on 2 cores, the same steps up to rounding: see Peers). The towers
run through tools/tiny_towers.py, PaddleNLP's forward formulated for Paddle's CPU kernels (1.5x faster).
Writes a model directory in the release layout (weights stored as float16 to stay small).
"""

from __future__ import annotations

import argparse
import io
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import tiny_towers
from PIL import Image, ImageEnhance

from indexer.model.config import to_paddlenlp_dict
from indexer.model.directory import architecture, bpe_dir, write_model_dir
from indexer.model.runtimes.paddle import import_paddle
from indexer.model.state import state_shapes
from indexer.model.tokenizer import Tokenizer
from indexer.model.transform import normalize, resize_crop
from indexer.sources import synthetic

ROOT = Path(__file__).resolve().parents[1]

ARCH = "tiny-shapes"
IMAGE_IMAGE_WEIGHT = 0.5  # weight of the view-to-view term next to the image-to-text terms
COLOURS_PER_HARD_HALF = 2
PARTIAL_CAPTIONS = 0.4  # share of captions that name only some of the image's shapes
BACKGROUND_CAPTIONS = 0.08  # share of captions that name only the background
BACKGROUND_ONLY_FORMS = ("{a_bg} background", "{bg} background", "a plain {bg} background", "an empty {bg} background")


def augment(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random crop (70-100% of the area), maybe a resize, JPEG re-encode and slight colour jitter."""
    w, h = image.size
    scale, aspect = rng.uniform(0.7, 1.0), rng.uniform(0.85, 1.18)
    cw, ch = min(w, round(w * math.sqrt(scale * aspect))), min(h, round(h * math.sqrt(scale / aspect)))
    x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
    image = image.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.3:
        factor = rng.uniform(0.5, 1.5)
        image = image.resize((max(8, round(cw * factor)), max(8, round(ch * factor))), Image.BICUBIC)
    if rng.random() < 0.5:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=int(rng.integers(30, 95)))
        image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if rng.random() < 0.5:
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.9, 1.1))
        image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.9, 1.1))
    return image


def training_caption(sample, rng: np.random.Generator) -> str:
    """A true caption that may name only some of the shapes, or only the background.

    Users query for what an image contains, not for all it contains ("a red circle" must find an
    image that also holds a blue star). Trained only on complete captions, the model ranks a lone
    shape of the wrong kind above the named shape among several; partial captions teach presence.
    """
    draw = rng.random()
    if draw < BACKGROUND_CAPTIONS:
        form = str(rng.choice(BACKGROUND_ONLY_FORMS))
        bg = sample.background
        return form.format(bg=bg, a_bg=synthetic.with_article(bg))
    if draw > 1 - PARTIAL_CAPTIONS:
        groups = synthetic.by_colour_and_kind(sample.shapes)
        if len(groups) > 1:
            keep = rng.choice(len(groups), int(rng.integers(1, len(groups))), replace=False)
            named = [s for i in sorted(keep) for s in list(groups.values())[i]]
            return synthetic.caption(named, sample.background, rng)
    return synthetic.caption(sample.shapes, sample.background, rng)


def close_up(sample, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """One of the sample's shapes filling about half of a square crop, and a true caption of the crop.

    Shape is what the towers learn last: on the 64-pixel input a small shape spans two patches,
    and colour and background explain most captions long before shape does. Close-ups show each kind
    large, so its look is learned early and carried to small shapes in whole scenes (measured with
    the torch trainer on the CPU, 500 steps of 128: colour+shape precision@10 0.32 without, 0.34 /
    0.43 / 0.40 / 0.26 with a quarter / half / three quarters / all of the samples as close-ups).
    """
    i = int(rng.integers(len(sample.shapes)))
    x, y, width = sample.boxes[i]
    w, h = sample.image.size
    side = min(w, h, round(width * rng.uniform(1.7, 2.3)))
    left = min(max(0, round(x - side / 2 + rng.uniform(-0.1, 0.1) * width)), w - side)
    top = min(max(0, round(y - side / 2 + rng.uniform(-0.1, 0.1) * width)), h - side)
    crop = sample.image.crop((left, top, left + side, top + side))
    # In the crop the shape is large and central; other shapes may show at its edges, unnamed.
    shape = replace(sample.shapes[i], size="large", position="centre")
    return crop, synthetic.caption([shape], sample.background, rng)


class Batches:
    """Augmented (view, view, caption ids) batches drawn from a pool of generated samples.

    `rows`: the rows of every batch whose views this process makes and trains on (see Peers); every
    process draws the whole batch's samples, captions and per-row augmentation seeds from the same
    RNG, so the batches do not depend on how they are split.
    """

    def __init__(self, pool: list, tokenizer: Tokenizer, size: int, batch: int, seed: int, recipe=None, rows=None):
        self.pool, self.tokenizer, self.size, self.batch = pool, tokenizer, size, batch
        self.rows = rows if rows is not None else slice(None)
        self.views, self.hard_share = (recipe.views, recipe.hard_share) if recipe else (2, 0.5)
        self.close_ups = recipe.close_ups if recipe else 0.0
        self.rng = np.random.default_rng(seed)
        colours = sorted(synthetic.COLOURS)
        self.by_colour = {c: np.flatnonzero([c in {x.colour for x in s.shapes} for s in pool]) for c in colours}

    def _picks(self) -> np.ndarray:
        """Half the batch (hard_share) sharing a few shape colours, the rest at random: with colour alone
        unable to tell those captions apart, the towers must learn shape, size, count and position too."""
        chosen = self.rng.choice(sorted(self.by_colour), COLOURS_PER_HARD_HALF, replace=False)
        hard = np.unique(np.concatenate([self.by_colour[c] for c in chosen]))
        half = round(self.batch * self.hard_share)
        picks = self.rng.choice(hard, half, replace=False)
        rest = np.setdiff1d(np.arange(len(self.pool)), picks)
        return np.concatenate([picks, self.rng.choice(rest, self.batch - half, replace=False)])

    def _views(self, images: list[Image.Image], seeds: np.ndarray) -> list[np.ndarray | None]:
        """The first and second (or None) augmented views, uint8 (n, S, S, 3): 4x fewer bytes than
        float32 to pass between processes."""
        rngs = [np.random.default_rng(seed) for seed in seeds]
        views = [
            np.stack([resize_crop(augment(im, r), self.size) for im, r in zip(images, rngs, strict=True)])
            for _ in range(self.views)
        ]
        return views + [None] * (2 - len(views))

    def next(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(first views, second views or None with --views 1) of this process's rows, and the whole
        batch's caption token ids."""
        images, captions = [], []
        for i in self._picks():
            # A fresh true caption each time the image is drawn: more wordings than a fixed caption gives.
            if self.rng.random() < self.close_ups:
                image, text = close_up(self.pool[i], self.rng)
            else:
                image, text = self.pool[i].image, training_caption(self.pool[i], self.rng)
            images.append(image)
            captions.append(text)
        ids = self.tokenizer.tokenize(captions, 77)
        ids = ids[:, : int(ids.argmax(axis=1).max()) + 1]  # run at the batch's longest caption
        seeds = self.rng.integers(2**63, size=len(images))[self.rows]
        return *self._views(images[self.rows], seeds), ids


def add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """Options both trainers share beyond steps, batch and learning rate."""
    parser.add_argument("--arch", default=ARCH, help="architecture: a name in indexer/architectures or a .json path")
    parser.add_argument("--hard-share", type=float, default=0.5, help="share of a batch drawn sharing colours")
    parser.add_argument("--views", type=int, choices=(1, 2), default=2, help="augmented views per sample")
    parser.add_argument("--logit-scale", type=float, default=0, help="start the logit scale here (0: the config's)")
    parser.add_argument("--max-minutes", type=float, default=0, help="stop early (and still export) after this")
    parser.add_argument(
        "--close-ups",
        type=float,
        default=0.0,
        help="share of the samples shown as a close-up of one of their shapes (see close_up)",
    )


def build_model(paddle, seed: int, arch: str = ARCH):
    _, CLIPConfig, CLIPModel, _ = import_paddle()
    paddle.seed(seed)
    fields = {
        k: v for k, v in to_paddlenlp_dict(architecture(arch)).items() if k not in ("architectures", "model_type")
    }
    return CLIPModel(CLIPConfig(**fields))


def contrastive(paddle, a, b, scale):
    """Symmetric InfoNCE between two (n, d) unit-vector batches whose rows correspond."""
    import paddle.nn.functional as F

    logits = scale * paddle.matmul(a, b, transpose_y=True)
    labels = paddle.arange(a.shape[0], dtype="int64")
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class Peers:
    """Data parallel over processes of one machine, exact for the contrastive loss.

    Paddle's CPU kernels use two threads poorly (a step of 128 takes 1.44 s on 2 threads, 1.87 s on
    one, 0.88 s for 64 on one), so two one-thread processes with half a batch each go faster. Each
    embeds its share of the batch, the shares' embeddings are gathered (paddle.distributed over gloo),
    and each computes the loss over the whole batch, back-propagating only into its own embeddings;
    the sum of the processes' parameter gradients is then the one-process gradient (the logit scale,
    which every process sees whole, keeps its own). Same batches, same loss, same updates as one
    process, up to float rounding.
    """

    def __init__(self, dist):
        self.dist, self.rank, self.size = dist, dist.get_rank(), dist.get_world_size()

    def rows(self, n: int) -> slice:
        """This process's rows of a batch of n (contiguous, in rank order)."""
        return slice(n * self.rank // self.size, n * (self.rank + 1) // self.size)

    def gather(self, own):
        """The whole batch's rows: the other processes' as constants, this process's with their gradient."""
        import paddle

        parts = []
        self.dist.all_gather(parts, own.detach())
        return paddle.concat(parts[: self.rank] + [own] + parts[self.rank + 1 :], axis=0)

    def sum_gradients(self, model, ids: np.ndarray) -> None:
        """Sum the processes' gradients in one all-reduce; `ids`: the whole batch's caption token ids.

        Of the token embedding's 49,408 rows only those of the batch's tokens have gradients, so only
        they travel (25 MB a step otherwise, a tenth of the step's time).
        """
        import paddle

        rows = paddle.to_tensor(np.unique(ids))
        named = [(n, p) for n, p in model.named_parameters() if p.grad is not None and n != "logit_scale"]
        parts = [p.grad[rows] if "token_embedding" in n else p.grad for n, p in named]
        flat = paddle.concat([g.flatten() for g in parts])
        self.dist.all_reduce(flat)
        for (name, param), total in zip(named, paddle.split(flat, [int(g.numel()) for g in parts]), strict=True):
            if "token_embedding" in name:
                param.grad.set_value(paddle.scatter(param.grad, rows, total.reshape([len(rows), -1])))
            else:
                param.grad.set_value(total.reshape(param.grad.shape))

    def any(self, flag: bool) -> bool:
        """Whether any process says so (all stop at the same step when one runs out of time)."""
        import paddle

        value = paddle.to_tensor([int(flag)], dtype="int32")
        self.dist.all_reduce(value, op=self.dist.ReduceOp.MAX)
        return bool(value.item())


def step_loss(paddle, model, view1, view2, ids, pre, peers: Peers | None = None):
    """The batch's loss; `pre`: the architecture's PreprocessConfig (pixel mean and std)."""
    import paddle.nn.functional as F

    if peers is not None:
        ids = ids[peers.rows(len(ids))]  # the views are this process's rows already (Batches)

    # tiny_towers: PaddleNLP's forward of the model, formulated for Paddle's CPU kernels (1.5x faster)
    def image(view):
        v = F.normalize(tiny_towers.image_features(model, paddle.to_tensor(normalize(view, pre))), axis=-1)
        return v if peers is None else peers.gather(v)

    v1, t = image(view1), F.normalize(tiny_towers.text_features(model, ids), axis=-1)
    t = t if peers is None else peers.gather(t)
    scale = model.logit_scale.clip(max=math.log(100.0)).exp()
    if view2 is None:
        return contrastive(paddle, v1, t, scale)
    v2 = image(view2)
    text_terms = (contrastive(paddle, v1, t, scale) + contrastive(paddle, v2, t, scale)) / 2
    return text_terms + IMAGE_IMAGE_WEIGHT * contrastive(paddle, v1, v2, scale)


def schedule(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 5% of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def export(model, out: Path, arch: str = ARCH) -> Path:
    """Write the trained weights (float16) and the release-layout files to `out`."""
    config = architecture(arch)
    params = {k: v.numpy() for k, v in model.state_dict().items()}
    state = {k: params[k].astype(np.float16) for k in state_shapes(config)}
    return write_model_dir(out, config, state)


def train(args) -> Path:
    """Train (in --procs processes when more than one) and return the model directory written."""
    if args.procs == 1:
        return _train(args)
    import_paddle()  # sets MKL's fast path in the environment the processes inherit
    import paddle.distributed as dist

    dist.spawn(_train, args=(args,), nprocs=args.procs)
    return args.out


def _train(args) -> Path:
    paddle = import_paddle()[0]
    paddle.set_device("cpu")
    peers = None
    if args.procs > 1:
        import paddle.distributed as dist

        dist.init_parallel_env()
        peers = Peers(dist)
    lead = peers is None or peers.rank == 0
    paddle.base.core.set_num_threads(max(1, args.threads // args.procs))
    np.random.seed(args.seed)
    config = architecture(args.arch)
    started = time.perf_counter()
    pool = synthetic.generate(args.pool, seed=args.seed)
    # Every process draws the whole batch (the same as one process would) and trains on its share.
    rows = peers.rows(args.batch) if peers else None
    batches = Batches(pool, Tokenizer.from_dir(bpe_dir()), config.vision.image_size, args.batch, args.seed, args, rows)
    model = build_model(paddle, args.seed, args.arch)
    if args.logit_scale:
        model.logit_scale.set_value(paddle.full_like(model.logit_scale, math.log(args.logit_scale)))
    model.train()
    opt = paddle.optimizer.AdamW(learning_rate=args.lr, parameters=model.parameters(), weight_decay=0.05)
    say = print if lead else (lambda *a, **k: None)
    say(f"pool of {len(pool)} samples in {time.perf_counter() - started:.0f} s", flush=True)
    for step in range(args.steps):
        opt.set_lr(schedule(step, args.steps, args.lr, args.warmup))
        batch = batches.next()
        loss = step_loss(paddle, model, *batch, config.preprocess, peers=peers)
        loss.backward()
        if peers is not None:
            peers.sum_gradients(model, batch[2])
        opt.step()
        opt.clear_grad()
        if step % 25 == 0 or step == args.steps - 1:
            minutes = (time.perf_counter() - started) / 60
            say(f"step {step:5d}  loss {float(loss):.4f}  {minutes:5.1f} min", flush=True)
        if lead and args.save_every and step and step % args.save_every == 0:
            export(model, args.out, args.arch)  # a usable model at any time, e.g. to evaluate while training runs
        late = bool(args.max_minutes) and time.perf_counter() - started > args.max_minutes * 60
        if peers is not None:
            late = peers.any(late)
        if late:
            say(f"stopped after step {step} at {args.max_minutes} min (--max-minutes)", flush=True)
            break
    model.eval()
    return export(model, args.out, args.arch) if lead else args.out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "tiny-shapes")
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--pool", type=int, default=20000, help="generated training samples")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads in all, shared among the processes")
    parser.add_argument(
        "--procs", type=int, default=1, help="processes, each training on a share of every batch (see Peers)"
    )
    add_recipe_options(parser)
    parser.add_argument("--save-every", type=int, default=0, help="also write the model every N steps")
    args = parser.parse_args()
    if args.procs < 1 or args.batch % args.procs:
        parser.error("--batch must be a multiple of --procs")  # the processes gather equal shares
    print(f"wrote {train(args)}")


if __name__ == "__main__":
    main()
