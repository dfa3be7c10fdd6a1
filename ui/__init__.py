"""pixseek's user interfaces: the `pixseek` command (ui.cli) and, later, the Streamlit app."""
