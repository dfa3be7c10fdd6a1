"""The pixseek Streamlit app: a router over the pages in ui/app_pages (run by `pixseek ui`)."""

from pathlib import Path

import streamlit as st

from ui.logs import quiet_library_logs

PAGES = Path(__file__).with_name("app_pages")
quiet_library_logs()

# An emoji favicon is drawn by the page itself; a ":material/...:" one is fetched from fonts.gstatic.com.
st.set_page_config(page_title="pixseek", page_icon="🔎", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "search_page.py", title="Search", icon=":material/search:", default=True),
        st.Page(PAGES / "duplicates_page.py", title="Duplicates", icon=":material/content_copy:"),
        st.Page(PAGES / "curate_page.py", title="Curate", icon=":material/filter_alt:"),
        st.Page(PAGES / "library_page.py", title="Library", icon=":material/photo_library:"),
        st.Page(PAGES / "map_page.py", title="Map", icon=":material/scatter_plot:"),
    ]
)
navigation.run()
