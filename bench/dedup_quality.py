"""Near-identical tier quality per transform family: thresholds chosen on one set, figures reported on another.

    python bench/dedup_quality.py            # a few minutes on 2 cores; writes bench/results/dedup_quality.json

Families (issue 22): JPEG q30-q90, resize 0.25-2x, centre crop 5-10%, flip (mirror, upside down), rotate
90/180/270, brightness/contrast +-20%, a small text overlay (a caption bar along the bottom edge).
Tuning set: synthetic shapes of one seed and procedural colour fields, with their copies, recoloured twins and
burst-like crops. Report set, never seen by the tuning: scikit-image's 20 bundled photos and shapes of another
seed, with their copies, plus pairs made to look alike: each shape recoloured (same shapes and layout, other
colours), the stereo motorcycle pair, and two overlapping crops of each photo shifted by 30% of its width
(distinct photos, like a burst).
Both sets are indexed (with --model): the embedding neighbours are candidates too.
Tuning compares the pairs of the loosest candidates once and sweeps fine_bits (upright) x max_changed on them,
turned_bits held at its default; among the settings without a false pair (PRECISION) it takes those with the
best worst-family recall and picks the strictest (furthest from the precision cliff). At that pick it sweeps
the candidate sources, phash_bits x neighbours, and of those as good keeps the loosest (furthest from the
recall cliff; the cheapest of the tie, 12 bits and 3 neighbours, found 0.925 of the report set's captioned
shapes); the grid stops where candidates start to cost (pHash within 20 bits triples them; a neighbour adds
about one pair per image and every image is read once any is asked for).
The report indexes its set and runs find_groups with the defaults in search.dedup (which should be the pick),
counting every pair put in one group: recall per family (of (original, copy) pairs), precision over all pairs
of distinct images; candidate_recall: the same families' pairs among the candidates before the pixel check.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
from common import emit, machine
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from indexer.library import session
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from indexer.sources.synthetic import PHOTOS, STEREO, photo, procedural
from search import Searcher
from search.dedup import DedupSettings, find_groups
from search.likeness import SMALL_SIDE, SMALL_STEP
from search.members import load_members
from search.near_identical import PixelCheck, candidate_pairs

REAL_PHOTOS = (*PHOTOS, "microaneurysms", *STEREO)  # 20 photos bundled in scikit-image's wheel
PRECISION = 1.0
FINE_BITS = tuple(range(24, 105, 8))
MAX_CHANGED = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05)
PHASH_BITS = (4, 8, 12, 16)
NEIGHBOURS = (0, 3, 5, 10)
PICKED = ("phash_bits", "neighbours", "fine_bits", "max_changed")  # what the tuning chooses


def _jpeg(q):
    return lambda im: (im, q)


def _scaled(s):
    return lambda im: (im.resize((max(8, round(im.width * s)), max(8, round(im.height * s))), Image.BICUBIC), 95)


def _cropped(share):
    def crop(im):
        dx, dy = round(im.width * share / 2), round(im.height * share / 2)
        return im.crop((dx, dy, im.width - dx, im.height - dy)), 95

    return crop


def _caption(im):
    out = im.convert("RGB")
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, out.height - out.height // 10, out.width, out.height), fill=(0, 0, 0))
    draw.text((4, out.height - out.height // 10 + 1), "(c) pixseek 2026", fill=(255, 255, 255))
    return out, 95


FAMILIES = {
    "jpeg": {f"q{q}": _jpeg(q) for q in (30, 50, 70, 90)},
    "resize": {f"x{s}": _scaled(s) for s in (0.25, 0.5, 1.5, 2)},
    "crop": {f"crop{p}": _cropped(p / 100) for p in (5, 10)},
    "flip": {"mirror": lambda im: (ImageOps.mirror(im), 95), "upside": lambda im: (ImageOps.flip(im), 95)},
    "rotate": {f"rot{a}": (lambda im, a=a: (im.rotate(a, expand=True), 95)) for a in (90, 180, 270)},
    "light": {
        **{f"bright{f}": (lambda im, f=f: (ImageEnhance.Brightness(im).enhance(f), 95)) for f in (0.8, 1.2)},
        **{f"contrast{f}": (lambda im, f=f: (ImageEnhance.Contrast(im).enhance(f), 95)) for f in (0.8, 1.2)},
    },
    "text": {"caption": _caption},
}


class Truth:
    """Which base each file shows, its family, and pairs not to count (a burst crop against its photo)."""

    def __init__(self):
        self.base: dict[str, str] = {}
        self.family: dict[str, str] = {}
        self.kind: dict[str, str] = {}
        self.ignored: set[tuple[str, str]] = set()

    def add(self, path: Path, base: str, family: str, kind: str) -> None:
        self.base[str(path)], self.family[str(path)], self.kind[str(path)] = base, family, kind


def _save(image: Image.Image, path: Path, quality: int | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    image.save(path, quality=quality) if quality else image.save(path)
    return path


def _with_copies(truth: Truth, root: Path, name: str, image: Image.Image, kind: str) -> None:
    truth.add(_save(image, root / name / f"{name}.png", None), name, "original", kind)
    for family, transforms in FAMILIES.items():
        for label, transform in transforms.items():
            copy, quality = transform(image.convert("RGB"))
            truth.add(_save(copy, root / name / f"{name}_{label}.jpg", quality), name, family, kind)


def _recoloured(image: Image.Image, shift: int) -> Image.Image | None:
    """The picture with its hues turned (same layout, other colours), or None when that changes little."""
    h, s, v = image.convert("RGB").convert("HSV").split()
    out = Image.merge("HSV", (h.point(lambda x: (x + shift) % 256), s, v)).convert("RGB")
    diff = np.abs(np.asarray(out, np.int16) - np.asarray(image.convert("RGB"), np.int16)).mean()
    return out if diff > 10 else None


def _bursts(truth: Truth, root: Path, name: str, image: Image.Image, kind: str) -> None:
    """Two crops of 70% of the width, 30% apart: distinct photos; not counted against their source."""
    w, h = image.size
    width = int(w * 0.7)
    for k, left in enumerate((0, int(w * 0.3))):
        path = _save(image.crop((left, 0, left + width, h)), root / f"burst-{name}" / f"{k}.png", None)
        truth.add(path, f"burst-{name}-{k}", "burst", kind)
        truth.ignored |= {(str(path), p) for p, b in truth.base.items() if b == name}


def build(root: Path, which: str, n_shapes: int) -> Truth:
    truth = Truth()
    seed = 11 if which == "tune" else 2026
    shapes = [(f"shape-{i}", synthetic.sample(i, seed).image) for i in range(n_shapes)]
    others = [(f"photo-{n}", photo(n)) for n in REAL_PHOTOS] if which == "report" else []
    others += [(f"proc-{i}", procedural(i)) for i in range(20)] if which == "tune" else []
    kind_of = {"shape": "shapes", "photo": "photos", "proc": "procedural"}
    for name, image in shapes + others:
        _with_copies(truth, root, name, image, kind_of[name.split("-")[0]])
    for name, image in shapes:
        for shift in (85, 170):
            if (twin := _recoloured(image, shift)) is not None:
                truth.add(_save(twin, root / "recoloured" / f"{name}-{shift}.png", None), f"{name}-{shift}", "twin", "")
    for name, image in others:
        _bursts(truth, root, name, image, "")
    if which == "tune":
        for i in range(10):
            for k in (0, 1):
                twin = procedural(3000 + i, ellipses_seed=k)
                truth.add(_save(twin, root / "twins" / f"{i}-{k}.png", None), f"twin-{i}-{k}", "twin", "")
    return truth


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def scores(pairs: set[tuple[str, str]], truth: Truth) -> dict:
    """Recall per kind and family of (original, copy) pairs; precision over all pairs of distinct images."""
    pairs = {p for p in pairs if p not in truth.ignored and p[::-1] not in truth.ignored}
    originals = {truth.base[p]: p for p, f in truth.family.items() if f == "original"}
    out: dict = {}
    for kind in sorted({k for k in truth.kind.values() if k}):
        for family in FAMILIES:
            copies = [p for p, f in truth.family.items() if f == family and truth.kind[p] == kind]
            wanted = {_key(originals[truth.base[c]], c) for c in copies}
            out.setdefault(kind, {})[family] = round(len(wanted & pairs) / len(wanted), 3)
    same = [truth.base[a] == truth.base[b] for a, b in pairs]
    wrong = sorted(p for p, ok in zip(pairs, same, strict=True) if not ok)
    out["pairs"], out["false_pairs"] = len(pairs), len(wrong)
    out["precision"] = round(sum(same) / len(pairs), 4) if pairs else None
    out["false_examples"] = [[Path(a).name, Path(b).name] for a, b in wrong[:5]]
    out["lookalike_pairs_joined"] = sum(
        1 for a, b in wrong if {truth.family[a], truth.family[b]} & {"twin", "burst"} or "motorcycle" in a + b
    )
    return out


def _worst_recall(result: dict) -> float:
    return min(v for kind, fams in result.items() if isinstance(fams, dict) for v in fams.values())


def _recall(result: dict) -> dict:
    return {k: v for k, v in result.items() if isinstance(v, dict)}


def _library_images(library: Path) -> tuple[Searcher, dict[int, list[str]], dict[int, str | None]]:
    """The indexed library's searcher, its files per image id and each image's 64-bit pHash."""
    searcher = Searcher(library)
    with session(searcher.db) as s:
        members = load_members(s)
    paths: dict[int, list[str]] = defaultdict(list)
    for m in members:
        paths[m.image_id].append(m.path)
    return searcher, paths, {m.image_id: m.phash for m in members}


def _path_pairs(pairs, paths: dict[int, list[str]]) -> set[tuple[str, str]]:
    """Every pair of files of two paired images, and of the files of one image (exact copies)."""
    out = {
        _key(x, y)
        for a, b in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)
        for x in paths[a]
        for y in paths[b]
    }
    return out | {_key(x, y) for files in paths.values() for x, y in combinations(files, 2)}


def tune(root: Path, library: Path, truth: Truth, model: str, turned_bits: int) -> dict:
    """Index the tuning set; compare the pairs of the loosest candidates once (search.near_identical's PixelCheck
    keeps them), sweep fine_bits x max_changed on those, then the candidate sources at that pick."""
    index([root], library, model, IndexSettings(workers=1))
    searcher, paths, hashes = _library_images(library)
    check = PixelCheck(lambda i: paths[i][0], max(FINE_BITS))
    candidates = {(p, k): candidate_pairs(searcher, hashes, p, k) for p in PHASH_BITS for k in NEIGHBOURS}

    def run(phash_bits: int, neighbours: int, fine_bits: int, max_changed: float) -> dict:
        setting = {
            "phash_bits": phash_bits,
            "neighbours": neighbours,
            "fine_bits": fine_bits,
            "max_changed": max_changed,
        }
        accept = DedupSettings(**setting, turned_bits=turned_bits).alike
        result = scores(_path_pairs(check.pairs(candidates[phash_bits, neighbours], accept), paths), truth)
        size = len(candidates[phash_bits, neighbours][0])
        return {**setting, "candidates": size, "worst_recall": _worst_recall(result), **result}

    loosest = (max(PHASH_BITS), max(NEIGHBOURS))
    thresholds = [run(*loosest, bits, changed) for bits in FINE_BITS for changed in MAX_CHANGED]
    pick = _best(thresholds, key=lambda r: (r["fine_bits"], r["max_changed"]))  # the strictest
    sources = [run(p, k, pick["fine_bits"], pick["max_changed"]) for p in PHASH_BITS for k in NEIGHBOURS]
    pick = _best(sources, key=lambda r: (-r["candidates"], -r["phash_bits"], -r["neighbours"]))  # the loosest
    proposed = scores(_path_pairs(candidates[pick["phash_bits"], pick["neighbours"]], paths), truth)
    brief = ("phash_bits", "neighbours", "fine_bits", "max_changed", "candidates", "worst_recall", "precision")
    return {
        "candidate_recall": _recall(proposed),
        "pick": pick,
        "sweep": [{k: r[k] for k in brief} for r in thresholds + sources],
    }


def _best(rows: list[dict], key) -> dict:
    """Among the rows without a false pair (PRECISION), those with the best worst-family recall; the first by key."""
    ok = [r for r in rows if r["precision"] is not None and r["precision"] >= PRECISION]
    best = max(r["worst_recall"] for r in ok)
    return min((r for r in ok if r["worst_recall"] == best), key=key)


def report(root: Path, library: Path, truth: Truth, model: str) -> dict:
    start = time.perf_counter()
    index([root], library, model, IndexSettings(workers=1))
    indexed = time.perf_counter() - start
    start = time.perf_counter()
    groups = find_groups(library)
    seconds = time.perf_counter() - start
    pairs = {_key(x.path, y.path) for g in groups if g.tier != "burst" for x, y in combinations(g.members, 2)}
    searcher, paths, hashes = _library_images(library)
    defaults = DedupSettings()
    proposed = scores(
        _path_pairs(candidate_pairs(searcher, hashes, defaults.phash_bits, defaults.neighbours), paths), truth
    )
    return {
        "index_s": round(indexed, 1),
        "dedup_s": round(seconds, 2),
        "groups": len(groups),
        "candidate_recall": _recall(proposed),
        **scores(pairs, truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, default=40)
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--tune-only", action="store_true", help="only the tuning sweep, nothing written")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pixseek-bench-dedup-quality-"))
    defaults = DedupSettings()
    start = time.perf_counter()
    try:
        tuning = build(work / "tune", "tune", args.shapes)
        tuned = tune(work / "tune", work / "tune-lib", tuning, args.model, defaults.turned_bits)
        print("tuning pick", {k: tuned["pick"][k] for k in (*PICKED, "worst_recall", "precision")}, flush=True)
        if args.tune_only:
            return
        reporting = build(work / "report", "report", args.shapes)
        reported = report(work / "report", work / "report-lib", reporting, args.model)
        print("report", reported, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit(
        "dedup_quality",
        {
            "machine": machine(None),
            "model": args.model,
            "bench_s": round(time.perf_counter() - start, 1),
            "defaults": {k: getattr(defaults, k) for k in (*PICKED, "turned_bits")},
            "defaults_are_the_tuning_pick": all(getattr(defaults, k) == tuned["pick"][k] for k in PICKED),
            "small_pictures": {"side_under": SMALL_SIDE, "cell_step": SMALL_STEP},  # search.likeness, from tuning
            "tuning": {"files": len(tuning.base), **tuned},
            "report": {"files": len(reporting.base), **reported},
        },
    )


if __name__ == "__main__":
    main()
