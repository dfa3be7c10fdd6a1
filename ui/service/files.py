"""A hit's thumbnail and original, by image id: only files inside the library's roots are ever served
(the path comes from the catalog and is checked again, links resolved, before it is opened)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import FileResponse, Response

from indexer.sources import open_source, split_address
from search import first_paths

from ..thumbs import inside_roots, thumbnail
from .search_routes import roots
from .state import Library, Served

router = APIRouter(prefix="/api", tags=["files"])
ImageId = Annotated[int, Path(ge=0, lt=2**63, description="an indexed image's id (a hit's image_id)")]


def indexed_path(library: Library, image_id: int) -> str:
    """The checked path of an indexed image's first ok file; 404 for an id the library does not have."""
    path = first_paths(library.searcher.db, np.asarray([image_id], np.int64)).get(image_id)
    if path is None:
        raise HTTPException(404, f"no indexed image has id {image_id}")
    return str(inside_roots(path, roots(library)))


@router.get("/thumbnail/{image_id}", responses={200: {"content": {"image/jpeg": {}}}})
def get_thumbnail(image_id: ImageId, library: Served) -> FileResponse:
    """A 256 px JPEG of the image, upright (EXIF), made once and cached in the library."""
    return FileResponse(thumbnail(library.path, indexed_path(library, image_id)), media_type="image/jpeg")


@router.get("/original/{image_id}")
def get_original(image_id: ImageId, library: Served) -> Response:
    """The image file's own bytes (a tar shard member's, read out of its tar)."""
    path = indexed_path(library, image_id)
    if split_address(path) is None:
        return FileResponse(path)
    data = open_source(path).getvalue()
    return Response(data, media_type="application/octet-stream")
