"""Search: text in the CLI's query language, keywords of names and captions, an image (upload or path) and voted
images, shown as clearable parts; filters, relevance and sort; a grid of equal tiles."""

import streamlit as st

from indexer import PixseekError
from search import QueryError, parse
from ui import handles, look, query_bar, results, search_form
from ui.terms import tokens

st.title("Search")
look.apply()
searcher = handles.searcher()
facets = handles.library_facets()
filters = search_form.sidebar_filters(facets, "search")
options = search_form.sidebar_options()

text = st.text_input("Describe what you are looking for", key="search_text", placeholder="apple - fruit")
keywords = st.text_input(
    "Words in file or folder names, captions or camera",
    key="search_keywords",
    placeholder="IMG_2023, beach-2021, Fujifilm",
    help="Found as parts of names (like `pixseek search --text`); with a description, both rankings are fused.",
).strip()
query_images = search_form.query_images(facets.roots)
images = [image.path for image in query_images]
terms = st.session_state.setdefault("search_terms", [])
query = tokens(text, terms, images=len(images))
if not query and not images and not keywords:
    st.info('Type what you are looking for (e.g. "a red circle", or "beach + 0.5:sunset - people"), words of file '
            "names, upload an image, or paste a path.")  # fmt: skip
    st.stop()
if query or images:
    try:
        parsed = parse(query, images)
    except QueryError as exc:
        st.error(f"{exc}; write terms as in `pixseek search`: beach + 0.5:sunset - people")
        st.stop()
    query_bar.show(parsed, query_images, terms)

signature = (tuple(query), tuple(map(str, images)), keywords, filters, options)
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
            keywords=keywords or None,
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
if result.total is not None:
    st.caption(f"{result.total} relevant results")
if not result.hits:
    st.info("Nothing matches; loosen the filters or the strictness.")
results.grid(result.hits, page * options.page_size, facets.roots)
results.pager(len(result.hits), options.page_size, result.total)
