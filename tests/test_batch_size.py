"""Automatic batch size (indexer.pipeline.batch_size): what fits the GPU's free memory, checked without a GPU."""

from __future__ import annotations

import pytest

from indexer.model.directory import architecture
from indexer.pipeline import batch_size

GiB = 2**30


@pytest.fixture(scope="module")
def vit_g():
    return architecture("vit-g-14")


def test_a_large_free_card_gets_the_cap(vit_g):
    assert batch_size.fitting(78 * GiB, batch_size.image_bytes(vit_g, "bfloat16")) == batch_size.AUTO_CAP


@pytest.mark.parametrize("free_gib", [6, 8, 12, 16, 24])
def test_the_batch_fits_the_free_memory_and_double_would_not(vit_g, free_gib):
    per_image = batch_size.image_bytes(vit_g, "bfloat16")
    free = free_gib * GiB
    size = batch_size.fitting(free, per_image)
    room = free * batch_size.USABLE - batch_size.DECODE_RESERVE
    assert size & (size - 1) == 0  # a power of two
    assert size * per_image <= room or size == 1
    assert size == batch_size.AUTO_CAP or 2 * size * per_image > room


def test_less_free_memory_never_gives_a_larger_batch(vit_g):
    per_image = batch_size.image_bytes(vit_g, "bfloat16")
    sizes = [batch_size.fitting(gib * GiB, per_image) for gib in range(1, 80)]
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] == batch_size.AUTO_CAP


def test_float32_images_take_more_memory_than_bfloat16(vit_g):
    assert batch_size.image_bytes(vit_g, "float32") > batch_size.image_bytes(vit_g, "bfloat16")


def test_the_vit_g_estimate_covers_the_measured_working_set(vit_g):
    # bf16 ViT-g/14 at batch 256 ran on an H100 (bench/results/vision_tower-*.json); its largest live
    # tensors per image are 257 tokens x (4 x 1408 + 6144) x 2 bytes, about 6 MB
    assert 6e6 < batch_size.image_bytes(vit_g, "bfloat16") < 40e6


class CpuEncoder:
    device, runtime, dtype = "cpu", "torch", "float32"


def test_an_encoder_on_the_cpu_gets_the_default():
    assert batch_size.for_encoder(CpuEncoder()) == batch_size.DEFAULT
