"""Search: text, an image (upload or path) and voted images; filters, relevance and sort; a thumbnail grid."""

import streamlit as st

from indexer import PixseekError
from ui import handles, results, search_form
from ui.terms import display, tokens

st.title("Search")
searcher = handles.searcher()
facets = handles.library_facets()
filters = search_form.sidebar_filters(facets, "search")
options = search_form.sidebar_options()

text = st.text_input("Describe what you are looking for", key="search_text")
named_images = search_form.query_images(facets.roots)
images = list(named_images.values())
terms = st.session_state.setdefault("search_terms", [])
for i, term in enumerate(terms):
    sign = "+" if term.weight > 0 else "−"
    if st.button(f"{sign} {term.label} ✕", key=f"search_term_{term.image_id}", help="Remove this term"):
        st.session_state["search_terms"] = terms[:i] + terms[i + 1 :]
        st.rerun()

query = tokens(text, terms, images=len(images))
if not query and not images:
    st.info('Type what you are looking for (e.g. "a red circle"), upload an image, or paste a path.')
    st.stop()

signature = (tuple(query), tuple(map(str, images)), filters, options)
if st.session_state.get("search_signature") != signature:  # a new query starts at page 1
    st.session_state["search_signature"], st.session_state["search_page"] = signature, 0
page = st.session_state["search_page"]
results.opened(facets.roots)
try:
    with st.spinner("Searching..."):
        result = searcher.search(
            query,
            options.page_size,
            images=images,
            offset=page * options.page_size,
            filters=filters,
            relevant=options.relevant,
            strictness=options.strictness,
            sort=options.sort,
        )
except PixseekError as exc:
    st.error(str(exc))
    st.stop()

for note in result.warnings:
    st.warning(note)
found = "" if result.total is None else f"{result.total} relevant results · "
st.caption(f"{found}query: {display(text, terms, list(named_images))}")
if not result.hits:
    st.info("Nothing matches; loosen the filters or the strictness.")
results.grid(result.hits, page * options.page_size, facets.roots)
results.pager(len(result.hits), options.page_size, result.total)
