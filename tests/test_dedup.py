"""Dedup tiers and grouping on a real library of scikit-image photos and their copies (search.dedup)."""

from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from indexer.sources.synthetic import PHOTOS, STEREO, photo, write_copies
from search.dedup import BadDedupSettings, DedupSettings, find_groups
from search.keep import UnknownKeepRule


def _pairs(groups) -> set[tuple[str, str]]:
    """Every pair of files put in one (non-burst) group, as sorted path pairs."""
    return {tuple(sorted((a.path, b.path))) for g in groups if g.tier != "burst" for a, b in combinations(g.members, 2)}


def _base(path: str) -> str:
    return Path(path).parent.name


@pytest.fixture(scope="module")
def library(tmp_path_factory, micro_model):
    root = tmp_path_factory.mktemp("photos")
    for name in PHOTOS:
        write_copies(photo(name), root / name, name, ("jpeg", "resize"))
    for name in STEREO:
        write_copies(photo(name), root / name, name, ())
    (root / "backup").mkdir()
    shutil.copy(root / "coffee" / "coffee.png", root / "backup" / "coffee.png")
    lib = tmp_path_factory.mktemp("lib")
    index([root], lib, str(micro_model), IndexSettings(workers=0))
    return lib, root


def test_exact_and_near_identical_tiers_find_every_jpeg_and_resize_copy_of_the_photos(library):
    lib, root = library
    found = _pairs(find_groups(lib))
    files = [str(p) for p in sorted(root.rglob("*.*"))]
    truth = {tuple(sorted(p)) for p in combinations(files, 2) if _base(p[0]) == _base(p[1]) and _base(p[0]) in PHOTOS}
    truth |= {tuple(sorted((str(root / "backup" / "coffee.png"), f))) for f in files if _base(f) == "coffee"}
    recall = len(found & truth) / len(truth)
    precision = len(found & truth) / len(found)
    assert recall == 1.0 and precision >= 0.99, (recall, precision, sorted(found - truth)[:3])


def test_the_stereo_motorcycle_pair_is_not_merged_at_the_default_thresholds(library):
    lib, root = library
    pair = tuple(sorted(str(root / n / f"{n}.png") for n in STEREO))
    assert pair not in _pairs(find_groups(lib))


def test_a_byte_identical_copy_is_an_exact_member_at_distance_zero(library):
    lib, root = library
    group = next(g for g in find_groups(lib) if g.keep.path.endswith("coffee.png"))
    copy = next(m for m in group.others if m.path.endswith("coffee.png"))
    assert copy.tier == "exact" and copy.distance == 0.0
    assert "1 exact copy (same sha256)" in group.why


def test_the_keeper_is_the_lossless_full_size_original_and_why_says_so(library):
    lib, root = library
    group = next(g for g in find_groups(lib) if _base(g.keep.path) == "astronaut")
    assert group.keep.path == str(root / "astronaut" / "astronaut.png")
    assert group.tier == "near-identical" and 0 <= group.distance <= DedupSettings().fine_bits
    assert group.why.startswith("keep astronaut.png: least compressed format")


def test_the_keep_order_decides_the_keeper(library):
    lib, _ = library
    shortest_path_first = DedupSettings(keep_order=("path",))
    group = next(g for g in find_groups(lib, shortest_path_first) if _base(g.keep.path) == "astronaut")
    assert len(group.keep.path) == min(len(m.path) for m in group.members)


def test_stricter_near_identical_threshold_splits_the_low_quality_copies_off(library):
    lib, _ = library
    loose, strict = _pairs(find_groups(lib)), _pairs(find_groups(lib, DedupSettings(fine_bits=2)))
    assert strict < loose


@pytest.mark.parametrize(
    ("settings", "error", "words"),
    [
        (DedupSettings(tiers=("fuzzy",)), BadDedupSettings, "unknown tier 'fuzzy'"),
        (DedupSettings(fine_bits=300), BadDedupSettings, "fine_bits 0..256"),
        (DedupSettings(neighbours=-1), BadDedupSettings, "neighbours: 0..100 nearest"),
        (DedupSettings(keep_order=("prettiest",)), UnknownKeepRule, "unknown keep rule 'prettiest'"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(library, settings, error, words):
    with pytest.raises(error, match=words):
        find_groups(library[0], settings)


def _exif_save(image: Image.Image, path: Path, when: str) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when
    image.save(path, quality=95, exif=exif)


def test_images_taken_seconds_apart_are_a_burst_unless_bursts_are_asked_for(tmp_path, micro_model):
    base, photos = photo("chelsea"), tmp_path / "photos"
    photos.mkdir()
    _exif_save(base, photos / "a.jpg", "2024:05:01 10:00:00")
    _exif_save(base.rotate(0.5), photos / "b.jpg", "2024:05:01 10:00:02")
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    (group,) = find_groups(tmp_path / "lib")
    assert group.tier == "burst" and "a burst, not duplicates" in group.why
    (group,) = find_groups(tmp_path / "lib", DedupSettings(include_bursts=True))
    assert group.tier == "near-identical"


def test_the_semantic_tier_groups_one_picture_stored_in_two_lossless_formats(tmp_path, micro_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo("coffee").save(photos / "coffee.png")
    photo("coffee").save(photos / "coffee.bmp")
    photo("chelsea").save(photos / "chelsea.png")
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    (group,) = find_groups(tmp_path / "lib", DedupSettings(tiers=("semantic",), min_cosine=0.9999))
    assert {Path(m.path).name for m in group.members} == {"coffee.png", "coffee.bmp"}
    assert group.tier == "semantic" and group.distance < 1e-4 and "semantic (cosine 1.000" in group.why


def test_the_semantic_tier_recovers_planted_pairs_through_a_library_ivf_pq_index(tmp_path):
    from indexer.library.catalog import active_model, open_catalog, session
    from indexer.library.folder import model_key, vectors_dir
    from indexer.library.sync import fetch_vectors, indexed_ids
    from indexer.library.vectors import VectorIndex
    from indexer.sources import synthetic

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(320):  # 20 pictures stored twice (PNG and BMP: the same pixels), 300 others: PQ training needs 320
        synthetic.sample(i, 3).image.save(photos / f"{i:03d}.png")
        if i < 20:
            synthetic.sample(i, 3).image.save(photos / f"{i:03d}.bmp")
    # The bundled model: the random micro model maps many distinct shape images to one direction.
    index([photos], tmp_path / "lib", "tiny-shapes", IndexSettings(workers=0))
    engine = open_catalog(tmp_path / "lib")
    with session(engine) as s:
        model = active_model(s)
        key, model_id, dim = model_key(model.name, model.weights_sha256), model.id, model.dim
    ids = indexed_ids(engine, model_id)
    forced = VectorIndex.open(vectors_dir(tmp_path / "lib", key), dim, flat_threshold=50)
    forced.rebuild(ids, fetch_vectors(engine, model_id, dim)(ids), catalog_version=len(ids))
    forced.save()
    assert forced.kind == "ivfpq"
    groups = find_groups(tmp_path / "lib", DedupSettings(tiers=("semantic",), min_cosine=0.9999))
    pairs = {tuple(sorted(Path(m.path).stem for m in g.members)) for g in groups}
    planted = {(f"{i:03d}", f"{i:03d}") for i in range(20)}
    assert len(pairs & planted) / len(planted) >= 0.99 and len(pairs - planted) <= len(planted) // 100


def test_flipped_and_quarter_turned_pixel_copies_are_near_identical_by_default(tmp_path, micro_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    base = photo("chelsea")
    base.save(photos / "chelsea.png")
    base.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photos / "mirrored.jpg", quality=90)
    for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270):
        base.transpose(turn).save(photos / f"turned{turn.value}.jpg", quality=90)
    photo("coffee").save(photos / "coffee.png")
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    (group,) = find_groups(tmp_path / "lib")
    assert {Path(m.path).name for m in group.members} == {
        "chelsea.png",
        "mirrored.jpg",
        "turned2.jpg",
        "turned3.jpg",
        "turned4.jpg",
    }
    assert group.keep.path.endswith("chelsea.png") and group.tier == "near-identical"


def test_one_layout_in_other_colours_is_not_a_duplicate(tmp_path, micro_model):
    from indexer.sources import synthetic

    photos = tmp_path / "photos"
    photos.mkdir()
    shapes = synthetic.sample(3, 2026).image
    shapes.save(photos / "shapes.png")
    h, s, v = shapes.convert("HSV").split()
    Image.merge("HSV", (h.point(lambda x: (x + 85) % 256), s, v)).convert("RGB").save(photos / "recoloured.png")
    shapes.save(photos / "shapes_q60.jpg", quality=60)
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    assert [{Path(m.path).name for m in g.members} for g in find_groups(tmp_path / "lib")] == [
        {"shapes.png", "shapes_q60.jpg"}
    ]


def test_the_original_is_kept_over_a_copy_named_as_one(tmp_path, micro_model):
    photos = tmp_path / "photos"
    (photos / "copies").mkdir(parents=True)
    photo("coffee").save(photos / "coffee.png")
    shutil.copy(photos / "coffee.png", photos / "copies" / "a.png")
    shutil.copy(photos / "coffee.png", photos / "Copy of coffee.png")
    index([photos], tmp_path / "lib", str(micro_model), IndexSettings(workers=0))
    (group,) = find_groups(tmp_path / "lib")
    assert group.keep.path == str(photos / "coffee.png")
    assert group.why.startswith("keep coffee.png: not named or filed as a copy")
