"""Thumbnails: small, upright (EXIF), made once; only files inside the library's folders are shown."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from ui.thumbs import NotServable, inside_roots, thumbnail


def _rotated_photo(path) -> None:
    """A 400x200 JPEG whose EXIF says "rotate 90 degrees": upright it is 200 wide, 400 high."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 200), (200, 30, 30)).save(path, exif=exif)


def test_a_thumbnail_is_upright_small_and_made_once(tmp_path):
    photo = tmp_path / "photo.jpg"
    _rotated_photo(photo)
    thumb = thumbnail(tmp_path / "lib", photo)
    assert thumb.is_relative_to(tmp_path / "lib" / "thumbs")
    with Image.open(thumb) as image:
        assert image.size == (128, 256)
    made = thumb.stat().st_mtime_ns
    assert thumbnail(tmp_path / "lib", photo) == thumb and thumb.stat().st_mtime_ns == made


def test_a_changed_file_gets_a_new_thumbnail(tmp_path):
    photo = tmp_path / "photo.jpg"
    _rotated_photo(photo)
    first = thumbnail(tmp_path / "lib", photo)
    Image.new("RGB", (300, 300), (0, 0, 255)).save(photo)
    assert thumbnail(tmp_path / "lib", photo) != first


def test_a_link_out_of_the_roots_is_not_served(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "secret.jpg", tmp_path / "root" / "link.jpg")
    with pytest.raises(NotServable):
        inside_roots(tmp_path / "root" / "link.jpg", (str(tmp_path / "root"),))
    with pytest.raises(NotServable):
        inside_roots(tmp_path / "root" / ".." / "secret.jpg", (str(tmp_path / "root"),))
    assert inside_roots(tmp_path / "root" / "a.jpg", (str(tmp_path / "root"),)) == (tmp_path / "root" / "a.jpg")
