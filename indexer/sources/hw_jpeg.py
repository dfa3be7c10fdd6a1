"""JPEG decoding on the GPU's hardware JPEG engines (NVJPG: A100, H100, H200...) through nvImageCodec.

torchvision's `decode_jpeg(device="cuda")` runs nvJPEG's CUDA decoder (Huffman decoding on the CPU or in
CUDA kernels) and never the engines; on one H200 nvImageCodec's hardware back-end decoded 12 MP JPEGs at
780 images/s against torchvision's 433 (FACTS). Its decoder is given the hardware back-end first and its
CUDA back-end for what the engines refuse (progressive JPEGs, odd subsampling); what both refuse goes
back to the caller as None, for the CPU. EXIF orientation is left to the caller (gpu_decode.upright), as
on every other path, so all paths turn images the same way.

nvImageCodec is optional (`pip install pixseek[gpu-jpeg]`: nvidia-nvimgcodec-cu13 and nvidia-nvjpeg). Where it,
nvJPEG, the engines or the device is missing, `decoder_for` gives None and torchvision's path decodes.
Importing it prints errors for its absent codec libraries (nvJPEG2000, nvTIFF) straight to fd 2: the
import runs inside the decode guard's capture.
"""

from __future__ import annotations

import os
import threading

from .guard import captured_fd2

OFF = "PIXSEEK_HW_JPEG"  # =off: never use nvImageCodec (to compare decoders, or to step around a driver bug)
# Bytes of freed memory the device's default pool keeps. nvImageCodec allocates each decoded image there
# (cudaMallocAsync: 36 MB for 12 MP) and frees it once resized; with CUDA's default of 0 every stream or event
# synchronisation hands the pool's free memory back to the driver and the next chunk maps it afresh.
KEEP_POOL_BYTES = 8 * 2**30
# Host threads of each decoder (it parses the JPEG headers and feeds the engines on them); 0: nvImageCodec's
# default, one per core. In index runs on one H100 (2,000 12 MP JPEGs, batch 256) 2 made 222 images/s, 4 made 211,
# the default 215: no difference (bench/gpu_index.py's large_hwcpu_N phases).
CPU_THREADS = 0

_local = threading.local()  # one decoder per thread and device: each decode thread has its own stream


def usable(device: str) -> bool:
    """Whether decoder_for may give a decoder here (nvImageCodec importable, a CUDA device, not turned off),
    without making one."""
    if not device.startswith("cuda") or os.environ.get(OFF, "").lower() in ("off", "0", "no"):
        return False
    import importlib.util

    try:
        return importlib.util.find_spec("nvidia.nvimgcodec") is not None
    except (ImportError, ValueError):
        return False


def decoder_for(device: str):
    """This thread's nvImageCodec decoder for a CUDA `device`, or None where it cannot be made."""
    cache = _local.__dict__.setdefault("decoders", {})
    if device not in cache:
        cache[device] = _make(device)
    return cache[device]


def _make(device: str):
    if not usable(device):
        return None
    try:
        with captured_fd2():
            import torch
            from nvidia import nvimgcodec

            index = torch.device(device).index
            index = torch.cuda.current_device() if index is None else index
            backends = [nvimgcodec.Backend(nvimgcodec.BackendKind.HW_GPU_ONLY)]
            backends.append(nvimgcodec.Backend(nvimgcodec.BackendKind.GPU_ONLY))
            decoder = nvimgcodec.Decoder(device_id=index, max_num_cpu_threads=CPU_THREADS, backends=backends)
    except Exception:  # noqa: BLE001 - not installed, no nvJPEG, no engine, no device: torchvision decodes
        return None
    keep_pool(index, KEEP_POOL_BYTES)
    return decoder


def keep_pool(index: int, size: int) -> None:
    """Let device `index`'s default memory pool keep `size` bytes of freed memory (see KEEP_POOL_BYTES).
    cuda-bindings comes with torch's CUDA builds; where it is missing the pool keeps CUDA's default."""
    try:
        from cuda.bindings import runtime
        from cuda.bindings.driver import cuuint64_t
    except ImportError:
        return
    error, pool = runtime.cudaDeviceGetDefaultMemPool(index)
    if error == runtime.cudaError_t.cudaSuccess:
        runtime.cudaMemPoolSetAttribute(pool, runtime.cudaMemPoolAttr.cudaMemPoolAttrReleaseThreshold, cuuint64_t(size))


def decode(decoder, datas: list[bytes], device: str) -> list:
    """(3, H, W) uint8 tensors on `device` (on this thread's current stream), None for each one refused."""
    import torch
    from nvidia import nvimgcodec

    streams, at = [], []
    for i, data in enumerate(datas):
        try:
            streams.append(nvimgcodec.CodeStream(data))
            at.append(i)
        except Exception:  # noqa: BLE001 - a header nvImageCodec cannot parse: the CPU decides
            pass
    out: list = [None] * len(datas)
    if not streams:
        return out
    params = nvimgcodec.DecodeParams(
        apply_exif_orientation=False, color_spec=nvimgcodec.ColorSpec.SRGB, sample_format=nvimgcodec.I_RGB
    )
    stream = torch.cuda.current_stream(device)
    with captured_fd2():
        images = decoder.decode(streams, params=params, cuda_stream=stream.cuda_stream)
    for i, image in zip(at, images, strict=True):
        if image is not None:
            out[i] = torch.as_tensor(image, device=device).permute(2, 0, 1)
    return out
