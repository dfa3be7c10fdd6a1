"""A corpus of hostile and odd image files, and what indexing each of them must give.

    python -m tests.reliability.hostile OUT_DIR     # from the checkout: writes the corpus, one line per file

Each entry says what the catalog must hold afterwards: "ok" (indexed; `upright` is the (width, height)
the catalog must record), "failed" (recorded with a one-line reason containing `reason`), or "either"
(a file whose readability depends on who runs the test, e.g. an unreadable file when running as root).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image

from indexer.sources import synthetic

pillow_heif.register_heif_opener()

ORIENTED_SIZE = (160, 120)  # the upright size of the eight EXIF-orientation files
# EXIF orientation tag -> the transpose that, applied to the upright picture, gives what is stored.
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class Expect:
    name: str  # path relative to the corpus folder, as the catalog stores it
    outcome: str  # "ok", "failed" or "either"
    reason: str = ""  # for "failed": a substring of the recorded reason
    upright: tuple[int, int] | None = None  # for "ok": (width, height) after EXIF orientation


def picture(seed: int = 0, size: tuple[int, int] = (96, 72)) -> Image.Image:
    """A coloured-shapes picture (RGB) of the given size."""
    return synthetic.sample(seed, 7).image.resize(size)


def upright_picture() -> Image.Image:
    """The picture the eight orientation files show once turned upright."""
    return picture(1, ORIENTED_SIZE)


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width: int, height: int, depth: int, colour: int, rows: Callable[[int], bytes], extra=b"") -> bytes:
    """A PNG written chunk by chunk: PIL cannot write 16-bit colour, and a bomb must not exist in memory."""
    compressor, idat = zlib.compressobj(9), []
    for y in range(height):
        idat.append(compressor.compress(b"\x00" + rows(y)))
    idat.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", b"".join(idat))
    return b"\x89PNG\r\n\x1a\n" + body + png_chunk(b"IEND", b"")


def _rgba16(y: int) -> bytes:
    row = np.zeros((64, 4), ">u2")
    row[:, 0], row[:, 1], row[:, 2] = y * 1000, np.arange(64) * 1000, 40000
    row[:, 3] = 0 if y < 8 else 65535  # the top rows fully transparent
    return row.tobytes()


def _set_sof_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header claiming width x height."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def _ycck(image: Image.Image) -> bytes:
    """A CMYK JPEG whose Adobe marker says YCCK (transform 2): libjpeg decodes it as YCCK."""
    data = jpeg_bytes(image.convert("CMYK"))
    at = data.index(b"Adobe")
    return data[: at + 11] + b"\x02" + data[at + 12 :]


def _corrupt_exif(image: Image.Image) -> bytes:
    """A JPEG with an APP1 Exif block whose TIFF header points its first IFD past the end."""
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<I", 0x7FFFFFF0) + os.urandom(32)
    data = jpeg_bytes(image)
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + data[2:]


def _tiff_samples(samples: int) -> bytes:
    """An RGB TIFF whose SamplesPerPixel tag says `samples` (PIL logs an error and refuses it)."""
    data = bytearray(_saved(picture(25), "TIFF"))
    ifd = struct.unpack("<I", data[4:8])[0]
    for entry in range(struct.unpack("<H", data[ifd : ifd + 2])[0]):
        at = ifd + 2 + 12 * entry
        if struct.unpack("<H", data[at : at + 2])[0] == 277:  # SamplesPerPixel, a SHORT held in the entry
            data[at + 8 : at + 10] = struct.pack("<H", samples)
    return bytes(data)


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _frames(n: int) -> list[Image.Image]:
    return [picture(10 + i) for i in range(n)]


def _ztxt_bomb() -> bytes:
    """A small PNG carrying a compressed text chunk that inflates to 64 MB."""
    text = zlib.compress(b"\x00" * (64 << 20), 9)
    extra = png_chunk(b"zTXt", b"comment\x00\x00" + text)
    return raw_png(8, 8, 8, 0, lambda y: bytes(8), extra)


def _pixel_bomb() -> bytes:
    """A 10000 x 10000 grey PNG (100 MP, over the 89 MP limit) that is ~100 KB on disk."""
    return raw_png(10_000, 10_000, 8, 0, lambda y: bytes(10_000))


def _write(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)


def _valid_files(folder: Path) -> list[Expect]:
    base = picture(2)
    files = {
        "cmyk.jpg": jpeg_bytes(base.convert("CMYK")),
        "ycck.jpg": _ycck(base),
        "rgba16-transparent.png": raw_png(64, 32, 16, 6, _rgba16),
        "palette-transparent.png": _saved(base.convert("P"), "PNG", transparency=0),
        "la.png": _saved(base.convert("LA"), "PNG"),
        "i16.png": _saved(Image.fromarray((np.arange(96 * 72).reshape(72, 96) * 9).astype(np.uint16)), "PNG"),
        "animated.gif": _saved(_frames(3)[0], "GIF", save_all=True, append_images=_frames(3)[1:], duration=50),
        "animated.webp": _saved(_frames(3)[0], "WEBP", save_all=True, append_images=_frames(3)[1:], duration=50),
        "multipage.tif": _saved(_frames(3)[0], "TIFF", save_all=True, append_images=_frames(3)[1:]),
        "corrupt-exif.jpg": _corrupt_exif(base),
        "photo.heic": _saved(picture(3), "HEIF", quality=80),
        "photo.avif": _saved(picture(4), "AVIF", quality=80),
        "one-pixel.png": _saved(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"),
        "strip-20000x100.png": _saved(picture(5, (20_000, 100)), "PNG"),
        "x" * 200 + "-long-ünïcödé-name.jpg": jpeg_bytes(picture(6)),
        "png-named.jpg": _saved(picture(13), "PNG"),
        "UPPER-CASE.JPG": jpeg_bytes(picture(14)),
        "trailing-garbage.jpg": jpeg_bytes(picture(15)) + os.urandom(2048),
        "progressive.jpg": jpeg_bytes(picture(16), progressive=True),
        "one-bit.png": _saved(picture(17).convert("1"), "PNG"),
        "float32.tif": _saved(Image.fromarray(np.linspace(0, 1, 96 * 72, dtype=np.float32).reshape(72, 96)), "TIFF"),
        "orientation-99.jpg": jpeg_bytes(picture(18), exif=_exif_orientation(99)),
        "lossless-alpha.webp": _saved(picture(19).convert("RGBA"), "WEBP", lossless=True),
    }
    for name, data in files.items():
        _write(folder, name, data)
    sizes = {"one-pixel.png": (1, 1), "strip-20000x100.png": (20_000, 100), "rgba16-transparent.png": (64, 32)}
    found = [Expect(name, "ok", upright=sizes.get(name)) for name in files]
    return found + _oriented(folder) + _folder_named_like_an_image(folder)


def _exif_orientation(tag: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = tag
    return exif


def _oriented(folder: Path) -> list[Expect]:
    upright = upright_picture()
    out = []
    for tag, op in STORED.items():
        stored = upright.transpose(op) if op else upright
        _write(folder, f"orientation-{tag}.jpg", jpeg_bytes(stored, exif=_exif_orientation(tag)))
        out.append(Expect(f"orientation-{tag}.jpg", "ok", upright=ORIENTED_SIZE))
    return out


def _folder_named_like_an_image(folder: Path) -> list[Expect]:
    (folder / "folder.jpg").mkdir()
    _write(folder / "folder.jpg", "inside.png", _saved(picture(8), "PNG"))
    return [Expect("folder.jpg/inside.png", "ok")]


def _bad_files(folder: Path) -> list[Expect]:
    good_jpeg, good_png = jpeg_bytes(picture(9)), _saved(picture(9), "PNG")
    files = {
        "zero-bytes.jpg": (b"", "empty file"),
        "random-bytes.jpg": (np.random.default_rng(0).bytes(4096), "not a recognised image format"),
        "html.png": (b"<!doctype html><html><body>not a picture</body></html>", "not a recognised image format"),
        "truncated.jpg": (good_jpeg[: len(good_jpeg) // 2], "cannot decode"),
        "truncated.png": (good_png[: len(good_png) // 2], "cannot decode"),
        "header-only.png": (good_png[:33], "not a recognised image format"),
        "text-bomb.png": (_ztxt_bomb(), "Decompressed data too large"),
        "pixel-bomb.png": (_pixel_bomb(), "over the limit"),
        "claims-60000x60000.jpg": (_set_sof_size(good_jpeg, 60_000, 60_000), "over the limit"),
        "50000-samples-per-pixel.tif": (_tiff_samples(50_000), "not a recognised image format"),
    }
    for name, (data, _) in files.items():
        _write(folder, name, data)
    return [Expect(name, "failed", reason) for name, (_, reason) in files.items()]


def _special_files(folder: Path) -> list[Expect]:
    out = []
    bad_name = os.fsencode(folder) + b"/not-utf8-\xff\xfe.jpg"
    with open(bad_name, "wb") as fh:
        fh.write(jpeg_bytes(picture(11)))
    out.append(Expect("not-utf8-\\xff\\xfe.jpg", "failed", "not valid UTF-8"))
    os.symlink("loop-b.jpg", folder / "loop-a.jpg")
    os.symlink("loop-a.jpg", folder / "loop-b.jpg")
    os.symlink("nowhere.jpg", folder / "dangling.jpg")
    out += [Expect(n, "failed", "symbolic link") for n in ("loop-a.jpg", "loop-b.jpg", "dangling.jpg")]
    os.symlink(".", folder / "loop-folder")  # a folder link to itself: the walk must end
    os.mkfifo(folder / "fifo.jpg")
    out.append(Expect("fifo.jpg", "failed", "not a regular file"))
    _write(folder, "no-permission.jpg", jpeg_bytes(picture(12)))
    os.chmod(folder / "no-permission.jpg", 0)
    # root reads it anyway: then it is indexed, else it fails; the test records which happened.
    out.append(Expect("no-permission.jpg", "either", "Permission denied"))
    return out


def permissions_enforced(folder: Path) -> bool:
    """Whether a mode-000 file is unreadable here (False when running as root)."""
    probe = folder / ".probe"
    probe.write_bytes(b"x")
    os.chmod(probe, 0)
    try:
        probe.read_bytes()
        return False
    except PermissionError:
        return True
    finally:
        os.chmod(probe, stat.S_IRUSR | stat.S_IWUSR)
        probe.unlink()


def make_corpus(folder: Path) -> list[Expect]:
    """Write the hostile corpus into folder (created); return what indexing each entry must give."""
    from .hostile_formats import more_kinds  # the second half builds on this module's pictures

    folder.mkdir(parents=True, exist_ok=True)
    return _valid_files(folder) + _bad_files(folder) + _special_files(folder) + more_kinds(folder)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.reliability.hostile OUT_DIR", file=sys.stderr)
        return 2
    for expect in make_corpus(Path(argv[0])):
        print(f"{expect.outcome:6} {expect.name} {expect.reason}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
