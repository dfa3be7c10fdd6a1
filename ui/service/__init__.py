"""pixseek's HTTP service (`pixseek serve`): the search, files, status and duplicates of one library as JSON,
and clip-retrieval's /knn-service, /indices-list and /metadata, on FastAPI and uvicorn."""

from .app import create_app

__all__ = ["create_app"]
