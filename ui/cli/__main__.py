"""`python -m ui.cli ...` runs `pixseek ...` (the tests and the UI's background jobs start it this way)."""

from .main import main

main()
