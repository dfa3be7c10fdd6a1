"""indexer.model.transform against open_clip's ViT-g-14 eval transform, and its handling of odd files."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from indexer.errors import ImageError, ImageTooLarge
from indexer.model.config import PreprocessConfig
from indexer.model.transform import normalize, preprocess, resize_crop, to_rgb
from indexer.sources.images import open_image

PRE = PreprocessConfig()
TOLERANCE = 1e-5
SIZES = [
    (640, 480),
    (480, 640),
    (224, 224),
    (223, 225),
    (225, 223),
    (50, 30),
    (30, 50),
    (4000, 300),
    (300, 4000),
    (333, 517),
    (1001, 999),
    (227, 1500),
    (97, 61),
    (1, 1),
    (7, 300),
    (801, 600),
]


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """uint8 (height, width, 3): gradients, a disc, a bar and seeded noise; nothing flat or symmetric."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    a = np.stack([255 * u, 255 * v, 128 + 100 * np.sin(6 * u + 3 * v)], axis=-1)
    disc = (u - 0.3) ** 2 + (v - 0.35) ** 2 < 0.04
    a[disc] = (240, 30, 60)
    a[(v > 0.7) & (v < 0.8) & (u > 0.5)] = (20, 200, 40)
    a += rng.normal(0, 12, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def with_orientation(image: Image.Image, orientation: int) -> Image.Image:
    """The image reopened from a lossless PNG whose EXIF says `orientation`."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    image.save(buf, "PNG", exif=exif.tobytes())
    return Image.open(io.BytesIO(buf.getvalue()))


def mode_cases() -> dict[str, Image.Image]:
    rgb = Image.fromarray(photo(347, 263, 1))
    grey16 = (photo(300, 260, 2)[..., 0].astype(np.uint16) * 257 + 100).astype(np.uint16)
    rgba = np.dstack([photo(260, 300, 3), np.linspace(0, 255, 260 * 300).reshape(300, 260).astype(np.uint8)])
    paletted = rgb.quantize(64)
    paletted.info["transparency"] = 5
    return {
        "L": rgb.convert("L"),
        "P": rgb.quantize(256),
        "P+transparency": paletted,
        "RGBA": Image.fromarray(rgba),
        "LA": Image.fromarray(rgba).convert("LA"),
        "CMYK": rgb.convert("CMYK"),
        "I;16": Image.fromarray(grey16),
        "I": Image.fromarray(grey16.astype(np.int32)),
        "F": Image.fromarray(grey16.astype(np.float32) / 65535),
        "1": rgb.convert("1"),
    }


def parity_cases() -> dict[str, Image.Image]:
    cases = {f"RGB {w}x{h}": Image.fromarray(photo(w, h, 10 + i)) for i, (w, h) in enumerate(SIZES)}
    cases.update(mode_cases())
    asymmetric = Image.fromarray(photo(300, 200, 7))
    cases.update({f"EXIF orientation {o}": with_orientation(asymmetric, o) for o in range(1, 9)})
    return cases


def open_clip_transform():
    open_clip = pytest.importorskip("open_clip")
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    # What create_model_and_transforms('ViT-g-14', 'laion2b_s34b_b88k') builds for eval: the tag's
    # _pcfg gives resize_mode 'shortest', interpolation 'bicubic' and the OpenAI mean/std.
    return open_clip.image_transform(224, is_train=False, mean=OPENAI_DATASET_MEAN, std=OPENAI_DATASET_STD)


def test_default_config_uses_open_clip_mean_and_std():
    constants = pytest.importorskip("open_clip.constants")
    assert (PRE.size, PRE.mean, PRE.std) == (224, constants.OPENAI_DATASET_MEAN, constants.OPENAI_DATASET_STD)


def test_preprocess_matches_open_clip_transform():
    transform = open_clip_transform()
    cases = parity_cases()
    assert len(cases) >= 20
    diffs = {}
    for name, image in cases.items():
        ours = preprocess([image], PRE)[0]
        reference = transform(to_rgb(image)).numpy()
        assert ours.shape == reference.shape == (3, 224, 224) and ours.dtype == np.float32
        diffs[name] = float(np.abs(ours - reference).max())
    worst = max(diffs, key=diffs.get)
    print(f"worst max abs difference over {len(diffs)} images: {diffs[worst]:.3g} ({worst})")
    assert diffs[worst] <= TOLERANCE, {k: v for k, v in diffs.items() if v > TOLERANCE}


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_preprocess_matches_open_clip_transform_on_plain_images_without_to_rgb(mode):
    transform = open_clip_transform()
    for i, (w, h) in enumerate(SIZES[:8]):
        image = Image.fromarray(photo(w, h, 40 + i)).convert(mode)
        diff = np.abs(preprocess([image], PRE)[0] - transform(image).numpy()).max()
        assert diff <= TOLERANCE, (w, h, diff)


def test_preprocess_batches_images_of_different_sizes_in_order():
    images = [Image.fromarray(photo(w, h, i)) for i, (w, h) in enumerate(SIZES[:4])]
    batch = preprocess(images, PRE)
    assert batch.shape == (4, 3, 224, 224) and batch.flags.c_contiguous
    np.testing.assert_array_equal(batch[2], preprocess([images[2]], PRE)[0])


def test_preprocess_of_no_images_is_an_empty_batch():
    assert preprocess([], PRE).shape == (0, 3, 224, 224)


@pytest.mark.parametrize("width, height", [(20000, 90), (90, 20000)])
def test_extreme_strip_is_resized_close_to_torchvision(width, height):
    # Past 64:1 only the crop's box is resized (no 224 x 50,000 intermediate). PIL's boxed resize
    # is not bit-identical to resize-then-crop: measured max 2 levels wide, 7 levels tall.
    image = Image.fromarray(photo(width, height, 5))
    size = (int(224 * width / height), 224) if width > height else (224, int(224 * height / width))
    full = image.resize(size, Image.Resampling.BICUBIC)
    left, top = int(round((size[0] - 224) / 2.0)), int(round((size[1] - 224) / 2.0))
    expected = np.asarray(full.crop((left, top, left + 224, top + 224))).astype(int)
    diff = np.abs(resize_crop(image, 224).astype(int) - expected)
    assert diff.max() <= 8 and diff.mean() < 0.5


def test_normalize_refuses_channels_first_input():
    with pytest.raises(ValueError, match="uint8"):
        normalize(np.zeros((1, 3, 224, 224), np.uint8), PRE)


def test_resize_crop_refuses_non_rgb_image():
    with pytest.raises(ValueError, match="to_rgb"):
        resize_crop(Image.new("L", (300, 300)), 224)


def test_transparent_black_pixels_become_white():
    a = np.zeros((40, 60, 4), np.uint8)
    a[:, 30:] = (200, 10, 10, 255)
    rgb = np.asarray(to_rgb(Image.fromarray(a)))
    assert rgb.shape == (40, 60, 3)
    assert (rgb[:, :30] == 255).all() and (rgb[:, 30:] == (200, 10, 10)).all()


def test_palette_transparency_becomes_white():
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.info["transparency"] = 0
    rgb = np.asarray(to_rgb(image))
    assert tuple(rgb[0, 0]) == (255, 255, 255) and tuple(rgb[1, 1]) == (10, 20, 30)


def test_sixteen_bit_grey_is_scaled_not_saturated():
    a = np.array([[0, 32768, 65535]], np.uint16)
    rgb = np.asarray(to_rgb(Image.fromarray(a)))
    assert rgb[0, :, 0].tolist() == [0, 128, 255] and (rgb[..., 0] == rgb[..., 2]).all()


def test_thirty_two_bit_data_is_scaled_by_the_bits_it_uses():
    a = np.array([[0, 2048, 4095]], np.int32)  # 12-bit data in a 32-bit image
    assert np.asarray(to_rgb(Image.fromarray(a)))[0, :, 0].tolist() == [0, 128, 255]


def test_float_data_outside_zero_to_one_is_scaled_by_its_range():
    a = np.array([[-1.0, 0.0, 1.0]], np.float32)
    assert np.asarray(to_rgb(Image.fromarray(a)))[0, :, 0].tolist() == [0, 128, 255]


def test_exif_orientation_six_comes_out_rotated_clockwise():
    a = photo(90, 60, 3)
    upright = np.asarray(to_rgb(with_orientation(Image.fromarray(a), 6)))
    np.testing.assert_array_equal(upright, np.rot90(a, k=-1))


def test_every_exif_orientation_matches_pillow_exif_transpose():
    image = Image.fromarray(photo(90, 60, 4))
    for orientation in range(1, 9):
        tagged = with_orientation(image, orientation)
        expected = np.asarray(ImageOps.exif_transpose(tagged).convert("RGB"))
        np.testing.assert_array_equal(np.asarray(to_rgb(tagged)), expected, err_msg=str(orientation))


def test_to_rgb_twice_rotates_once():
    a = photo(90, 60, 3)
    once = to_rgb(with_orientation(Image.fromarray(a), 6))
    np.testing.assert_array_equal(np.asarray(to_rgb(once)), np.rot90(a, k=-1))


def test_integer_data_of_zeros_and_ones_stays_dark():
    a = np.array([[0, 1]], np.int32)
    assert np.asarray(to_rgb(Image.fromarray(a)))[0, :, 0].tolist() == [0, 1]


def test_corrupt_exif_is_ignored():
    image = Image.fromarray(photo(30, 20, 5))
    image.info["exif"] = b"Exif\x00\x00garbage, not TIFF"
    with pytest.raises(SyntaxError):
        image.getexif()  # what PIL itself does with it
    image = Image.fromarray(photo(30, 20, 5))
    image.info["exif"] = b"Exif\x00\x00garbage, not TIFF"
    np.testing.assert_array_equal(np.asarray(to_rgb(image)), photo(30, 20, 5))


def test_out_of_range_orientation_is_ignored():
    image = with_orientation(Image.fromarray(photo(30, 20, 6)), 9)
    assert to_rgb(image).size == (30, 20)


def test_multi_frame_image_uses_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ((250, 0, 0), (0, 0, 250))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    image = Image.open(buf)
    image.seek(1)
    assert to_rgb(image).getpixel((8, 8))[0] > 200


def jpeg_bytes(width: int, height: int, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo(width, height, seed)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming width x height RGB, with one tiny IDAT: cheap to write, huge to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_truncated_jpeg_raises_image_error_with_reason(tmp_path):
    path = tmp_path / "cut.jpg"
    data = jpeg_bytes(400, 300)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated") as caught:
        open_image(path)
    assert caught.value.path == str(path) and "\n" not in caught.value.reason


def test_random_bytes_named_jpg_raise_image_error(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ImageError) as caught:
        open_image(path)
    assert str(caught.value) == f"{path}: not a recognised image format"


def test_missing_file_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match="No such file"):
        open_image(tmp_path / "absent.png")


def test_png_claiming_60000_square_raises_image_too_large_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(60000, 60000))
    start = time.perf_counter()
    with pytest.raises(ImageTooLarge) as caught:
        open_image(path)
    assert time.perf_counter() - start < 0.5
    assert caught.value.pixels == 60000 * 60000 and caught.value.limit < caught.value.pixels


def test_image_over_max_pixels_raises_image_too_large(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes(2000, 1000))
    with pytest.raises(ImageTooLarge, match="2,000,000 pixels is over the limit of 1,000,000") as caught:
        open_image(path, max_pixels=1_000_000)
    assert (caught.value.pixels, caught.value.limit) == (2_000_000, 1_000_000)


def test_draft_keeps_short_side_between_draft_size_and_twice_it(tmp_path):
    path = tmp_path / "large.jpg"
    path.write_bytes(jpeg_bytes(4000, 3000))
    image = open_image(path, draft_size=448)
    assert 448 <= min(image.size) < 896 and image.size == (1000, 750)
    assert open_image(path).size == (4000, 3000)


def test_draft_never_shrinks_below_draft_size(tmp_path):
    path = tmp_path / "tall.jpg"
    path.write_bytes(jpeg_bytes(900, 4000))
    assert min(open_image(path, draft_size=448).size) >= 448


def test_draft_is_ignored_for_png(tmp_path):
    path = tmp_path / "large.png"
    Image.fromarray(photo(1200, 900, 1)).save(path)
    assert open_image(path, draft_size=224).size == (1200, 900)


def test_open_image_reads_file_objects():
    image = open_image(io.BytesIO(jpeg_bytes(64, 48)))
    assert image.size == (64, 48) and image.mode == "RGB"


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heif_and_avif_files_open(fmt):
    buf = io.BytesIO()
    Image.fromarray(photo(96, 64, 8)).save(buf, fmt)
    image = open_image(io.BytesIO(buf.getvalue()))
    assert (image.format, image.size) == (fmt, (96, 64))
