"""The Duplicates page's parts: dedup settings in the sidebar, a group side by side, the confirmed action."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from PIL import Image

from indexer import PixseekError
from search import TIERS, ActionRecord, DedupSettings, Group, Member, apply, dismiss, undo, undo_dismissal

from . import handles
from .metadata import human_size
from .thumbs import inside_roots, thumbnail

DEFAULTS = DedupSettings()  # the command line's and the HTTP service's defaults too
THUMB_HEIGHT = 220  # px: every member of a group shown at this height, side by side
# What the confirmation says will happen to the files that are not kept, per action.
FATES = {
    "quarantine": "moved to quarantine (undoable)",
    "hardlink": "replaced by hard links to their group's keeper, the originals moved to quarantine (undoable)",
    "symlink": "replaced by symbolic links to their group's keeper, the originals moved to quarantine (undoable)",
    "delete": "deleted for good (no undo)",
}


def sidebar_settings() -> DedupSettings:
    st.sidebar.header("Duplicates")
    with st.sidebar:
        tiers = st.multiselect("Tiers", TIERS, list(DEFAULTS.tiers), key="dups_tiers")
        phash = st.slider("pHash candidates within (bits of 64)", 0, 32, DEFAULTS.phash_bits, key="dups_phash")
        near = st.slider(
            "Also each image's nearest (embedding) as candidates", 0, 50, DEFAULTS.neighbours, key="dups_neighbours"
        )
        fine = st.slider("Near-identical within (bits of 256)", 0, 128, DEFAULTS.fine_bits, key="dups_fine")
        changed = st.slider(
            "Near-identical: colours may differ on (share)", 0.0, 0.1, DEFAULTS.max_changed, 0.001, key="dups_changed"
        )
        cosine = st.slider("Semantic: cosine at least", 0.80, 1.0, DEFAULTS.min_cosine, 0.005, key="dups_cosine")
        burst = st.number_input("Burst window (seconds; 0: off)", 0.0, 3600.0, DEFAULTS.burst_seconds, key="dups_burst")
        bursts = st.checkbox("Treat bursts as duplicates", key="dups_bursts")
        shown = st.checkbox("Show groups marked not duplicates", key="dups_show_dismissed")
    thresholds = {"phash_bits": phash, "neighbours": near, "fine_bits": fine, "max_changed": changed}
    thresholds["min_cosine"] = cosine
    return DedupSettings(tuple(tiers), **thresholds, burst_seconds=burst, include_bursts=bursts, show_dismissed=shown)


def select_all(groups: list[Group]) -> None:
    """The "Select every group" box's change: every group's own box follows it."""
    for group in groups:
        st.session_state[f"dups_sel_{group.id}"] = st.session_state["dups_all"]


def _member(m: Member, keeper: bool, roots: tuple[str, ...]) -> None:
    try:
        with Image.open(thumbnail(handles.library(), inside_roots(m.path, roots))) as image:
            width = round(image.width * THUMB_HEIGHT / max(image.height, 1))
            st.image(image.resize((width, THUMB_HEIGHT)))
    except (PixseekError, OSError) as exc:
        st.caption(f"(no preview: {exc})")
    taken = m.taken_at.strftime("%Y-%m-%d %H:%M") if m.taken_at else "no date"
    role = "**keep**" if keeper else f"{m.tier}, {m.distance:g}"
    role += " · reference (never touched)" if m.reference else ""
    st.caption(f"{role} · {Path(m.path).name}  \n{m.width}x{m.height} · {human_size(m.size)} · {taken}")


def group_card(group: Group, roots: tuple[str, ...]) -> int:
    """Draw one group; the file id to keep (the proposed keeper unless changed here)."""
    with st.container(border=True):
        head, pick, answer = st.columns([5, 1, 1])
        head.markdown(f"**group {group.id}** · {group.tier} · distance {group.distance:g}  \n{group.why}")
        pick.checkbox("select", key=f"dups_sel_{group.id}", disabled=not group.acted_on())
        if answer.button("Not duplicates", key=f"dups_dismiss_{group.id}", disabled=group.dismissed):
            _dismiss(group)
        names = [Path(m.path).name for m in group.members]  # the keeper is first
        chosen = st.radio(
            "Keep", range(len(names)), format_func=names.__getitem__, key=f"dups_keep_{group.id}", horizontal=True
        )
        keep = group.members[chosen].file_id
        for column, m in zip(st.columns(max(len(group.members), 4)), group.members, strict=False):
            with column:
                _member(m, m.file_id == keep, roots)
    return keep


def _summary(record: ActionRecord) -> str:
    done = f"{record.kind}: {len(record.done)} files"
    skipped = "; ".join(f"{p}: {r}" for p, r in record.skipped[:5])
    return done + (f"; skipped {len(record.skipped)}: {skipped}" if skipped else "")


def confirmation(action: str, groups: list[Group], keepers: dict[int, int]) -> str:
    """What the confirmation says: the real action and how many files of how many groups it touches."""
    files = sum(len(g.acted_on(keepers.get(g.id))) for g in groups)
    return (
        f"{files} files of {len(groups)} groups will be {FATES[action]}; each group's keeper and reference files stay."
    )


def confirm(groups: list[Group], keepers: dict[int, int]) -> None:
    """The chosen action on the selected groups, after a confirmation (and for delete, an explicit one)."""
    action = st.session_state["dups_confirm"]
    st.warning(confirmation(action, groups, keepers))
    sure = action != "delete" or st.checkbox("Yes, delete them; this cannot be undone", key="dups_delete_ok")
    left, right = st.columns(2)
    if left.button("Confirm", key="dups_confirmed", type="primary", disabled=not sure):
        with handles.explained():
            record = apply(handles.library(), groups, action, keepers, confirm_delete=action == "delete")
        _finish(record)
    if right.button("Cancel", key="dups_cancel"):
        st.session_state.pop("dups_confirm")
        st.rerun()


def _dismiss(group: Group) -> None:
    with handles.explained():
        dismiss(handles.library(), group.members)
    st.session_state["dups_last"] = f"group {group.id} marked not duplicates; it will not be shown again"
    handles.library_changed()
    st.rerun()


def undo_dismissal_last() -> None:
    with handles.explained():
        pairs = undo_dismissal(handles.library())
    st.session_state["dups_last"] = (
        f"took back the last 'not duplicates' ({pairs} pairs)" if pairs else "nothing to undo"
    )
    handles.library_changed()
    st.rerun()


def undo_last() -> None:
    with handles.explained():
        _finish(undo(handles.library()))


def _finish(record: ActionRecord) -> None:
    st.session_state.pop("dups_confirm", None)
    st.session_state["dups_last"] = _summary(record) if record.done or record.skipped else "nothing to do"
    handles.library_changed()
    st.rerun()
