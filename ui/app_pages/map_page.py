"""Map: the library's vectors projected to 2-D (PCA); hover for a thumbnail, brush a region to take a subset."""

import altair as alt
import streamlit as st

from search import DedupSettings
from ui import handles, mapview
from ui.selection_term import SelectionTerm

st.title("Map")
rows = handles.map_rows()
if not len(rows):
    st.info(f"Nothing is indexed yet: `pixseek index FOLDER -l {handles.library()}`.")
    st.stop()
st.caption(f"{len(rows)} images; nearby points look alike to the model. Drag a box to select a subset.")
brush = alt.selection_interval(name="brush")
tooltip = ["name", "folder", "id"] + (["image"] if "image" in rows else [])
chart = (
    alt.Chart(rows.drop(columns=["path"]))
    .mark_circle(size=60, opacity=0.8)
    .encode(x=alt.X("x", axis=None), y=alt.Y("y", axis=None), color="folder:N", tooltip=tooltip)
    .add_params(brush)
)
event = st.altair_chart(chart, on_select="rerun", key="map_chart", width="stretch")
selection = (event or {}).get("selection", {}).get("brush", {}) if event else {}
subset = mapview.brushed(rows, selection)
st.subheader(f"{len(subset)} selected" if selection else "Selection: drag a box on the map")
if selection and len(subset):
    st.download_button("Download the paths", "\n".join(subset["path"]) + "\n", "selection.txt", key="map_download")
    if st.button("Search with these", key="map_search", help="One query term: the selection's distinct images"):
        keeper = mapview.copies_of(handles.duplicate_groups(DedupSettings()))
        chosen = mapview.distinct(subset["id"].tolist(), keeper)
        st.session_state["search_text"] = ""
        st.session_state["search_terms"] = [SelectionTerm(tuple(chosen), 1.0)]
        st.switch_page("app_pages/search_page.py")
    st.dataframe(subset[["id", "name", "path"]], hide_index=True, width="stretch")
