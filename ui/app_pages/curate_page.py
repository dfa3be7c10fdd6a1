"""Curate: a subset from queries, strictness, filters, dedup and diversity; its count, a sample, the export."""

import streamlit as st

from ui import curate_view, handles, search_form

st.title("Curate")
facets = handles.library_facets()
recipe = curate_view.recipe(search_form.sidebar_filters(facets, "curate"))
subset = handles.subset(recipe)
st.metric("images in the subset", len(subset.items))
if not subset.items:
    st.info("Nothing is selected; loosen the queries, the strictness or the filters.")
    st.stop()
st.subheader("A sample" if len(subset.items) > curate_view.SAMPLE else "The subset")
curate_view.sample(subset, facets.roots)
curate_view.downloads(subset)
st.subheader("Export")
curate_view.export_form(subset)
