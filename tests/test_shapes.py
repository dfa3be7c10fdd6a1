"""The synthetic shapes set (indexer.sources.synthetic): deterministic, truthful captions, varied images, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.sources import synthetic

COLOUR = "|".join(synthetic.COLOURS)
KIND = "|".join(synthetic.KINDS)
POSITION = "|".join(sorted(synthetic.POSITIONS, key=len, reverse=True))  # "top left" before "top"
MENTION = re.compile(
    rf"\b(?:(one|two|three|a|an) )?(?:(small|large) )?({COLOUR}) ({KIND})(s?)\b(?: (?:at|in|on|near) the ({POSITION}))?"
)
BACKGROUND = re.compile(rf"\b({COLOUR}) background\b")
NUMBER = {None: 1, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


@pytest.fixture(scope="module")
def samples() -> list[synthetic.Sample]:
    return synthetic.generate(500, seed=11)


def _mentions(caption: str) -> list[tuple[str | None, ...]]:
    return MENTION.findall(caption.lower())


def _central_mask(s: synthetic.Sample) -> tuple[np.ndarray, int, int, int]:
    """Pixels that differ from the background colour, and the central square (x0, y0, side)."""
    pixels = np.asarray(s.image).astype(int)
    fg = np.abs(pixels - np.asarray(synthetic.COLOURS[s.background])).sum(-1) > 60
    w, h = s.image.size
    side = min(w, h)
    return fg, (w - side) // 2, (h - side) // 2, side


def test_same_seed_gives_identical_images_and_captions():
    a, b = synthetic.generate(30, seed=3), synthetic.generate(30, seed=3)
    assert [s.image.tobytes() for s in a] == [s.image.tobytes() for s in b]
    assert [s.caption for s in a] == [s.caption for s in b]


def test_different_seeds_give_different_samples():
    a, b = synthetic.generate(30, seed=3), synthetic.generate(30, seed=4)
    assert [s.caption for s in a] != [s.caption for s in b]
    assert sum(x.image.tobytes() == y.image.tobytes() for x, y in zip(a, b, strict=True)) == 0


def test_one_sample_equals_the_same_index_of_the_generated_set():
    whole = synthetic.generate(12, seed=5)
    for i in (0, 7, 11):
        assert synthetic.sample(i, seed=5) == whole[i]


def test_every_colour_and_kind_in_a_caption_is_in_the_image_with_that_count_and_size(samples):
    for s in samples:
        for count, size, colour, kind, plural, _ in _mentions(s.caption):
            group = [t for t in s.shapes if (t.colour, t.kind) == (colour, kind)]
            assert len(group) == NUMBER[count or None], s
            assert (len(group) > 1) == (plural == "s"), s
            assert not size or all(t.size == size for t in group), s


def test_caption_names_every_colour_and_kind_in_the_image(samples):
    for s in samples:
        named = {(colour, kind) for _, _, colour, kind, _, _ in _mentions(s.caption)}
        assert named == {(t.colour, t.kind) for t in s.shapes}, s


def test_position_in_a_caption_is_that_of_the_named_shape(samples):
    checked = 0
    for s in samples:
        for _, _, colour, kind, _, position in _mentions(s.caption):
            if position:
                (shape,) = [t for t in s.shapes if (t.colour, t.kind) == (colour, kind)]
                assert shape.position == position, s
                checked += 1
    assert checked > 50


def test_background_in_a_caption_is_the_sample_background_and_no_shape_colour(samples):
    for s in samples:
        assert set(BACKGROUND.findall(s.caption.lower())) <= {s.background}, s
        assert s.background not in {t.colour for t in s.shapes}, s
    assert sum(bool(BACKGROUND.search(s.caption.lower())) for s in samples) > 0.5 * len(samples)


def test_shape_positions_are_where_the_shapes_are_drawn(samples):
    # One plain shape, no JPEG: the centroid of non-background pixels is the shape's own centroid.
    single = [s for s in samples if len(s.shapes) == 1 and not s.textured and s.jpeg_quality is None]
    assert len(single) > 30 and any(s.rotation for s in single)
    for s in single:
        fg, x0, y0, side = _central_mask(s)
        ys, xs = np.nonzero(fg)
        row, col = int(3 * (ys.mean() - y0) / side), int(3 * (xs.mean() - x0) / side)
        assert synthetic.POSITIONS[3 * row + col] == s.shapes[0].position, s


def test_shapes_stay_inside_the_central_square(samples):
    for s in [s for s in samples if not s.textured and s.jpeg_quality is None]:
        fg, x0, y0, side = _central_mask(s)
        assert fg.any() and not fg[:, :x0].any() and not fg[:, x0 + side :].any(), s
        assert not fg[:y0].any() and not fg[y0 + side :].any(), s


def test_captions_cover_the_whole_vocabulary():
    words = Counter(w for s in synthetic.generate(2000, seed=2) for w in re.findall(r"[a-z]+", s.caption.lower()))
    vocabulary = [*synthetic.COLOURS, *synthetic.SIZES, *synthetic.COUNTS, "top", "bottom", "left", "right", "centre"]
    vocabulary += [k + "s" for k in synthetic.KINDS] + list(synthetic.KINDS)
    assert [w for w in vocabulary if words[w] == 0] == []


def test_images_vary_in_size_aspect_compression_and_rotation(samples):
    sizes = [s.image.size for s in samples]
    assert len(set(sizes)) > 100 and sum(w != h for w, h in sizes) > 0.6 * len(samples)
    assert all(64 <= w <= 160 and 64 <= h <= 160 and 0.59 <= w / h <= 1.71 for w, h in sizes)
    assert all(s.image.mode == "RGB" for s in samples)
    qualities = [s.jpeg_quality for s in samples if s.jpeg_quality is not None]
    assert 0.1 * len(samples) < len(qualities) < 0.6 * len(samples) and all(30 <= q <= 90 for q in qualities)
    rotations = [s.rotation for s in samples if s.rotation]
    assert 0.1 * len(samples) < len(rotations) < 0.6 * len(samples) and all(abs(r) <= 10 for r in rotations)
    assert 0.2 * len(samples) < sum(s.textured for s in samples) < 0.8 * len(samples)


def test_shape_sizes_are_the_named_fraction_of_the_short_side(samples):
    # A circle's pixel width is its diameter, so it gives the size directly.
    for s in [s for s in samples if not s.textured and s.jpeg_quality is None and not s.rotation]:
        if [t.kind for t in s.shapes] == ["circle"]:
            fg, _, _, side = _central_mask(s)
            width = np.ptp(np.nonzero(fg)[1]) / side
            low, high = synthetic.SIZES[s.shapes[0].size]
            assert low - 0.03 <= width <= high + 0.03, s


def test_boxes_locate_each_shape_in_the_final_image(samples):
    """Each shape's box centre is a pixel of its colour, rotated and JPEG-compressed scenes included."""
    for s in samples:
        assert len(s.boxes) == len(s.shapes)
        for shape, (x, y, width) in zip(s.shapes, s.boxes, strict=True):
            assert 0 < x < s.image.width and 0 < y < s.image.height and width > 8
            pixel = np.asarray(s.image.getpixel((int(x), int(y))), dtype=int)
            assert np.abs(pixel - synthetic.COLOURS[shape.colour]).max() < 60, (s, shape)


def test_matches_checks_colour_kind_and_background():
    s = synthetic.Sample(
        Image.new("RGB", (64, 64)), "", (synthetic.Shape("circle", "red", "small", "top"),), "blue", False, None, 0.0
    )
    assert synthetic.matches(s, colour="red", kind="circle", background="blue")
    assert synthetic.matches(s, kind="circle") and synthetic.matches(s, background="blue")
    assert not synthetic.matches(s, colour="red", kind="square")
    assert not synthetic.matches(s, colour="green")
    assert not synthetic.matches(s, colour="red", background="white")


def test_cli_writes_n_images_and_a_caption_line_for_each(tmp_path):
    """tools/make_shapes.py, the program that writes a set to disk."""
    tool = Path(__file__).parents[1] / "tools" / "make_shapes.py"
    subprocess.run([sys.executable, str(tool), str(tmp_path), "--n", "12", "--seed", "3"], check=True, timeout=120)
    lines = (tmp_path / "captions.jsonl").read_text().splitlines()
    assert len(lines) == 12 and len(list(tmp_path.glob("0*.*"))) == 12
    for i, line in enumerate(lines):
        record, expected = json.loads(line), synthetic.sample(i, seed=3)
        assert record["file"] == f"{i:05d}." + ("jpg" if expected.jpeg_quality else "png")
        assert record["caption"] == expected.caption and record["background"] == expected.background
        assert [t["colour"] for t in record["shapes"]] == [t.colour for t in expected.shapes]
        if not expected.jpeg_quality:
            assert Image.open(tmp_path / record["file"]).convert("RGB").tobytes() == expected.image.tobytes()
