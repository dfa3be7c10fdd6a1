"""What `pixseek dedup` (the default tiers) costs on a library of tens of thousands of images.

    python bench/dedup_cost.py --images 20000     # writes bench/results/dedup_cost-20000.json

The library: distinct procedural colour fields (480 x 360 JPEGs, indexer/sources/synthetic), and for one in
COPY_EVERY of them a copy (a q60 re-encode, a 10% crop or a caption bar, in turn). It is indexed with the
bundled model, then find_groups runs once with the defaults. Reported: its seconds, peak RSS growth, groups
and the share of planted copies they found. Indexing is not timed here (bench/index.py does that). With
--work the library is kept and reused, so one library can be timed under two versions of the code.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from common import emit, machine
from PIL import ImageDraw

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources.synthetic import procedural
from search.dedup import DedupSettings, find_groups

COPY_EVERY = 20


def _copy(image, k: int):
    if k % 3 == 0:
        return image, 60
    if k % 3 == 1:
        w, h = image.size
        return image.crop((w // 20, h // 20, w - w // 20, h - h // 20)), 90
    out = image.copy()
    ImageDraw.Draw(out).rectangle((0, out.height - out.height // 10, out.width, out.height), fill=(0, 0, 0))
    return out, 90


def build(root: Path, n: int, write: bool) -> set[frozenset[str]]:
    """n distinct images and a copy of every COPY_EVERY-th (written when `write`); the planted pairs."""
    planted = set()
    for i in range(n):
        original, copy = root / f"{i // 1000:03d}" / f"{i:06d}.jpg", root / "copies" / f"{i:06d}.jpg"
        if i % COPY_EVERY == 0:
            planted.add(frozenset((str(original), str(copy))))
        if not write:
            continue
        image = procedural(100_000 + i)
        original.parent.mkdir(parents=True, exist_ok=True)
        image.save(original, quality=92)
        if i % COPY_EVERY == 0:
            copied, quality = _copy(image, i // COPY_EVERY)
            copy.parent.mkdir(exist_ok=True)
            copied.save(copy, quality=quality)
    return planted


def timed_groups(library: Path) -> tuple[float, float, list]:
    """(seconds, peak RSS growth in MB, groups) of one find_groups run with the defaults."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    groups = find_groups(library, DedupSettings())
    seconds = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return seconds, grown, groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--work", type=Path, help="keep the library here (reused when it exists)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pixseek-bench-dedup-cost-"))
    try:
        root, library = work / "photos", work / "lib"
        planted = build(root, args.images, write=not root.exists())
        if not library.exists():
            index([root], library, args.model, IndexSettings(workers=1))
        seconds, grown, groups = timed_groups(library)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    found = {frozenset((a.path, b.path)) for g in groups for a in g.members for b in g.members if a.path < b.path}
    defaults = DedupSettings()
    emit(
        f"dedup_cost-{args.images}",
        {
            "machine": machine(None),
            "model": args.model,
            "files": args.images + len(planted),
            "defaults": {k: getattr(defaults, k) for k in ("phash_bits", "neighbours", "fine_bits", "max_changed")},
            "dedup_s": round(seconds, 1),
            "peak_rss_growth_mb": round(grown, 1),
            "groups": len(groups),
            "planted_found": round(len(found & planted) / len(planted), 3),
            "pairs_not_planted": len(found - planted),
        },
    )


if __name__ == "__main__":
    main()
