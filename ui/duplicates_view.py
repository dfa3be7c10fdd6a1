"""The Duplicates page's parts: dedup settings in the sidebar, a group side by side, the confirmed action."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from indexer import PixseekError
from search import TIERS, ActionRecord, DedupSettings, Group, Member, apply, undo

from . import handles
from .metadata import human_size
from .thumbs import inside_roots, thumbnail


def sidebar_settings() -> DedupSettings:
    st.sidebar.header("Duplicates")
    with st.sidebar:
        tiers = st.multiselect("Tiers", TIERS, ["exact", "near-identical"], key="dups_tiers")
        phash = st.slider("pHash candidates within (bits of 64)", 0, 32, 12, key="dups_phash")
        fine = st.slider("Near-identical within (bits of 256)", 0, 128, 56, key="dups_fine")
        cosine = st.slider("Semantic: cosine at least", 0.80, 1.0, 0.95, 0.005, key="dups_cosine")
        burst = st.number_input("Burst window (seconds; 0: off)", 0.0, 3600.0, 5.0, key="dups_burst")
        bursts = st.checkbox("Treat bursts as duplicates", key="dups_bursts")
    return DedupSettings(tuple(tiers), phash, fine, cosine, burst, bursts)


def _member(m: Member, keeper: bool, roots: tuple[str, ...]) -> None:
    try:
        st.image(str(thumbnail(handles.library(), inside_roots(m.path, roots))))
    except PixseekError as exc:
        st.caption(f"(no preview: {exc})")
    taken = m.taken_at.strftime("%Y-%m-%d %H:%M") if m.taken_at else "no date"
    role = "**keep**" if keeper else f"{m.tier}, {m.distance:g}"
    st.caption(f"{role} · {Path(m.path).name}  \n{m.width}x{m.height} · {human_size(m.size)} · {taken}")


def group_card(group: Group, roots: tuple[str, ...]) -> int:
    """Draw one group; the file id to keep (the proposed keeper unless changed here)."""
    with st.container(border=True):
        head, pick = st.columns([5, 1])
        head.markdown(f"**group {group.id}** · {group.tier} · distance {group.distance:g}  \n{group.why}")
        pick.checkbox("select", key=f"dups_sel_{group.id}", disabled=group.tier == "burst")
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


def confirm(groups: list[Group], keepers: dict[int, int]) -> None:
    """The chosen action on the selected groups, after a confirmation (and for delete, an explicit one)."""
    action = st.session_state["dups_confirm"]
    files = sum(len(g.members) - 1 for g in groups)
    verb = "deleted for good (no undo)" if action == "delete" else f"moved to quarantine ({action}; undoable)"
    st.warning(f"{files} files of {len(groups)} groups will be {verb}; each group's keeper stays.")
    sure = action != "delete" or st.checkbox("Yes, delete them; this cannot be undone", key="dups_delete_ok")
    left, right = st.columns(2)
    if left.button("Confirm", key="dups_confirmed", type="primary", disabled=not sure):
        with handles.explained():
            record = apply(handles.library(), groups, action, keepers, confirm_delete=action == "delete")
        _finish(record)
    if right.button("Cancel", key="dups_cancel"):
        st.session_state.pop("dups_confirm")
        st.rerun()


def undo_last() -> None:
    with handles.explained():
        _finish(undo(handles.library()))


def _finish(record: ActionRecord) -> None:
    st.session_state.pop("dups_confirm", None)
    st.session_state["dups_last"] = _summary(record) if record.done or record.skipped else "nothing to do"
    handles.library_changed()
    st.rerun()
