"""The Search page's stylesheet (ui/search.css), served inline by pixseek: nothing is fetched from elsewhere."""

from pathlib import Path

import streamlit as st

STYLESHEET = Path(__file__).with_name("search.css")


def apply() -> None:
    st.html(STYLESHEET)  # a stylesheet alone goes to the page's event container and takes no space
