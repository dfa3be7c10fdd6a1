"""Map: the library's vectors projected to 2-D (PCA); hover for a thumbnail, brush a region to take a subset."""

import altair as alt
import streamlit as st

from ui import handles, mapview
from ui.terms import IdTerm

SEARCH_WITH = 20  # at most this many selected images become query terms

st.title("Map")
facets = handles.library_facets()
ids, xy, paths = handles.points()
if not len(ids):
    st.info(f"Nothing is indexed yet: `pixseek index FOLDER -l {handles.library()}`.")
    st.stop()
rows = mapview.frame(ids, xy, paths, handles.library(), facets.roots)
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
    if st.button(f"Search with these (first {min(len(subset), SEARCH_WITH)})", key="map_search"):
        st.session_state["search_text"] = ""
        chosen = subset.head(SEARCH_WITH).itertuples()
        st.session_state["search_terms"] = [IdTerm(int(r.id), 1.0, r.name) for r in chosen]
        st.switch_page("app_pages/search_page.py")
    st.dataframe(subset[["id", "name", "path"]], hide_index=True, width="stretch")
