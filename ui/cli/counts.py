"""What an index run did, in words: the one summary line of `pixseek index`, its watch rounds and the demo."""

from __future__ import annotations


def counts_text(summary) -> str:
    """'12 indexed, 40 unchanged, 2 unreadable (unchanged)': what this run did, zero counts left out."""
    parts = [f"{summary.indexed} indexed"]
    parts += [f"{n} {what}" for n, what in (
        (summary.unchanged, "unchanged"),
        (summary.moved, "moved (vector kept)"),
        (summary.duplicates, "copies of images already indexed"),
        (summary.missing, "missing (no longer found)"),
        (summary.failed, "unreadable"),
        (summary.unreadable, "unreadable (unchanged)"),
    ) if n]  # fmt: skip
    return ", ".join(parts)
