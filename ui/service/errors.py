"""Errors as one line of JSON, `{"detail": "..."}`: 4xx for what the client sent (bad JSON, bad parameters,
unknown ids, paths outside the roots), 500 only for pixseek's own failures, never with a traceback; and the
bearer token every route but /api/health needs when the server has one."""

from __future__ import annotations

import hmac
import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from indexer import PixseekError
from indexer.library import LibraryNotFound
from search import NoModel, QueryError

from ..thumbs import NotServable

log = logging.getLogger("pixseek.service")


STATUS = {QueryError: 400, NotServable: 403, LibraryNotFound: 404, NoModel: 409}


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": " ".join(str(detail).split())}, status_code=status)


def _validation_line(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    return f"{where}: {first.get('msg', 'invalid')}"


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        return _error(422, _validation_line(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        return _error(exc.status_code, exc.detail)

    @app.exception_handler(PixseekError)
    async def pixseek_error(_request: Request, exc: PixseekError):
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        return _error(status, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("pixseek service: %s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the server's log has the details")


def bearer(token: str | None):
    """A dependency that lets a request through when it carries the token (or none is set)."""

    def check(request: Request) -> None:
        if token is None or request.url.path == "/api/health":
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "this server needs `Authorization: Bearer TOKEN` (the token it was started with)")

    return check
