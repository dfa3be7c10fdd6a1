"""The hostile corpus's second half: every format that carries an orientation, turned eight ways; multi-frame
and layered formats; decompression bombs in every container Pillow opens; files whose C decoder writes
to stderr. `hostile.make_corpus` writes them beside the first half."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from .hostile import ORIENTED_SIZE, STORED, Expect, picture, raw_png, upright_picture

OVER = "over the limit"


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def exif_orientation(tag: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = tag
    return exif


# How each format stores the orientation: TIFF in its own tag (Pillow's reader turns the image itself and
# reports the turned size), WebP and PNG in an EXIF chunk, HEIF as irot/imir boxes (pillow-heif writes
# them from the EXIF tag and turns the image when it reads it), AVIF likewise (Pillow's own reader).
ORIENTED_FORMATS = {
    "tif": lambda image, tag: saved(image, "TIFF", tiffinfo={0x0112: tag}),
    "webp": lambda image, tag: saved(image, "WEBP", lossless=True, exif=exif_orientation(tag).tobytes()),
    "png": lambda image, tag: saved(image, "PNG", exif=exif_orientation(tag).tobytes()),
    "heic": lambda image, tag: saved(image, "HEIF", quality=95, exif=exif_orientation(tag).tobytes()),
    "avif": lambda image, tag: saved(image, "AVIF", quality=95, exif=exif_orientation(tag).tobytes()),
}


def oriented_names() -> list[str]:
    """Every file of the corpus (both halves) that must be embedded upright: the eight tags in each format."""
    return [f"orientation-{tag}.jpg" for tag in STORED] + [
        f"orientation-{tag}.{ext}" for ext in ORIENTED_FORMATS for tag in STORED
    ]


def _oriented(folder: Path) -> list[Expect]:
    upright, out = upright_picture(), []
    for ext, write in ORIENTED_FORMATS.items():
        for tag, op in STORED.items():
            name = f"orientation-{tag}.{ext}"
            (folder / name).write_bytes(write(upright.transpose(op) if op else upright, tag))
            out.append(Expect(name, "ok", upright=ORIENTED_SIZE))
    return out


def psd(image: Image.Image, layers: tuple[Image.Image, ...] = (), claim: tuple[int, int] | None = None) -> bytes:
    """A Photoshop file (8-bit RGB, raw): the flattened composite `image`, and `layers` as layer records
    (Pillow's layers are frames 1..n, the composite is what it opens at). Pillow cannot write PSD."""
    width, height = claim or image.size
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3) + struct.pack(">II", 0, 0)
    layer_block = b""
    if layers:
        records, channels = b"", b""
        for layer in layers:
            w, h = layer.size
            assert (w * h) % 2 == 0  # even channel sizes: no padding bytes between them
            records += struct.pack(">iiiiH", 0, 0, h, w, 3)
            records += b"".join(struct.pack(">hI", c, 2 + w * h) for c in range(3))
            records += b"8BIMnorm" + bytes((255, 0, 0, 0)) + struct.pack(">IIII", 12, 0, 0, 0)
            channels += b"".join(struct.pack(">H", 0) + band.tobytes() for band in layer.split())
        info = struct.pack(">h", len(layers)) + records + channels
        body = struct.pack(">I", len(info)) + info + struct.pack(">I", 0)
        layer_block = struct.pack(">I", len(body)) + body
    else:
        layer_block = struct.pack(">I", 0)
    pixels = b"" if claim else b"".join(band.tobytes() for band in image.split())
    return header + layer_block + struct.pack(">H", 0) + pixels


def _gif_claiming(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + descriptor + b"\x08\x00;"


def _bmp_claiming(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40, 0, 0, 14 + 40) + info


def tiff_tag(data: bytes, tag: int, value: int) -> bytes:
    """A TIFF (as Pillow writes it: little-endian, one IFD) with one SHORT or LONG tag set to `value`."""
    out = bytearray(data)
    ifd = struct.unpack("<I", out[4:8])[0]
    for entry in range(struct.unpack("<H", out[ifd : ifd + 2])[0]):
        at = ifd + 2 + 12 * entry
        found, kind = struct.unpack("<HH", out[at : at + 4])
        if found == tag:
            out[at + 8 : at + 12] = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    return bytes(out)


def _icns_bomb() -> bytes:
    """An Apple icon whose 1024 px entry is a 14000 x 14000 PNG: Pillow learns its size only when it loads."""
    png = raw_png(14_000, 14_000, 8, 0, lambda y: bytes(14_000))
    entry = b"ic10" + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


def _webp_claiming() -> bytes:
    """A lossless WebP header saying 16384 x 16384 (268 MP), no image data."""
    bits = (16383) | (16383 << 14)
    vp8l = b"\x2f" + struct.pack("<I", bits) + bytes(16)
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _corrupt_deflate_tiff() -> bytes:
    """A deflate-compressed TIFF with its strip scrambled: libtiff prints "ZIPDecode: Decoding error" on fd 2."""
    data = bytearray(saved(picture(40, (256, 256)), "TIFF", compression="tiff_deflate"))
    for i in range(40, 400):
        data[i] = (data[i] * 7 + 13) % 256
    return bytes(data)


def _formats(folder: Path) -> list[Expect]:
    base, frames = picture(41), [picture(42 + i) for i in range(3)]
    ok = {
        "flat.psd": psd(base),
        "layers.psd": psd(base, (picture(45, (40, 30)), picture(46, (20, 10)))),
        "stereo.mpo": saved(frames[0], "MPO", save_all=True, append_images=frames[1:]),
        "animated.png": saved(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=40),
        "rgba.bmp": saved(base.convert("RGBA"), "BMP"),
        "transparent.gif": saved(base.convert("P"), "GIF", transparency=0),
        "lzw.tif": saved(base, "TIFF", compression="tiff_lzw"),
        "cmyk.tif": saved(base.convert("CMYK"), "TIFF"),
        "i16.tif": saved(Image.fromarray((np.arange(96 * 72).reshape(72, 96) * 9).astype(np.uint16)), "TIFF"),
        "lossy-alpha.webp": saved(base.convert("RGBA"), "WEBP", quality=70),
        "bigtiff.tif": saved(base, "TIFF", big_tiff=True),
        "grey.jpg": saved(base.convert("L"), "JPEG", quality=85),
    }
    bombs = {
        "claims-40000x40000.gif": _gif_claiming(40_000, 40_000),
        "claims-40000x40000.bmp": _bmp_claiming(40_000, 40_000),
        "claims-60000x60000.tif": tiff_tag(tiff_tag(saved(base, "TIFF"), 256, 60_000), 257, 60_000),
        "claims-30000x30000.psd": psd(base, claim=(30_000, 30_000)),
        "claims-16384x16384.webp": _webp_claiming(),
        "icns-bomb.png": _icns_bomb(),
    }
    bad = {
        "corrupt-deflate.tif": (_corrupt_deflate_tiff(), "cannot decode"),
        "truncated.psd": (psd(base)[:-3000], "cannot decode"),
    }
    for name, data in {**ok, **bombs, **{n: d for n, (d, _) in bad.items()}}.items():
        (folder / name).write_bytes(data)
    sizes = {"flat.psd": base.size, "layers.psd": base.size, "stereo.mpo": frames[0].size}
    return (
        [Expect(name, "ok", upright=sizes.get(name)) for name in ok]
        + [Expect(name, "failed", OVER) for name in bombs]
        + [Expect(name, "failed", reason) for name, (_, reason) in bad.items()]
    )


def more_kinds(folder: Path) -> list[Expect]:
    """Write the second half into folder; what indexing each file must give."""
    return _oriented(folder) + _formats(folder)
