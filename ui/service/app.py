"""The HTTP service of one library (`pixseek serve`): a FastAPI app whose model and index load once; its
OpenAPI schema at /openapi.json and docs page at /docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from . import clip_retrieval, files, library_routes, search_routes
from .errors import add_error_handlers, bearer
from .state import Library


def create_app(
    library: Path, *, token: str | None = None, cors: tuple[str, ...] = (), runtime: str = "auto", device: str = "auto"
) -> FastAPI:
    """The service app for one library folder (made or not: search routes say what is missing)."""
    app = FastAPI(title="pixseek", description=__doc__, dependencies=[Depends(bearer(token))])
    app.state.library = Library(Path(library), runtime, device)
    add_error_handlers(app)
    if cors:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors), allow_methods=["GET", "POST"], allow_headers=["*"])
    for module in (search_routes, files, library_routes, clip_retrieval):
        app.include_router(module.router)
    return app
