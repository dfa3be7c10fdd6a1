"""The near-identical tier on the copies users keep and the look-alikes it must refuse (search.near_identical,
search.likeness), on a library indexed with the bundled model: crops, quarter-size copies and captioned copies
join their original with the defaults; a recoloured twin and two crops of one photo 30% apart do not."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources import synthetic
from indexer.sources.synthetic import COPY_TRANSFORMS, photo
from search.dedup import DedupSettings, find_groups
from search.likeness import compare, make_print
from search.near_identical import PixelCheck
from search.pairs import empty_pairs

# Photos and shapes whose crops, captions or quarter-size copies the whole-frame 64-bit pHash step alone missed
# (bench/dedup_quality.py's report set before the embedding neighbours): each is a regression guard.
PHOTOS = ("brick", "coffee", "grass", "page", "rocket", "microaneurysms")
SHAPES = (3, 7, 13, 34, 36)  # synthetic.sample(i, 2026): 64-135 px, so a quarter-size copy is 16-34 px
COPIES = {name: (t, q) for family in ("crop", "resize", "text") for name, t, q in COPY_TRANSFORMS[family]}
KEPT = ("crop10", "x0.25", "x0.5", "text")  # crop <= 10%, resize 0.25-0.5, a caption bar over the bottom eighth


def _recoloured(image: Image.Image) -> Image.Image:
    h, s, v = image.convert("HSV").split()
    return Image.merge("HSV", (h.point(lambda x: (x + 85) % 256), s, v)).convert("RGB")


def _pairs(groups) -> set[tuple[str, str]]:
    return {tuple(sorted((a.path, b.path))) for g in groups if g.tier != "burst" for a, b in combinations(g.members, 2)}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("near")
    bases = {name: photo(name).convert("RGB") for name in PHOTOS}
    bases |= {f"shape{i}": synthetic.sample(i, 2026).image.convert("RGB") for i in SHAPES}
    for name, image in bases.items():
        (root / name).mkdir()
        image.save(root / name / f"{name}.png")
        for copy in KEPT:
            transform, quality = COPIES[copy]
            transform(image).save(root / name / f"{name}_{copy}.jpg", quality=quality)
    (root / "lookalikes").mkdir()
    for name, image in bases.items():
        if name.startswith("shape"):
            _recoloured(image).save(root / "lookalikes" / f"{name}_twin.png")
        else:
            w, h = image.size
            for k, left in enumerate((0, int(w * 0.3))):
                image.crop((left, 0, left + int(w * 0.7), h)).save(root / "lookalikes" / f"{name}_burst{k}.png")
    lib = tmp_path_factory.mktemp("lib")
    index([root], lib, "tiny-shapes", IndexSettings(workers=0))
    return lib, root, sorted(bases)


def _wanted(root: Path, bases) -> set[tuple[str, str]]:
    return {
        tuple(sorted((str(root / b / f"{b}.png"), str(root / b / f"{b}_{copy}.jpg")))) for b in bases for copy in KEPT
    }


def test_cropped_quarter_size_and_captioned_copies_join_their_original_by_default(library):
    lib, root, bases = library
    missed = _wanted(root, bases) - _pairs(find_groups(lib))
    assert not missed, sorted(Path(b).name for _, b in missed)


def test_embedding_neighbours_find_the_crops_and_captions_the_whole_frame_hash_misses(library):
    lib, root, bases = library
    hash_only = _wanted(root, bases) - _pairs(find_groups(lib, DedupSettings(neighbours=0)))
    assert {Path(b).stem.split("_")[-1] for _, b in hash_only} & {"crop10", "text"}


def test_a_recoloured_twin_is_never_grouped_with_its_shape_or_its_copies(library):
    lib, root, _ = library
    twins = {str(p) for p in (root / "lookalikes").glob("*_twin.png")}
    for group in find_groups(lib):
        paths = {m.path for m in group.members}
        assert not paths & twins or len(paths) == 1, sorted(Path(p).name for p in paths)


def test_two_crops_of_one_photo_30_percent_apart_are_distinct_photos(library):
    lib, root, _ = library
    for a, b in _pairs(find_groups(lib)):
        assert not ("_burst" in a and "_burst" in b), (Path(a).name, Path(b).name)


def test_a_quarter_size_copy_is_compared_at_its_own_scale():
    """A 16-30 px copy holds none of the detail the 256-bit hash looks at: the coarse check decides, upright."""
    shape = synthetic.sample(7, 2026).image.convert("RGB")
    small = shape.resize((shape.width // 4, shape.height // 4), Image.Resampling.BICUBIC)
    other = synthetic.sample(13, 2026).image.convert("RGB")
    alike = DedupSettings().alike
    assert min(small.size) < 32
    assert alike(compare(make_print(shape), make_print(small)))
    assert not alike(compare(make_print(other), make_print(small)))
    turned = compare(make_print(shape.transpose(Image.Transpose.ROTATE_90)), make_print(small))
    assert not alike(turned)


def test_a_copy_proposed_only_beside_another_copy_is_still_checked_against_the_original(tmp_path):
    base = photo("coffee").convert("RGB")
    files = {0: base, 1: COPIES["crop10"][0](base), 2: base.resize((base.width // 2, base.height // 2))}
    paths = {}
    for i, image in files.items():
        image.save(paths.setdefault(i, str(tmp_path / f"{i}.png")))
    candidates = (np.array([0, 1]), np.array([2, 2]), np.zeros(2, np.float32))  # never (0, 1) directly
    a, b, _ = PixelCheck(paths.__getitem__).pairs(candidates, DedupSettings().alike)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == {(0, 1), (0, 2), (1, 2)}
    a, b, _ = PixelCheck(paths.__getitem__).pairs(candidates, DedupSettings().alike, lambda x, y: {x, y} == {0, 1})
    assert (0, 1) not in set(zip(a.tolist(), b.tolist(), strict=True))
    assert len(PixelCheck(paths.__getitem__).pairs(empty_pairs(), DedupSettings().alike)[0]) == 0
