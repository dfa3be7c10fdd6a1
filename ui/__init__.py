"""pixseek's interfaces, the only package that talks to a person: the `pixseek` command (ui/cli/, the one
place that prints errors and exits), the Streamlit app (app.py, a router over app_pages/; views and
cached handles beside it; serve.py starts it) and the demo. Nothing else imports `ui`."""
