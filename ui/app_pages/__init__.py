"""The Streamlit app's pages (ui/app.py routes to them by file path); each stays small and calls search/."""
