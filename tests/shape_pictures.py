"""A drawn shape on white, each index its own pixels: the pictures of the small search-test libraries."""

from __future__ import annotations

from PIL import Image, ImageDraw


def shape_picture(shape: str, colour: str, i: int) -> Image.Image:
    """A circle, square or triangle of `colour`; `i` shifts it and widens the canvas, so no two are copies."""
    image = Image.new("RGB", (240 + 8 * i, 200), "white")
    draw = ImageDraw.Draw(image)
    box = (60 + 4 * i, 40, 180 + 4 * i, 160)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(120 + 4 * i, 40), (60 + 4 * i, 160), (180 + 4 * i, 160)], fill=colour)
    return image
