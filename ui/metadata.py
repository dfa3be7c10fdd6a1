"""A hit's metadata in words for people: "1.7 kB", "800 × 600 px", "2019-07-14 09:30"; empty fields left out."""

from __future__ import annotations

from pathlib import Path

from search import Hit

UNITS = ("B", "kB", "MB", "GB", "TB")


def human_size(n: int) -> str:
    """Bytes in decimal units, as file managers show them: 1726 -> "1.7 kB"."""
    value, unit = float(n), 0
    while value >= 1000 and unit < len(UNITS) - 1:
        value, unit = value / 1000, unit + 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {UNITS[unit]}"


def pixels(hit: Hit) -> str:
    return f"{hit.width} × {hit.height} px"


def taken(hit: Hit, with_time: bool = True) -> str | None:
    if hit.taken_at is None:
        return None
    return hit.taken_at.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def caption(rank: int, hit: Hit) -> str:
    """The grid's two lines under a thumbnail: rank, score, name; date, size, pixels."""
    facts = [taken(hit, with_time=False) or "no date", human_size(hit.size), pixels(hit)]
    return f"#{rank} · {hit.score:.3f} · {Path(hit.path).name}  \n" + " · ".join(facts)


def fields(hit: Hit) -> dict[str, str]:
    """The opened image's facts, by label, in reading order; a field the library does not know is left out."""
    out = {
        "Taken": taken(hit),
        "Camera": hit.camera,
        "Pixels": pixels(hit),
        "File size": human_size(hit.size),
        "Format": hit.format,
        "Caption": hit.caption,
        "Score": f"{hit.score:.3f}",
        "Image id": str(hit.image_id),
    }
    return {label: value for label, value in out.items() if value not in (None, "")}
