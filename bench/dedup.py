"""Dedup quality and cost: per transform family, pairwise precision and recall of each tier at its operating
threshold, chaining, keep-best correctness, time and peak memory; imagehash alone compared in the same run.

    python bench/dedup.py                  # ~800 files, tiny-shapes, about a minute on 2 cores

Bases: scikit-image's bundled photos, procedural colour fields, and synthetic shapes (indexer/sources/synthetic/), each
saved as PNG with transformed copies (indexer/sources/synthetic/copies.py: JPEG q75/30/10, resize 0.5/0.25, crop 10/30%,
rotation 5/25 deg, flip, colour jitter, grayscale, text overlay). Distinct distractors: more shapes and
procedural images without copies. Similar but distinct pairs: the stereo motorcycle photos, and procedural
twins (one colour field, different ellipses). A pair is true when both files come from one base.
Recall of a family: of its (base, copy) pairs, the share put in one group. Precision of a family: of the
grouped pairs that involve one of its copies, the share that is true. Chaining: groups holding files of
two or more bases. Keep-best: groups holding a base's original that keep that original (PNG, full size).
The semantic tier uses the library's model (tiny-shapes here, trained on 64 px shapes, not photos).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
import tracemalloc
from itertools import combinations
from pathlib import Path

import imagehash
import numpy as np
from common import emit, machine
from PIL import Image, ImageOps

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from indexer.sources.synthetic import COPY_TRANSFORMS, PHOTOS, STEREO, photo, procedural, write_copies
from search.dedup import DedupSettings, find_groups
from search.pairs import hamming_pairs, hash_bytes

FAMILIES = ("exact", *COPY_TRANSFORMS)  # exact: a byte-identical copy in another folder
IMAGEHASH_BITS = 10  # imagededup's default max_distance_threshold for 64-bit hashes


class Truth:
    """Which base each file comes from, and which transform family made it."""

    def __init__(self):
        self.base: dict[str, str] = {}
        self.family: dict[str, str] = {}
        self.similar: list[tuple[str, str]] = []  # similar but distinct pairs

    def add(self, files: dict[str, Path], base: str) -> None:
        names = {n: fam for fam, items in COPY_TRANSFORMS.items() for n, _, _ in items} | {"exact": "exact"}
        for name, path in files.items():
            self.base[str(path)] = base
            self.family[str(path)] = "base" if name == "base" else names[name]

    def same(self, a: str, b: str) -> bool:
        return self.base[a] == self.base[b]


def build(root: Path, n_procedural: int, n_shapes: int, n_distractors: int) -> Truth:
    truth = Truth()
    bases = [(f"photo-{n}", photo(n)) for n in PHOTOS]
    bases += [(f"proc-{i}", procedural(i)) for i in range(n_procedural)]
    bases += [(f"shape-{i}", synthetic.sample(i, 11).image) for i in range(n_shapes)]
    for name, image in bases:
        files = write_copies(image, root / name, name, tuple(COPY_TRANSFORMS))
        files["exact"] = root / "backup" / name / f"{name}.png"
        files["exact"].parent.mkdir(parents=True)
        shutil.copyfile(files["base"], files["exact"])
        truth.add(files, name)
    extra = [(f"stereo-{n}", photo(n)) for n in STEREO]
    extra += [(f"distractor-shape-{i}", synthetic.sample(1000 + i, 11).image) for i in range(n_distractors)]
    extra += [(f"distractor-proc-{i}", procedural(1000 + i)) for i in range(n_distractors)]
    extra += [(f"twin-{i}-{k}", procedural(2000 + i, ellipses_seed=k)) for i in range(5) for k in (0, 1)]
    for name, image in extra:
        truth.add(write_copies(image, root / name, name, ()), name)
    truth.similar = [tuple(str(root / f"stereo-{n}" / f"stereo-{n}.png") for n in STEREO)]
    truth.similar += [tuple(str(root / f"twin-{i}-{k}" / f"twin-{i}-{k}.png") for k in (0, 1)) for i in range(5)]
    return truth


def group_pairs(groups) -> set[tuple[str, str]]:
    return {tuple(sorted((a.path, b.path))) for g in groups if g.tier != "burst" for a, b in combinations(g.members, 2)}


def scores(pairs: set[tuple[str, str]], truth: Truth) -> dict:
    """Per family: recall of (base, copy) pairs, precision of grouped pairs involving its copies."""
    originals = {truth.base[p]: p for p, f in truth.family.items() if f == "base"}
    out = {}
    for family in FAMILIES:
        copies = [p for p, f in truth.family.items() if f == family]
        wanted = {tuple(sorted((originals[truth.base[c]], c))) for c in copies}
        involved = [pr for pr in pairs if truth.family[pr[0]] == family or truth.family[pr[1]] == family]
        true = sum(truth.same(*pr) for pr in involved)
        out[family] = {
            "recall": round(len(wanted & pairs) / len(wanted), 3),
            "precision": round(true / len(involved), 3) if involved else None,
        }
    true_all = sum(truth.same(*pr) for pr in pairs)
    out["all"] = {"pairs": len(pairs), "precision": round(true_all / len(pairs), 4) if pairs else None}
    out["similar_but_distinct_merged"] = sum(tuple(sorted(p)) in pairs for p in truth.similar)
    return out


def group_scores(groups, truth: Truth) -> dict:
    real = [g for g in groups if g.tier != "burst"]
    chained = sum(len({truth.base[m.path] for m in g.members}) > 1 for g in real)
    with_original = [g for g in real if any(truth.family[m.path] == "base" for m in g.members)]
    kept = sum(truth.family[g.keep.path] == "base" for g in with_original)
    return {
        "groups": len(real),
        "chaining_rate": round(chained / len(real), 4) if real else 0.0,
        "keep_best_correct": round(kept / len(with_original), 4) if with_original else None,
    }


def run_tier(library: Path, settings: DedupSettings, truth: Truth) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    groups = find_groups(library, settings)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    cost = {"seconds": round(seconds, 2), "python_peak_mb": round(peak / 2**20, 1)}
    return {**cost, **group_scores(groups, truth), **scores(group_pairs(groups), truth)}


def imagehash_alone(files: list[str], truth: Truth, bits: int) -> dict:
    """64-bit pHash of every file (as imagededup computes it) and every pair within `bits`, no grouping."""
    start = time.perf_counter()
    hexes = []
    for path in files:
        with Image.open(path) as image:
            hexes.append(str(imagehash.phash(ImageOps.exif_transpose(image).convert("L"))))
    a, b, _ = hamming_pairs(np.arange(len(files)), hash_bytes(hexes), bits)
    pairs = {tuple(sorted((files[i], files[j]))) for i, j in zip(a.tolist(), b.tolist(), strict=True)}
    return {"seconds": round(time.perf_counter() - start, 2), "max_bits": bits, **scores(pairs, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedural", type=int, default=15)
    parser.add_argument("--shapes", type=int, default=15)
    parser.add_argument("--distractors", type=int, default=30)
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--min-cosine", type=float, default=DedupSettings().min_cosine)
    parser.add_argument("--cosine-sweep", default="0.97,0.98,0.99,0.995", help="semantic tier alone at these")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pixseek-bench-dedup-"))
    truth = build(work / "files", args.procedural, args.shapes, args.distractors)
    start = time.perf_counter()
    index([work / "files"], work / "lib", args.model, IndexSettings(workers=1))
    index_s = time.perf_counter() - start
    tiers = {
        "exact": DedupSettings(tiers=("exact",)),
        "near-identical": DedupSettings(tiers=("near-identical",)),
        "semantic": DedupSettings(tiers=("semantic",), min_cosine=args.min_cosine),
        "default (exact + near-identical)": DedupSettings(),
        "all three": DedupSettings(tiers=("exact", "near-identical", "semantic"), min_cosine=args.min_cosine),
    }
    for cosine in (float(c) for c in args.cosine_sweep.split(",") if c):
        tiers[f"semantic at {cosine}"] = DedupSettings(tiers=("semantic",), min_cosine=cosine)
    results = {name: run_tier(work / "lib", s, truth) for name, s in tiers.items()}
    for name, row in results.items():
        print(name, {k: v for k, v in row.items() if k not in FAMILIES}, flush=True)
    defaults = DedupSettings()
    emit(
        f"dedup-{args.model}-cpu",
        {
            "machine": machine(None),
            "files": len(truth.base),
            "bases_with_copies": len(PHOTOS) + args.procedural + args.shapes,
            "distractors": 2 * args.distractors,
            "similar_but_distinct_pairs": len(truth.similar),
            "model": args.model,
            "index_s": round(index_s, 1),
            "thresholds": {
                "phash_bits": defaults.phash_bits,
                "fine_bits": defaults.fine_bits,
                "min_cosine": args.min_cosine,
            },
            "tiers": results,
            "imagehash_alone": imagehash_alone(sorted(truth.base), truth, IMAGEHASH_BITS),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    )


if __name__ == "__main__":
    main()
