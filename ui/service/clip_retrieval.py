"""clip-retrieval's back-end API over a pixseek library, so its `ClipClient` and clip-front work unchanged:

    GET  /indices-list     ["<library name>"]
    POST /knn-service      {"text" | "image" (base64) | "image_url" | "embedding_input", "modality": "image",
                            "num_images", "num_result_ids", "indice_name", "deduplicate", ...}
                           -> [{"id", "similarity", "url", "caption", "image_path"}, ...]
    POST /metadata         {"ids": [...], "indice_name"} -> [{"id", "metadata": {"url", "caption", ...}}]

As clip_back does, the body is read as JSON whatever its content type (ClipClient sends none). Fields
pixseek has no counterpart for (aesthetic_score, aesthetic_weight, use_safety_model, use_violence_detector,
use_mclip) are accepted and ignored; the response's X-Pixseek-Note header says which were. An image URL
is refused unless it is one of this library's own files (.../api/original/ID).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from indexer.library import fetch_vectors
from search import Hit, first_paths

from ..upload import UPLOAD_LIMIT, save_upload
from .state import Library, Served

router = APIRouter(tags=["clip-retrieval"])
DUPLICATE_COSINE = 0.94  # clip_back's get_non_uniques threshold
IGNORED = ("aesthetic_score", "aesthetic_weight", "use_safety_model", "use_violence_detector", "use_mclip")
OWN_FILE = re.compile(r"/api/original/(\d+)$")


class KnnRequest(BaseModel):
    text: str | None = Field(None, max_length=10_000)
    image: str | None = Field(None, max_length=(UPLOAD_LIMIT * 4) // 3 + 4)  # base64 of at most the upload limit
    image_url: str | None = Field(None, max_length=2_000)
    embedding_input: list[float] | None = Field(None, max_length=8_192)
    modality: str = "image"
    num_images: int = Field(40, ge=1, le=10_000)
    num_result_ids: int | None = Field(None, ge=1, le=10_000)
    indice_name: str | None = None
    deduplicate: bool = False
    use_safety_model: bool = False
    use_violence_detector: bool = False
    use_mclip: bool = False
    aesthetic_score: int | str | None = None
    aesthetic_weight: float | str | None = None


class MetadataRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=0, lt=2**63)]] = Field(max_length=10_000)
    indice_name: str | None = None


async def body_as(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(json.loads(await request.body() or b"{}"))
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(400, f"{where}: {first['msg']}") from None


def check_index(library: Library, name: str | None) -> None:
    if name is not None and name != library.name:
        raise HTTPException(404, f"no index {name!r}; this server has {library.name!r} (GET /indices-list)")


@router.get("/indices-list")
def indices_list(library: Served) -> list[str]:
    """The one index this server holds: its library's folder name."""
    return [library.name]


def _query(library: Library, body: KnnRequest, k: int) -> list[Hit]:
    searcher = library.searcher
    given = [x for x in (body.text, body.image, body.image_url, body.embedding_input) if x not in (None, "", [])]
    if len(given) != 1:
        raise HTTPException(400, "give exactly one of text, image, image_url and embedding_input")
    if body.modality != "image":
        raise HTTPException(400, f"modality {body.modality!r}: this index holds images only (modality image)")
    if body.embedding_input:
        return searcher.search_vector(np.asarray(body.embedding_input, np.float32), k).hits
    if body.text:
        return searcher.search(body.text, k).hits
    if body.image_url:
        own = OWN_FILE.search(body.image_url.split("?")[0])
        if own is None:
            raise HTTPException(400, "image_url must be one of this library's files (.../api/original/ID)")
        return searcher.search(f"id:{own.group(1)}", k).hits
    try:
        data = base64.b64decode(body.image, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(400, "image: not base64") from None
    return searcher.search((), k, images=[str(save_upload(data, "image", library.path / "uploads"))]).hits


def _unique(library: Library, hits: list[Hit]) -> list[Hit]:
    """Hits without those whose embedding is within DUPLICATE_COSINE of a better-ranked one."""
    if len(hits) < 2:
        return hits
    s = library.searcher
    xb = fetch_vectors(s.db, s.model_id, s.dim)(np.asarray([h.image_id for h in hits], np.int64))
    kept: list[int] = []
    for i in range(len(hits)):
        if not kept or float((xb[kept] @ xb[i]).max()) < DUPLICATE_COSINE:
            kept.append(i)
    return [hits[i] for i in kept]


def _result(request: Request, hit: Hit) -> dict:
    url = str(request.url_for("get_original", image_id=hit.image_id))
    caption = hit.caption or hit.path.rsplit("/", 1)[-1]
    return {"id": hit.image_id, "similarity": hit.score, "url": url, "caption": caption, "image_path": hit.path}


@router.post("/knn-service")
async def knn_service(request: Request, library: Served) -> JSONResponse:
    """clip_back's search: the closest images to a text, an image (base64), a library file or a vector."""
    body = await body_as(request, KnnRequest)
    check_index(library, body.indice_name)
    hits = _query(library, body, max(body.num_images, body.num_result_ids or 0))
    hits = (_unique(library, hits) if body.deduplicate else hits)[: body.num_images]
    ignored = [name for name in IGNORED if getattr(body, name) not in (None, False, "", 0)]
    headers = {"X-Pixseek-Note": "ignored: " + ", ".join(ignored)} if ignored else {}
    return JSONResponse([_result(request, h) for h in hits], headers=headers)


@router.post("/metadata")
async def metadata(request: Request, library: Served) -> list[dict]:
    """clip_back's metadata of result ids (clip-front asks for more of a result page this way)."""
    body = await body_as(request, MetadataRequest)
    check_index(library, body.indice_name)
    paths = first_paths(library.searcher.db, np.asarray(body.ids, np.int64))
    meta = lambda i: {"url": str(request.url_for("get_original", image_id=i)), "image_path": paths[i]}  # noqa: E731
    return [{"id": i, "metadata": meta(i)} for i in body.ids if i in paths]
