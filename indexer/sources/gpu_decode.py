"""JPEG bytes to model crops on the GPU: the hardware JPEG engines through nvImageCodec (hw_jpeg) where it is
installed, else nvJPEG through torchvision; then upright, resize and crop there.

A reader worker reads and hashes a file, then `probe` looks at the JPEG's header (size, EXIF,
orientation; nothing is decoded) and hands it over as a `JpegJob`, its bytes left on disk (the device side
reads them again, `reader.with_bytes`: see there why). `decode_jobs` decodes a
batch of them with `torchvision.io.decode_jpeg(list, device=...)` and returns uint8 (n, S, S, 3)
crops on the device plus 32x32 grey thumbnails for the perceptual hash. Files nvJPEG refuses are
returned by index so the caller decodes them on the CPU. The resize is a box filter down to about twice
the size (like the CPU path's draft mode), then antialiased bicubic (`F.interpolate(..., antialias=True)`,
torchvision's counterpart of PIL's); the crop geometry is `preprocess.crop_geometry`, the CPU path's.
torch is imported only when a batch is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

from indexer.model import MAX_RESIZED_RATIO, crop_geometry

from . import hw_jpeg
from .decode import Decoded, ImageMeta, exif_fields
from .images import DECODE_ERRORS
from .scan import FoundFile

JPEG_MAGIC = b"\xff\xd8\xff"
# Smaller JPEGs stay on the CPU workers: on an H100 host the GPU path (nvJPEG plus per-image resize
# launches in the main thread) took 500x375 JPEGs at ~170/s, 15 workers at over 2,000/s.
GPU_MIN_PIXELS = 2_000_000
PHASH_SIZE = 32  # imagehash.phash's resize: hash_size 8 x highfreq_factor 4
RESIZE_GROUP = 8  # images resized together (12 MP: ~1.2 GB of float32 pixels on the device at once)
NO_CROP = np.zeros((0, 0, 3), np.uint8)  # Decoded.crop of an image whose crop stayed on the GPU
# (width, height) after each EXIF orientation is applied swaps for 5..8.
SWAPS_SIDES = (5, 6, 7, 8)


@dataclass(frozen=True)
class JpegJob:
    """A JPEG whose bytes go to the GPU decoder, with what its header already told."""

    file: FoundFile
    content_hash: str
    data: bytes | None  # None: left on disk, to be read again where it is decoded
    fields: dict  # ImageMeta fields except phash
    orientation: int  # EXIF orientation, 1 when absent
    size: int = 0  # bytes of the file as hashed


def probe(
    file: FoundFile, data: bytes, digest: str, max_pixels: int, min_pixels: int = GPU_MIN_PIXELS
) -> JpegJob | None:
    """A JpegJob for a large (>= GPU_MIN_PIXELS) RGB or grey JPEG within the limits, else None (CPU path)."""
    if not data.startswith(JPEG_MAGIC):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = Image.open(io.BytesIO(data))
    except (*DECODE_ERRORS, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    width, height = head.size
    if head.format != "JPEG" or head.mode not in ("RGB", "L") or not min_pixels <= width * height <= max_pixels:
        return None
    if max(width, height) > MAX_RESIZED_RATIO * min(width, height):
        return None
    fields = exif_fields(head)
    orientation = fields.get("orientation") or 1
    if orientation in SWAPS_SIDES:
        width, height = height, width
    fields = {**dict.fromkeys(("taken_at", "camera_make", "camera_model", "gps_lat", "gps_lon")), **fields}
    fields.update(width=width, height=height, format="JPEG", orientation=fields.get("orientation"))
    return JpegJob(file, digest, data, fields, orientation, len(data))


def upright(images, orientation: int):
    """(..., C, H, W) tensor(s) shown upright for an EXIF orientation, as PIL's transposes do."""
    import torch

    if orientation in (5, 7):
        images = images.transpose(-2, -1)
    ops = {
        2: lambda x: x.flip(-1),
        3: lambda x: x.flip(-2, -1),
        4: lambda x: x.flip(-2),
        6: lambda x: torch.rot90(x, -1, (-2, -1)),
        7: lambda x: x.flip(-2, -1),
        8: lambda x: torch.rot90(x, 1, (-2, -1)),
    }
    return ops[orientation](images) if orientation in ops else images


def resized(images, size: int):
    """float (n, 3, h, w): upright (n, 3, H, W) uint8 images of one size with their short side resized to `size`.

    A box filter first takes large images down to about twice the target (as PIL's draft mode does
    for JPEGs on the CPU path), so the antialiased bicubic kernel stays small: it needs shared
    memory in proportion to the scale factor and refuses factors past about 30.
    """
    import torch.nn.functional as F

    height, width = images.shape[-2:]
    new_w, new_h, _, _ = crop_geometry(width, height, size)
    x = images.float()
    factor = min(height, width) // (2 * size)
    if factor >= 2:
        x = F.avg_pool2d(x, factor, ceil_mode=True)
    if (new_w, new_h) != (width, height):
        x = F.interpolate(x, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False)
    return x


def crop(x, size: int):
    """uint8 (n, size, size, 3) centre crops of resized float (n, 3, h, w) images."""
    import torch

    height, width = x.shape[-2:]
    _, _, left, top = crop_geometry(width, height, size)
    return x[:, :, top : top + size, left : left + size].clamp(0, 255).round_().to(torch.uint8).permute(0, 2, 3, 1)


def grey_thumb(x):
    """float (n, 32, 32) grey thumbnails of resized float (n, 3, h, w) images, for the perceptual hash."""
    import torch.nn.functional as F

    # Weights as Python numbers: a weights tensor made here is a copy from pageable host memory, which waits for
    # everything queued on the stream (12% of the decode thread's time on 12 MP JPEGs).
    r, g, b = x.clamp(0, 255).unbind(1)
    grey = (0.299 * r + 0.587 * g + 0.114 * b).round_()[:, None]  # PIL's convert("L") rounds to 8 bits
    return F.interpolate(grey, size=(PHASH_SIZE, PHASH_SIZE), mode="bicubic", antialias=True)[:, 0]


def decode_many(datas: list[bytes], device: str) -> tuple[list, str]:
    """(3, H, W) uint8 tensors of JPEG bytes on `device`, None for each one the decoder refuses; and which
    decoder it was: "nvimgcodec" (the hardware engines, hw_jpeg) where it can be made, else "nvjpeg"."""
    decoder = hw_jpeg.decoder_for(device)
    if decoder is not None:
        return hw_jpeg.decode(decoder, datas, device), "nvimgcodec"
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    tensors = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas]
    try:
        return decode_jpeg(tensors, mode=ImageReadMode.RGB, device=device), "nvjpeg"
    except RuntimeError:  # one bad file fails the whole batch: retry one at a time
        out = []
        for tensor in tensors:
            try:
                out.append(decode_jpeg(tensor, mode=ImageReadMode.RGB, device=device))
            except RuntimeError:
                out.append(None)
        return out, "nvjpeg"


def decode_jobs(jobs: list[JpegJob], size: int, device: str):
    """(crops uint8 (m, S, S, 3), thumbs float (m, 32, 32), decoded job indices, refused job indices, decoder)."""
    images, decoder = decode_many([j.data for j in jobs], device) if jobs else ([], "")
    return (*crop_decoded(jobs, images, size, device), decoder)


def crop_decoded(jobs: list[JpegJob], images: list, size: int, device: str):
    """decode_jobs' second step, on the current stream: (crops, thumbs, decoded indices, refused indices) of
    `images` (decode_many's, one per job, None where refused)."""
    import torch

    crops, thumbs, done = [], [], []
    refused = [i for i, image in enumerate(images) if image is None]
    for group in _groups(jobs, images):
        try:
            batch = upright(torch.stack([images[i] for i in group]), jobs[group[0]].orientation)
            x = resized(batch, size)
            crops.append(crop(x, size))
            thumbs.append(grey_thumb(x))
        except RuntimeError:  # a size the device kernels refuse: the CPU decodes them
            refused += group
            continue
        done += group
    if not crops:
        empty = torch.zeros((0, size, size, 3), dtype=torch.uint8, device=device)
        return empty, torch.zeros((0, PHASH_SIZE, PHASH_SIZE), device=device), done, refused
    return torch.cat(crops), torch.cat(thumbs), done, sorted(refused)


def _groups(jobs: list[JpegJob], images: list) -> list[list[int]]:
    """Indices of the decoded images in groups of one stored size and orientation, at most RESIZE_GROUP each:
    each group is resized by one set of kernel launches. A phone library's photos share a few sizes, so a
    chunk of 64 takes a handful of groups where one image at a time took 64 x ~12 launches (host time that
    the encode and the other threads wait for)."""
    groups: dict[tuple, list[int]] = {}
    for i, (job, image) in enumerate(zip(jobs, images, strict=True)):
        if image is not None:
            groups.setdefault((tuple(image.shape), job.orientation), []).append(i)
    return [g[s : s + RESIZE_GROUP] for g in groups.values() for s in range(0, len(g), RESIZE_GROUP)]


def phash_hex(thumb: np.ndarray) -> str:
    """imagehash.phash's 16 hex digits from a (32, 32) grey thumbnail (its steps after the resize)."""
    import scipy.fftpack

    pixels = np.clip(np.rint(thumb), 0, 255).astype(np.uint8)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)[:8, :8]
    return str(imagehash.ImageHash(dct > np.median(dct)))


def decoded_from_gpu(job: JpegJob, thumb: np.ndarray) -> Decoded:
    """The Decoded record of a GPU-decoded JPEG (its crop stayed on the device)."""
    meta = ImageMeta(phash=phash_hex(thumb), **job.fields)
    return Decoded(content_hash=job.content_hash, size=job.size, meta=meta, crop=NO_CROP)
