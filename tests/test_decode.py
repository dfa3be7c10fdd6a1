"""Decoding one file: content hash of the bytes read, EXIF metadata, perceptual hash, model crop."""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np
import pytest
from PIL import Image, ImageDraw

from indexer.errors import ImageError, ImageTooLarge
from indexer.sources.decode import decode_file


def _photo(width=320, height=200, seed=0):
    """A picture with a few large distinct shapes on a gradient: structure pHash can rely on."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    arr = np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 90)], -1) + rng.integers(
        0, 8, (height, width, 3)
    )
    image = Image.fromarray(arr.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 30, 120, 130), fill=(20, 20, 160))
    draw.rectangle((200, 100, 300, 190), fill=(250, 240, 30))
    draw.polygon([(150, 10), (190, 90), (110, 90)], fill=(200, 30, 30))
    return image


def _jpeg_with_exif(path, orientation=1, **tags):
    image = _photo()
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = tags.get("make", "Google")
    exif[0x0110] = tags.get("model", "Pixel 7")
    exif.get_ifd(0x8769)[0x9003] = tags.get("taken", "2021:06:05 14:03:22")
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 29.0), 3: "W", 4: (2.0, 17.0, 40.0)})
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def test_decode_reads_hash_size_and_exif(tmp_path):
    path = _jpeg_with_exif(tmp_path / "a.jpg")
    decoded = decode_file(path, 224)
    meta = decoded.meta
    assert decoded.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert decoded.size == path.stat().st_size
    assert (meta.width, meta.height, meta.format) == (320, 200, "JPEG")
    assert meta.taken_at == datetime(2021, 6, 5, 14, 3, 22)
    assert (meta.camera_make, meta.camera_model) == ("Google", "Pixel 7")
    assert meta.gps_lat == pytest.approx(48.858, abs=1e-3) and meta.gps_lon == pytest.approx(-2.2944, abs=1e-3)
    assert decoded.crop.shape == (224, 224, 3) and decoded.crop.dtype == np.uint8
    assert len(meta.phash) == 16


def test_rotated_exif_reports_upright_size_and_the_same_phash(tmp_path):
    upright = tmp_path / "up.png"
    _photo().save(upright)
    rotated = tmp_path / "rot.jpg"
    image = _photo().transpose(Image.Transpose.ROTATE_90)  # stored sideways, EXIF 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(rotated, "JPEG", quality=95, exif=exif)
    a, b = decode_file(upright, 224), decode_file(rotated, 224)
    assert (b.meta.width, b.meta.height, b.meta.orientation) == (320, 200, 6)
    distance = bin(int(a.meta.phash, 16) ^ int(b.meta.phash, 16)).count("1")
    assert distance <= 6


def test_garbage_exif_dates_become_none(tmp_path):
    decoded = decode_file(_jpeg_with_exif(tmp_path / "a.jpg", taken="0000:00:00 00:00:00"), 224)
    assert decoded.meta.taken_at is None


def test_non_images_empty_and_truncated_files_fail_with_a_reason_naming_the_file(tmp_path):
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "html.png").write_bytes(b"<html><body>not an image</body></html>")
    _photo().save(tmp_path / "full.jpg", "JPEG")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "full.jpg").read_bytes()[:400])
    for name, reason in (
        ("zero.jpg", "empty file"),
        ("html.png", "not a recognised image format"),
        ("cut.jpg", "cannot decode"),
    ):
        with pytest.raises(ImageError, match=reason) as err:
            decode_file(tmp_path / name, 224)
        assert str(tmp_path / name) in str(err.value)


def test_an_image_over_the_pixel_limit_is_refused(tmp_path):
    _photo(400, 400).save(tmp_path / "big.png")
    with pytest.raises(ImageTooLarge):
        decode_file(tmp_path / "big.png", 224, max_pixels=100_000)


def test_an_image_query_that_takes_too_long_is_one_error_not_a_wait(tmp_path, monkeypatch):
    import time

    import indexer.sources.decode

    path = tmp_path / "slow.png"
    Image.new("RGB", (8, 8)).save(path)
    monkeypatch.setattr(indexer.sources.decode, "decode_bytes", lambda *a, **k: time.sleep(30))  # a stuck decoder
    started = time.perf_counter()
    with pytest.raises(ImageError, match="took over 0.3 s to read and decode"):
        indexer.sources.decode.decode_file(path, 32, seconds=0.3)
    assert time.perf_counter() - started < 5
