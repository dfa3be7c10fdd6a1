"""Duplicates: groups side by side with tier, distance and why; change the keeper; act on the selected groups."""

import streamlit as st

from indexer.library import ACTION_KINDS
from ui import duplicates_view, handles
from ui.metadata import human_size

PER_PAGE = 20  # groups

st.title("Duplicates")
facets = handles.library_facets()
groups = handles.duplicate_groups(duplicates_view.sidebar_settings())
if "dups_last" in st.session_state:
    st.success(st.session_state["dups_last"])
undo_left, undo_right = st.columns(2)
if undo_left.button("Undo the last action", key="dups_undo"):
    duplicates_view.undo_last()
if undo_right.button("Undo the last 'not duplicates'", key="dups_undismiss"):
    duplicates_view.undo_dismissal_last()
if not groups:
    st.info("No duplicates under these settings; loosen them in the sidebar or add the semantic tier.")
    st.stop()

actionable = [g for g in groups if g.acted_on()]
spare = [m for g in actionable for m in g.acted_on()]
st.caption(f"{len(groups)} groups; {len(spare)} files could go ({human_size(sum(m.size for m in spare))})")
st.checkbox("Select every group", key="dups_all", on_change=duplicates_view.select_all, args=(actionable,))
left, right = st.columns([2, 3])
action = left.selectbox("Action", ACTION_KINDS, key="dups_action", help="quarantine, links and delete keep the keeper")
pages = max(1, -(-len(groups) // PER_PAGE))
page = right.number_input(f"Page (of {pages})", 1, pages, 1, key="dups_page") - 1

keepers = {}
shown = groups[page * PER_PAGE : (page + 1) * PER_PAGE]
box = st.container()
for group in shown:
    keep = duplicates_view.group_card(group, facets.roots)
    if keep != group.keep.file_id:
        keepers[group.id] = keep
selected = [g for g in actionable if st.session_state.get(f"dups_sel_{g.id}")]
with box:
    if st.button(f"Apply {action} to {len(selected)} selected groups", key="dups_apply", disabled=not selected):
        st.session_state["dups_confirm"] = action
    if "dups_confirm" in st.session_state:
        duplicates_view.confirm(selected, keepers)
