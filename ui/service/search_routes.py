"""Search routes: the query language and options of `pixseek search`, the hit objects of its `--json`.

GET  /api/search?q=a+red+circle&k=10&relevant=true&sort=date&after=2020-01-01
GET  /api/search?keywords=IMG_20&q=beach      keywords (names, folders, captions, cameras), alone or fused with q
POST /api/search           {"q": ["beach", "+", "0.5:sunset"], "images": [...], "k": 10, ...}
POST /api/search/upload    multipart: file=<an image>, plus the same fields as form or query values
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from indexer.library import Root, session
from search import SORTS, Filters, SearchResult

from ..thumbs import inside_roots
from ..upload import UPLOAD_LIMIT, save_upload
from .state import Library, Served

router = APIRouter(prefix="/api", tags=["search"])


class SearchOptions(BaseModel):
    """What a search may say besides its terms (names and meanings as `pixseek search`'s options)."""

    k: int = Field(20, ge=1, le=10_000)
    offset: int = Field(0, ge=0)
    relevant: bool = False
    strictness: float = Field(0.5, ge=0.0, le=1.0)
    sort: str = Field("score", pattern="^(" + "|".join(SORTS) + ")$")
    reverse: bool = False
    keywords: str | None = Field(None, max_length=1000)  # `pixseek search --text`
    under: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    camera: str | None = Field(None, max_length=200)
    min_width: int | None = Field(None, ge=0)
    min_height: int | None = Field(None, ge=0)
    max_width: int | None = Field(None, ge=0)
    max_height: int | None = Field(None, ge=0)
    formats: list[str] = Field(default_factory=list, max_length=20)

    def filters(self) -> Filters:
        fields = {k: getattr(self, k) for k in ("under", "after", "before", "camera")}
        sizes = {k: getattr(self, k) for k in ("min_width", "min_height", "max_width", "max_height")}
        return Filters(**fields, **sizes, formats=tuple(self.formats))


class SearchRequest(SearchOptions):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not a silently default search
    q: list[str] = Field(default_factory=list, max_length=64)  # terms and operators, as on the command line
    images: list[str] = Field(default_factory=list, max_length=8)  # indexed files (inside the roots) to search by


class SearchResponse(BaseModel):
    hits: list[dict]
    total: int | None  # with relevant=true: how many results stand out, before paging
    warnings: list[str]


def roots(library: Library) -> tuple[str, ...]:
    """The library's root folders: only files below them are ever read or served."""
    with session(library.searcher.db) as s:
        return tuple(s.scalars(select(Root.path)))


def answer(result: SearchResult) -> SearchResponse:
    return SearchResponse(hits=[h.as_dict() for h in result.hits], total=result.total, warnings=result.warnings)


def run(library: Library, request: SearchRequest, uploads: list[str] = ()) -> SearchResponse:
    inside = tuple(str(inside_roots(path, roots(library))) for path in request.images)
    options = request.model_dump(exclude={"q", "images", *Filters.__dataclass_fields__, "formats"})
    result = library.searcher.search(request.q, images=(*inside, *uploads), filters=request.filters(), **options)
    return answer(result)


@router.post("/search", response_model=SearchResponse)
def search_post(request: SearchRequest, library: Served) -> SearchResponse:
    """Search by text, indexed files and `id:N` terms, with filters, paging, a relevance cutoff and sort."""
    return run(library, request)


@router.get("/search", response_model=SearchResponse)
def search_get(
    library: Served,
    options: Annotated[SearchOptions, Query()],
    q: Annotated[list[str], Query(max_length=64)] = (),
) -> SearchResponse:
    """The same search with its fields as query parameters (`q` repeated for several terms)."""
    return run(library, SearchRequest(q=list(q), **options.model_dump()))


@router.post("/search/upload", response_model=SearchResponse)
async def search_upload(
    file: Annotated[UploadFile, File()],
    library: Served,
    q: Annotated[list[str], Form()] = (),
    k: Annotated[int, Form(ge=1, le=10_000)] = 20,
    relevant: Annotated[bool, Form()] = False,
    keywords: Annotated[str | None, Form(max_length=1000)] = None,
) -> SearchResponse:
    """Search by an uploaded image (at most 20 MB, decoded within the indexer's limits), plus optional terms."""
    data = await file.read(UPLOAD_LIMIT + 1)
    path = save_upload(data, file.filename or "upload", library.path / "uploads")
    return run(library, SearchRequest(q=list(q), k=k, relevant=relevant, keywords=keywords), uploads=[str(path)])
