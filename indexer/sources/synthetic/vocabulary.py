"""The synthetic set's words and records: colours, kinds, sizes, counts, positions, and the Shape and
Sample a caption is made from."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

RGB = tuple[int, int, int]


COLOURS: dict[str, RGB] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "yellow": (250, 220, 20),
    "orange": (250, 135, 0),
    "purple": (140, 40, 170),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
}


KINDS = ("circle", "square", "triangle", "star")


SIZES: dict[str, tuple[float, float]] = {"small": (0.18, 0.24), "large": (0.32, 0.44)}  # width / short side


COUNTS = ("one", "two", "three")


ROWS = ("top", "centre", "bottom")


COLUMNS = ("left", "centre", "right")


POSITIONS = ("top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom", "bottom right")


TEXTURES = ("noise", "stripes", "gradient")


@dataclass(frozen=True)
class Shape:
    """One drawn shape; position is a POSITIONS phrase, from where its centre ended up."""

    kind: str
    colour: str
    size: str
    position: str


@dataclass(frozen=True)
class Sample:
    """An RGB image, its caption and the ground truth the caption was made from."""

    image: Image.Image
    caption: str
    shapes: tuple[Shape, ...]
    background: str
    textured: bool
    jpeg_quality: int | None
    rotation: float  # degrees, counter-clockwise
    # Per shape, in the order of `shapes`: centre x, centre y and width in the final image's pixels.
    boxes: tuple[tuple[float, float, float], ...] = ()


def matches(sample: Sample, colour: str | None = None, kind: str | None = None, background: str | None = None) -> bool:
    """Whether the sample has this background (if given) and a shape of this colour and kind (if given)."""
    if background is not None and sample.background != background:
        return False
    if colour is None and kind is None:
        return True
    return any((colour is None or s.colour == colour) and (kind is None or s.kind == kind) for s in sample.shapes)
