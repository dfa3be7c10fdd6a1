"""End-to-end `pixseek index` images/s on a GPU with the full ViT-g/14 (random weights), against timm.

    python bench/gpu_index.py --work /tmp/gpu-bench --generate all        # photo-like JPEG sets + model dir
    python bench/gpu_index.py --work /tmp/gpu-bench --card "NVIDIA H100 80GB HBM3"

Sets: `small` (500x375) and `large` (4000x3000, about 3-5 MB at quality 90; a quarter carry EXIF
orientation 6, as phone photos do), generated on all cores: gradients, shapes and noise, so they
compress like photos. Each set is indexed by indexer.index (torch runtime, cuda, bf16) into a fresh
library; reported: images/s over the whole run and in steady state (from 10% to 90% of the images),
the per-stage seconds (IndexSummary.stages; gpu_decode/copy/encode are device seconds), how many
images each side decoded, and GPU utilisation sampled by nvidia-smi. Also measured in the same run:
timm's vit_giant_patch14_clip_224 bf16 model-only images/s (the anchor), the GPU-only and CPU-only
decode bounds of the large set, and how far GPU crops are from the CPU path's. `decode_probe` and
`decode_beside` time the hardware JPEG decoder apart from an index run: alone, under other settings, beside CPU
decoders, beside an encoding model and beside file reads. `--large-unique` makes the large set's tail out of
copies (another comment segment each: other hashes, the same decode work) to measure longer runs cheaply.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from common import emit, machine, slug
from PIL import Image, ImageDraw, ImageFilter

SETS = {"small": (500, 375), "large": (4000, 3000)}


NOISE_MARGIN = 256
_banks: dict[tuple[int, int], np.ndarray] = {}


def noise_bank(width: int, height: int) -> np.ndarray:
    """Sensor-like noise (shared luma + per-channel), drawn once per process; images take shifted windows."""
    key = (width, height)
    if key not in _banks:
        rng = np.random.default_rng(width)
        shape = (height + NOISE_MARGIN, width + NOISE_MARGIN)
        luma = rng.normal(0, 6, (*shape, 1)).astype(np.float32)
        _banks[key] = (luma + rng.normal(0, 3, (*shape, 3)).astype(np.float32)).astype(np.int16)
    return _banks[key]


def photo(args: tuple[int, int, int]) -> bytes:
    """A photo-like JPEG: smooth gradient, soft shapes, sensor-like noise; quality 90."""
    seed, width, height = args
    rng = np.random.default_rng(seed)
    small = (max(width // 8, 1), max(height // 8, 1))
    base = Image.new("RGB", small)
    draw = ImageDraw.Draw(base)
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    for y in range(small[1]):
        draw.line([(0, y), (small[0], y)], fill=tuple(int(v) for v in top + (bottom - top) * y / small[1]))
    for _ in range(12):
        x0, y0 = rng.integers(0, small[0]), rng.integers(0, small[1])
        box = [x0, y0, x0 + rng.integers(4, small[0] // 2 + 5), y0 + rng.integers(4, small[1] // 2 + 5)]
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    image = base.filter(ImageFilter.GaussianBlur(1)).resize((width, height), Image.Resampling.BILINEAR)
    y, x = rng.integers(0, NOISE_MARGIN, 2)
    window = noise_bank(width, height)[y : y + height, x : x + width]
    pixels = np.clip(np.asarray(image, dtype=np.int16) + window, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    exif = Image.Exif()
    if width > 1000 and seed % 4 == 0:
        exif[0x0112] = 6
    Image.fromarray(pixels).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def write_photo(args: tuple[Path, int, int, int]) -> int:
    path, seed, width, height = args
    data = photo((seed, width, height))
    path.write_bytes(data)
    return len(data)


def copy_of(data: bytes, k: int) -> bytes:
    """The JPEG `data` with a comment segment naming copy k before its first quantisation table: other bytes
    (another content hash, so indexed as a file of its own), the same pixels and the same decode work."""
    at = data.index(b"\xff\xdb")
    text = f"pixseek bench copy {k}".encode()
    return data[:at] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + data[at:]


def write_copy(args: tuple[Path, Path, int]) -> int:
    path, source, k = args
    data = copy_of(source.read_bytes(), k)
    path.write_bytes(data)
    return len(data)


def generate(work: Path, counts: dict[str, int], unique: dict[str, int] | None = None) -> dict:
    """Write the sets; a set's files past unique[name] are copies of its first ones (copy_of)."""
    info, unique = {}, unique or {}
    with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
        for name, n in counts.items():
            if n <= 0:
                continue
            folder = work / name
            folder.mkdir(parents=True, exist_ok=True)
            width, height = SETS[name]
            started = time.perf_counter()
            first = min(n, unique.get(name) or n)
            jobs = [(folder / f"{i // 1000:03d}" / f"{i:06d}.jpg", i, width, height) for i in range(n)]
            for sub in {j[0].parent for j in jobs}:
                sub.mkdir(exist_ok=True)
            sizes = pool.map(write_photo, jobs[:first], chunksize=8)
            copies = [(j[0], jobs[i % first][0], i // first) for i, j in enumerate(jobs) if i >= first]
            sizes += pool.map(write_copy, copies, chunksize=8)
            info[name] = {
                "files": n,
                "unique": first,
                "mean_bytes": int(np.mean(sizes)),
                "seconds": round(time.perf_counter() - started),
            }
            print(name, info[name], flush=True)
    return info


def write_model(work: Path, arch: str) -> Path:
    from indexer.model.directory import architecture, write_model_dir
    from indexer.model.state import random_state

    config = architecture(arch)
    state = {k: v.astype(np.float16) for k, v in random_state(config, seed=0).items()}  # half the bytes to read
    return write_model_dir(work / "model", config, state)


class GpuSampler(threading.Thread):
    """nvidia-smi utilisation.gpu samples every 200 ms while running."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[int] = []
        command = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True) if shutil.which(command[0]) else None

    def run(self) -> None:
        for line in self.proc.stdout if self.proc else ():
            if line.strip().isdigit():
                self.samples.append(int(line))

    def stop(self) -> dict:
        if self.proc:
            self.proc.terminate()
        s = self.samples[2:-2] or self.samples or [0]
        return {"gpu_util_mean": round(statistics.mean(s), 1), "gpu_util_median": statistics.median(s)}


SPY: dict = {"dir": None}  # --spy DIR: py-spy records each index run (where the main process's threads spend time)


@contextlib.contextmanager
def spied(name: str):
    """py-spy samples of this process while the block runs, when --spy is given: all threads with their idle
    waits (DIR/NAME-idle.txt) and only the threads holding the GIL (DIR/NAME-gil.txt), collapsed stacks."""
    folder, spy = SPY["dir"], shutil.which("py-spy")
    if folder is None or spy is None:
        yield
        return
    base = [spy, "record", "--pid", str(os.getpid()), "--rate", "100", "--nonblocking", "--format", "raw"]
    procs = [
        subprocess.Popen([*base, "--threads", "--idle", "-o", str(folder / f"{name}-idle.txt")]),
        subprocess.Popen([*base, "--gil", "-o", str(folder / f"{name}-gil.txt")]),
    ]
    time.sleep(1.0)  # attached before the run starts
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        for proc in procs:
            proc.wait(timeout=60)


@contextlib.contextmanager
def cores(n: int | None):
    """This process and the workers it forks on its first n CPU cores only (a 16-core host on a larger one)."""
    before = os.sched_getaffinity(0)
    if n:
        os.sched_setaffinity(0, sorted(before)[:n])
    try:
        yield len(os.sched_getaffinity(0))
    finally:
        os.sched_setaffinity(0, before)


def index_set(
    work: Path,
    name: str,
    model: Path,
    args,
    gpu_decode: str = "auto",
    gpus=(),
    cpus=None,
    workers=None,
    dtype: str | None = None,
) -> dict:
    from indexer.pipeline.indexing import index
    from indexer.pipeline.run import IndexSettings

    library = work / f"lib-{name}-{gpu_decode}-{len(gpus) or 1}-{dtype or 'default'}"
    shutil.rmtree(library, ignore_errors=True)
    with cores(cpus) as n_cores:
        settings = IndexSettings(
            runtime="torch",
            device=gpus[0] if gpus else args.device,
            dtype=dtype or ("bfloat16" if args.device.startswith("cuda") else "float32"),
            batch_size=args.batch_size,
            workers=workers or (n_cores - 1 if cpus else args.workers),
            gpu_decode=gpu_decode,
            gpus=tuple(gpus) if len(gpus) > 1 else (),
        )
        ticks: list[tuple[float, int]] = []
        sampler = GpuSampler()
        sampler.start()
        progress = lambda s: ticks.append((time.perf_counter(), s.images))  # noqa: E731
        with spied(SPY.get("phase") or library.name):
            summary = index([work / name], library, str(model), settings, progress=progress)
        util = sampler.stop()
    out = summary.as_dict()
    out.pop("failures")
    n = summary.indexed
    load = summary.stages.get("load_model", 0.0)
    out.update(cores=n_cores, workers=settings.workers, gpus=max(1, len(gpus)))
    out["images_per_s"] = round(n / summary.seconds, 1)
    out["images_per_s_without_model_load"] = round(n / (summary.seconds - load), 1) if load else None
    out["images_per_s_steady"] = steady_rate(ticks, n)
    out.update(util)
    print(name, gpu_decode, json.dumps(out), flush=True)
    return out


def steady_rate(ticks: list[tuple[float, int]], n: int) -> float | None:
    """Images/s between the progress ticks where 10% and 90% of the images were encoded."""
    lo = next((t for t in ticks if t[1] >= 0.1 * n), None)
    hi = next((t for t in ticks if t[1] >= 0.9 * n), None)
    if lo is None or hi is None or hi[0] <= lo[0]:
        return None
    return round((hi[1] - lo[1]) / (hi[0] - lo[0]), 1)


def timm_anchor(batch: int, iters: int) -> float:
    import timm
    import torch
    from vision_tower import images_per_s

    model = timm.create_model("vit_giant_patch14_clip_224", pretrained=False, num_classes=0)
    model = model.to(device="cuda", dtype=torch.bfloat16).eval()
    gen = torch.Generator(device="cuda").manual_seed(0)
    inputs = [torch.randn(batch, 3, 224, 224, device="cuda", generator=gen).bfloat16() for _ in range(3)]
    with torch.inference_mode():
        rate = images_per_s(model, inputs, iters)
    del model, inputs
    torch.cuda.empty_cache()
    return rate


def files_of(work: Path, name: str, n: int) -> list[Path]:
    return sorted((work / name).rglob("*.jpg"))[:n]


def jobs_of(paths: list[Path], datas: list[bytes]) -> list:
    from indexer.sources.gpu_decode import probe
    from indexer.sources.scan import FoundFile

    found = [FoundFile(p.parent, p.name, 0, 0) for p in paths]
    return [probe(f, d, "0" * 64, 10**9, min_pixels=0) for f, d in zip(found, datas, strict=True)]


def decode_bounds(work: Path, n: int) -> dict:
    """Large set: GPU-only decode+crop images/s (batches of 32) and CPU-only (all cores, draft) images/s."""
    import torch

    from indexer.sources import gpu_decode
    from indexer.sources.decode import decode_bytes

    paths = files_of(work, "large", n)
    datas = [p.read_bytes() for p in paths]
    jobs = jobs_of(paths, datas)
    gpu_decode.decode_jobs(jobs[:8], 224, "cuda")
    torch.cuda.synchronize()
    started = time.perf_counter()
    for i in range(0, len(jobs), 32):
        gpu_decode.decode_jobs(jobs[i : i + 32], 224, "cuda")
    torch.cuda.synchronize()
    gpu = len(jobs) / (time.perf_counter() - started)
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
        pool.starmap(decode_bytes, [(d, "x", 224) for d in datas], chunksize=2)
    cpu = len(datas) / (time.perf_counter() - started)
    return {"large_gpu_decode_only_images_per_s": round(gpu, 1), "large_cpu_decode_only_images_per_s": round(cpu, 1)}


def decode_threads(work: Path, n: int) -> dict:
    """Large set, device side only: nvJPEG alone (chunks of 16, one thread), then the full decode (resize,
    crop, thumbnail) through indexer.sources.decode_threads with 1, 2 and 3 threads; images/s each."""
    import torch

    from indexer.sources import gpu_decode, hw_jpeg
    from indexer.sources.decode_threads import DecodeThreads

    paths = files_of(work, "large", n)
    jobs = jobs_of(paths, [p.read_bytes() for p in paths])
    gpu_decode.decode_jobs(jobs[:16], 224, "cuda")
    out = {}
    for name, setting in (("nvimgcodec", ""), ("nvjpeg", "off")):  # the hardware engines, then torchvision's
        os.environ[hw_jpeg.OFF] = setting
        hw_jpeg._local.__dict__.clear()
        gpu_decode.decode_many([j.data for j in jobs[:16]], "cuda")
        torch.cuda.synchronize()
        started, used = time.perf_counter(), ""
        for i in range(0, len(jobs), 16):
            used = gpu_decode.decode_many([j.data for j in jobs[i : i + 16]], "cuda")[1]
        torch.cuda.synchronize()
        out[f"{name}_only_images_per_s"] = round(len(jobs) / (time.perf_counter() - started), 1)
        out[f"{name}_only_decoder_used"] = used
    os.environ[hw_jpeg.OFF] = ""
    hw_jpeg._local.__dict__.clear()
    for threads in (1, 2, 3):
        decoder = DecodeThreads(224, "cuda:0", threads=threads)
        started = time.perf_counter()
        for job in jobs:
            decoder.submit(job)
        decoded = sum(len(c.jobs) for c in decoder.take(wait=True))
        torch.cuda.synchronize()
        out[f"decode_threads_{threads}_images_per_s"] = round(decoded / (time.perf_counter() - started), 1)
        decoder.close()
    return out


def _rate(fn, batches: list) -> float:
    """Items/s of fn over `batches` (lists), after one warm-up call, device work included."""
    import torch

    stream = torch.cuda.current_stream()  # this thread's work only: another thread may keep the device busy
    fn(batches[0])
    stream.synchronize()
    started = time.perf_counter()
    for batch in batches:
        fn(batch)
    stream.synchronize()
    return round(sum(map(len, batches)) / (time.perf_counter() - started), 1)


def _spin(seconds: float) -> float:
    """Python loop iterations/s in this thread for `seconds` (how much of the GIL it gets)."""
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        count += 1
    return count / seconds


def _busy_decoder(datas: list[bytes], stop) -> None:
    """A CPU reader worker's load: PIL draft decodes of 12 MP JPEGs until `stop` is set."""
    from indexer.sources.decode import decode_bytes

    i = 0
    while not stop.is_set():
        decode_bytes(datas[i % len(datas)], "x", 224)
        i += 1


def _concurrent_decode(chunks: list, threads: int) -> float:
    """Images/s of `threads` threads decoding `chunks` between them, each with its own decoder (warm)."""
    import torch

    from indexer.sources import hw_jpeg

    ready, go = threading.Barrier(threads + 1), threading.Event()

    def work(share: list) -> None:
        decoder = hw_jpeg.decoder_for("cuda")
        hw_jpeg.decode(decoder, share[0], "cuda")
        torch.cuda.synchronize()
        ready.wait()
        go.wait()
        for chunk in share:
            hw_jpeg.decode(decoder, chunk, "cuda")
        torch.cuda.synchronize()

    workers = [threading.Thread(target=work, args=(chunks[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    go.set()
    for worker in workers:
        worker.join()
    return round(sum(map(len, chunks)) / (time.perf_counter() - started), 1)


def decode_probe(work: Path, n: int, workers: int) -> dict:
    """Large set, the hardware decoder with warm decoders (creation timed apart): decode alone at chunks of 64
    under other decoder settings; whether its call lets other Python threads run (GIL); decode + resize in one
    thread against DecodeThreads; the same while `workers` processes decode JPEGs on the CPU, as the reader
    workers do in an index run. Images/s each."""
    import torch
    from nvidia import nvimgcodec

    from indexer.sources import gpu_decode, hw_jpeg
    from indexer.sources.decode_threads import DecodeThreads

    paths = files_of(work, "large", n)
    datas = [p.read_bytes() for p in paths]
    jobs = jobs_of(paths, datas)
    chunks = [datas[i : i + 64] for i in range(0, len(datas), 64)]
    job_chunks = [jobs[i : i + 64] for i in range(0, len(jobs), 64)]
    out: dict = {}
    started = time.perf_counter()
    decoder = hw_jpeg.decoder_for("cuda")
    torch.cuda.synchronize()
    out["decoder_create_s"] = round(time.perf_counter() - started, 3)
    out["decode_only"] = _rate(lambda d: hw_jpeg.decode(decoder, d, "cuda"), chunks)
    out["decode_only_chunk_128"] = _rate(
        lambda d: hw_jpeg.decode(decoder, d, "cuda"), [datas[i : i + 128] for i in range(0, len(datas), 128)]
    )
    out["decode_only_2_threads"] = _concurrent_decode(chunks, 2)
    hw = nvimgcodec.BackendKind.HW_GPU_ONLY
    variants = {
        "cpu_threads_4": {"max_num_cpu_threads": 4},
        "cpu_threads_8": {"max_num_cpu_threads": 8},
        "prealloc": {
            "options": "nvjpeg_hw_decoder:preallocate_batch_size=64 nvjpeg_hw_decoder:preallocate_width_hint=4000 "
            "nvjpeg_hw_decoder:preallocate_height_hint=4000"
        },
        "hw_only": {},
    }
    for name, kwargs in variants.items():
        try:
            started = time.perf_counter()
            other = nvimgcodec.Decoder(device_id=0, backends=[nvimgcodec.Backend(hw)], **kwargs)
            out[f"create_{name}_s"] = round(time.perf_counter() - started, 3)
            out[f"decode_only_{name}"] = _rate(lambda d, o=other: hw_jpeg.decode(o, d, "cuda"), chunks)
        except Exception as exc:  # noqa: BLE001 - a variant this release lacks
            out[f"decode_only_{name}"] = f"failed: {exc}"
    alone = _spin(1.0)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for d in chunks:
                hw_jpeg.decode(decoder, d, "cuda")

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.3)
    during = _spin(2.0)
    stop.set()
    thread.join()
    out["python_speed_during_decode"] = round(during / alone, 3)  # ~1.0: the decode call releases the GIL
    out["decode_resize_one_thread"] = _rate(lambda j: gpu_decode.decode_jobs(j, 224, "cuda"), job_chunks)

    def threads_rate(lanes: int = 1) -> float:
        threads = DecodeThreads(224, "cuda:0", lanes, 64)
        for job in jobs[:64]:
            threads.submit(job)
        threads.take(wait=True)  # its decoder made and warm
        started = time.perf_counter()
        for job in jobs:
            threads.submit(job)
        decoded = sum(len(c.jobs) for c in threads.take(wait=True))
        torch.cuda.synchronize()
        threads.close()
        return round(decoded / (time.perf_counter() - started), 1)

    out["decode_threads"] = threads_rate()
    out["decode_threads_2_lanes"] = threads_rate(2)
    stop = multiprocessing.get_context("fork").Event()
    procs = [
        multiprocessing.get_context("fork").Process(target=_busy_decoder, args=(datas[:16], stop), daemon=True)
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(1.0)
    try:
        out[f"decode_only_beside_{workers}_cpu_decoders"] = _rate(lambda d: hw_jpeg.decode(decoder, d, "cuda"), chunks)
        out[f"decode_threads_beside_{workers}_cpu_decoders"] = threads_rate()
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=10)
    return out


def decode_beside(work: Path, n: int, batch: int) -> dict:
    """Large set, warm hardware decoder: decode alone at chunks of 64 against the same beside what an index run
    does at once: timm's ViT-g/14 encoding batches in another thread, and 4 threads reading the files again (the
    loaders). Images/s each, the encoder's alone and beside the decoder. Then what the slowdown beside the encoder
    comes from: a tiny kernel's round trip on a stream of its own (whether other streams' work gets through at all),
    other decoder settings, the encoder on the legacy default stream (as the index run's main thread), a quarter
    batch (less work queued ahead), and cuBLAS leaving SMs free. Run it once with CUDA_DEVICE_MAX_CONNECTIONS=32
    and once without (the number of hardware queues the device's streams share; recorded as `connections`)."""
    import timm
    import torch
    from nvidia import nvimgcodec

    from indexer.sources import hw_jpeg

    paths = files_of(work, "large", n)
    datas = [p.read_bytes() for p in paths]
    chunks = [datas[i : i + 64] for i in range(0, len(datas), 64)]
    decoder = hw_jpeg.decoder_for("cuda")

    decode_stream = torch.cuda.Stream()  # as a decode lane's: never the legacy default stream

    def decode_with(decoder) -> float:
        with torch.cuda.stream(decode_stream):
            return _rate(lambda d: hw_jpeg.decode(decoder, d, "cuda"), chunks)

    out: dict = {"connections": os.environ.get("CUDA_DEVICE_MAX_CONNECTIONS", "default (8)")}
    out["decode_alone"] = decode_with(decoder)
    model = timm.create_model("vit_giant_patch14_clip_224", pretrained=False, num_classes=0)
    model = model.to(device="cuda", dtype=torch.bfloat16).eval()
    inputs = {b: torch.randn(b, 3, 224, 224, device="cuda", dtype=torch.bfloat16) for b in (batch, batch // 4)}

    def beside(main, size: int | None = batch, own_stream: bool = True, loaders: bool = False) -> tuple[float, object]:
        """(encoder images/s, main()'s value) with the encoder (or the loaders) looping in a thread meanwhile."""
        stop, done = threading.Event(), [0]

        def loop() -> None:
            if own_stream:
                torch.cuda.set_stream(torch.cuda.Stream())
            with torch.inference_mode(), ThreadPoolExecutor(4) as pool:
                while not stop.is_set():
                    if loaders:
                        done[0] += sum(1 for _ in pool.map(Path.read_bytes, paths[:64]))
                        continue
                    model(inputs[size])
                    torch.cuda.current_stream().synchronize()
                    done[0] += size

        thread = threading.Thread(target=loop)
        thread.start()
        time.sleep(1.0)
        started, before = time.perf_counter(), done[0]
        value = main()
        rate = (done[0] - before) / (time.perf_counter() - started)
        stop.set()
        thread.join()
        return round(rate, 1), value

    def tiny_ms() -> float:
        """Median round trip of a one-element kernel on a stream of its own, synchronised each time."""
        stream, x, times = torch.cuda.Stream(), torch.ones(1, device="cuda"), []
        for _ in range(40):
            started = time.perf_counter()
            with torch.cuda.stream(stream):
                x.add_(1)
            stream.synchronize()
            times.append(time.perf_counter() - started)
            time.sleep(0.01)
        return round(statistics.median(times) * 1000, 2)

    out["encoder_alone"], _ = beside(lambda: time.sleep(5.0))
    out["encoder_beside_decode"], out["decode_beside_encoder"] = beside(lambda: decode_with(decoder))
    _, out["decode_beside_loaders"] = beside(lambda: decode_with(decoder), loaders=True)
    out["tiny_kernel_ms_alone"] = tiny_ms()
    _, out["tiny_kernel_ms_beside_encoder"] = beside(tiny_ms)
    hw = [nvimgcodec.Backend(nvimgcodec.BackendKind.HW_GPU_ONLY), nvimgcodec.Backend(nvimgcodec.BackendKind.GPU_ONLY)]
    variants = {
        "cuda_streams_1": ":num_cuda_streams=1",
        "prealloc": "nvjpeg_hw_decoder:preallocate_batch_size=64 nvjpeg_hw_decoder:preallocate_width_hint=4096 "
        "nvjpeg_hw_decoder:preallocate_height_hint=4096",
        "padding": ":device_memory_padding=268435456 :host_memory_padding=67108864",
    }
    for name, options in variants.items():
        try:
            other = nvimgcodec.Decoder(device_id=0, backends=hw, options=options)
            out[f"decode_{name}_alone"] = decode_with(other)
            _, out[f"decode_{name}_beside_encoder"] = beside(lambda o=other: decode_with(o))
        except Exception as exc:  # noqa: BLE001 - an option this release lacks
            out[f"decode_{name}_beside_encoder"] = f"failed: {exc}"
    out["encoder_on_default_stream"], out["decode_beside_encoder_on_default_stream"] = beside(
        lambda: decode_with(decoder), own_stream=False
    )
    out["encoder_quarter_batch"], out["decode_beside_encoder_quarter_batch"] = beside(
        lambda: decode_with(decoder), size=batch // 4
    )
    # Measured on one H100 (16:24): cuBLAS leaving 8, 16 or 32 SMs to other kernels kept the decoder at 98-124/s
    # beside the full batch (104 without): SM occupancy is not what holds it.
    return out


def crop_agreement(work: Path, n: int) -> dict:
    """GPU crops against the CPU path's (draft on and off): max / mean abs uint8 difference per set."""
    from indexer.sources import gpu_decode
    from indexer.sources.decode import decode_bytes

    out = {}
    for name in SETS:
        paths = files_of(work, name, n)
        datas = [p.read_bytes() for p in paths]
        jobs = jobs_of(paths, datas)
        crops, _, done, *_ = gpu_decode.decode_jobs(jobs, 224, "cuda")
        crops = crops.cpu().numpy().astype(np.int16)  # row r is jobs[done[r]]: images resized in groups
        for draft in (False, True):
            cpu = np.stack([decode_bytes(datas[i], "x", 224, draft=draft).crop for i in done]).astype(np.int16)
            diff = np.abs(crops - cpu)
            key = f"{name}_vs_cpu_{'draft' if draft else 'exact'}"
            out[key] = {"max_abs": int(diff.max()), "mean_abs": round(float(diff.mean()), 3)}
    return out


def orientation_agreement(work: Path) -> dict:
    """One 12 MP photo of the large set stored in each of the eight EXIF orientations: the device path's crop
    (which decoder made it) against the CPU path's, max / mean abs uint8 difference per orientation."""
    from indexer.sources import gpu_decode
    from indexer.sources.decode import decode_bytes

    upright = Image.open(files_of(work, "large", 1)[0]).convert("RGB")
    turns = [None, *(getattr(Image.Transpose, n) for n in ("FLIP_LEFT_RIGHT", "ROTATE_180", "FLIP_TOP_BOTTOM"))]
    turns += [getattr(Image.Transpose, n) for n in ("TRANSPOSE", "ROTATE_90", "TRANSVERSE", "ROTATE_270")]
    out, datas = {}, []
    for tag, turn in enumerate(turns, start=1):
        exif = Image.Exif()
        exif[0x0112] = tag
        stored, buf = upright.transpose(turn) if turn is not None else upright, io.BytesIO()
        stored.save(buf, "JPEG", quality=90, exif=exif)
        datas.append(buf.getvalue())
    paths = [work / f"orientation-{i}.jpg" for i in range(1, 9)]
    crops, _, done, refused, decoder = gpu_decode.decode_jobs(jobs_of(paths, datas), 224, "cuda")
    crops = crops.cpu().numpy().astype(np.int16)
    for row, i in enumerate(done):
        cpu = decode_bytes(datas[i], "x", 224, draft=False).crop.astype(np.int16)
        diff = np.abs(crops[row] - cpu)
        out[f"orientation_{i + 1}"] = {"max_abs": int(diff.max()), "mean_abs": round(float(diff.mean()), 3)}
    out.update(decoder=decoder, refused=len(refused))
    return out


def warm_cache(work: Path, args) -> dict:
    """Index 8 small images once, so the weights cache exists and the runs measured load from it."""
    folder = work / "warm"
    folder.mkdir(exist_ok=True)
    for path in files_of(work, "small", 8):
        shutil.copyfile(path, folder / path.name)
    started = time.perf_counter()
    summary = index_set(work, "warm", work / "model", args)
    return {"wall_s": round(time.perf_counter() - started, 2), "load_model_s": summary["stages"].get("load_model")}


@contextlib.contextmanager
def constants(module, **values):
    """The module's constants set to `values` while the block runs (a variant of the indexer's tuning)."""
    before = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(module, name, value)


def set_with(args, module: str, name: str = "large", workers: int | None = None, dtype: str | None = None, **values):
    """A set indexed with constants of indexer module `module` (e.g. 'sources.decode_threads') set to `values`."""
    import importlib

    with constants(importlib.import_module(f"indexer.{module}"), **values):
        return index_set(args.work, name, args.work / "model", args, workers=workers, dtype=dtype)


def large_switch(args, seconds: float) -> dict:
    """The large set with Python's thread switch interval at `seconds` (5 ms by default): how long a thread that
    comes back from the decoder waits for the GIL while others hold it."""
    import sys

    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        return index_set(args.work, "large", args.work / "model", args)
    finally:
        sys.setswitchinterval(before)


def small_on(args, count: int | None) -> dict | str:
    """The small set on `count` GPUs (None: all of them, `--gpus all`), each with --cores-per-gpu cores."""
    from indexer.pipeline.gpu_workers import resolve_gpus, visible_gpus

    visible = visible_gpus()
    if (count or visible) > visible:
        return f"skipped: {count} GPUs asked for, {visible} here"
    devices = resolve_gpus(str(count) if count else "all", visible)
    cpus = args.cores_per_gpu * len(devices) if args.cores_per_gpu else None
    return index_set(args.work, "small", args.work / "model", args, gpus=devices, cpus=cpus)


def scaling(result: dict) -> None:
    """The small set's images/s on several GPUs over one GPU (same run), steady and overall."""
    one = result.get("small")
    for key, many in list(result.items()):
        if key.startswith("small_gpus_") and isinstance(one, dict) and isinstance(many, dict):
            result[f"scaling_{many['gpus']}_gpus"] = {
                "steady": round(many["images_per_s_steady"] / one["images_per_s_steady"], 3),
                "overall": round(many["images_per_s"] / one["images_per_s"], 3),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpu-bench"))
    parser.add_argument("--generate", choices=("all", "sets", "model"), help="only write the image sets and/or model")
    parser.add_argument("--phases", nargs="*", help="run only these phases (default: all)")
    parser.add_argument("--small", type=int, default=20000)
    parser.add_argument("--large", type=int, default=1500)
    parser.add_argument("--large-unique", type=int, help="photos generated; the rest of --large are copies of them")
    parser.add_argument("--arch", default="vit-g-14")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--card", default=None)
    parser.add_argument("--budget", type=float, default=240, help="seconds after which later phases are skipped")
    parser.add_argument("--device", default="cuda", help="cpu: a dry run of the index runs alone")
    parser.add_argument("--tag", default="", help="added to the result's name (e.g. x2 for a 2-GPU machine)")
    parser.add_argument("--cores-per-gpu", type=int, help="confine each small-set run to this many cores per GPU")
    parser.add_argument("--large-cpus", type=int, help="index the large set on this many cores (as a smaller host)")
    parser.add_argument("--spy", type=Path, help="py-spy records each index run into this folder")
    args = parser.parse_args()
    import indexer  # noqa: F401 - before any phase makes the CUDA context: it sets the device's queue count

    SPY["dir"] = args.spy
    if args.device == "cpu":
        result = {s: index_set(args.work, s, args.work / "model", args, "on") for s in SETS}
        print(json.dumps(result))
        return
    if args.generate in ("all", "sets"):
        info = generate(args.work, {"small": args.small, "large": args.large}, {"large": args.large_unique})
        (args.work / "sets.json").write_text(json.dumps(info))
    if args.generate in ("all", "model"):
        write_model(args.work, args.arch)
    if args.generate:
        return
    result = {"model": f"{args.arch} (random weights)", "machine": machine(args.card), "batch_size": args.batch_size}
    result["sets"] = json.loads((args.work / "sets.json").read_text())
    started = time.perf_counter()
    phases = {
        "timm_vit_giant_patch14_clip_224_bf16_images_per_s": lambda: timm_anchor(args.batch_size, 8),
        "warm_cache": lambda: warm_cache(args.work, args),
        "crops": lambda: crop_agreement(args.work, 32),
        "orientations": lambda: orientation_agreement(args.work),
        "decode_bounds": lambda: decode_bounds(args.work, 256),
        "decode_threads": lambda: decode_threads(args.work, 256),
        "decode_probe": lambda: decode_probe(args.work, 512, args.workers),
        "decode_beside": lambda: decode_beside(args.work, 512, args.batch_size),
        "large": lambda: index_set(args.work, "large", args.work / "model", args, cpus=args.large_cpus),
        "small": lambda: small_on(args, 1),
        # FP8 vision tower (runtimes.fp8): its gate runs at the load (the model wait includes it, and the
        # blocks' compilation on a first run); fp8_min_cosine is the gate's figure on this model.
        "small_fp8": lambda: index_set(args.work, "small", args.work / "model", args, dtype="fp8"),
        "large_fp8": lambda: index_set(args.work, "large", args.work / "model", args, dtype="fp8"),
        # the small set in fp8 with GELU's tanh approximation in the FP8 blocks (runtimes.fp8.GELU says why)
        **{
            f"small_fp8_{g}": (lambda g=g: set_with(args, "model.runtimes.fp8", "small", dtype="fp8", GELU=g))
            for g in ("tanh", "tanh_by_exp")
        },
        **{
            f"large_w{w}_t{t}_c{c}": (
                lambda w=w, t=t, c=c: set_with(
                    args,
                    "sources.decode_threads",
                    workers=w,
                    THREADS=t,
                    DECODE_CHUNK=c,
                    HW_THREADS=t,
                    HW_DECODE_CHUNK=c,
                )
            )
            for w in (15, 8, 4)
            for t, c in ((2, 16), (1, 64), (2, 64))
        },
        **{
            f"large_share_{p}": (lambda p=p: set_with(args, "pipeline.gpu_feed", HW_INITIAL_SHARE=p / 100))
            for p in (66, 80, 90, 100)
        },
        "large_group_1": lambda: set_with(args, "sources.gpu_decode", RESIZE_GROUP=1),
        "large_priority_0": lambda: set_with(args, "sources.decode_threads", STREAM_PRIORITY=0),
        "large_pool_0": lambda: set_with(args, "sources.hw_jpeg", KEEP_POOL_BYTES=0),
        "large_lanes_2": lambda: set_with(args, "sources.decode_threads", HW_THREADS=2),
        **{f"large_hwcpu_{n}": (lambda n=n: set_with(args, "sources.hw_jpeg", CPU_THREADS=n)) for n in (1, 2, 4)},
        "large_switch_05ms": lambda: large_switch(args, 0.0005),
        **{
            f"large_bs{b}": (
                lambda b=b: index_set(
                    args.work, "large", args.work / "model", argparse.Namespace(**{**vars(args), "batch_size": b})
                )
            )
            for b in (64, 128)
        },
        # the indexer's own batch size (HW_BATCH while the hardware decoder feeds it): what `pixseek index` does
        "large_auto": lambda: index_set(
            args.work, "large", args.work / "model", argparse.Namespace(**{**vars(args), "batch_size": None})
        ),
        "large_chunk_128": lambda: set_with(
            args, "sources.decode_threads", HW_DECODE_CHUNK=128, CHUNK_PIXELS=1_600_000_000
        ),
        "small_gpus_2": lambda: small_on(args, 2),
        "small_gpus_4": lambda: small_on(args, 4),
        "small_gpus_all": lambda: small_on(args, None),
        "small_cpu_decode_only": lambda: index_set(args.work, "small", args.work / "model", args, "off"),
    }
    for key in args.phases or phases:  # in the order given
        phase = phases[key]
        if time.perf_counter() - started > args.budget:
            result[key] = "skipped: out of time"
            continue
        SPY["phase"] = key
        try:
            result[key] = phase()
        except Exception as exc:  # noqa: BLE001 - one failed phase must not lose the others' figures
            result[key] = f"failed: {type(exc).__name__}: {exc}"
        print(key, json.dumps(result[key]), flush=True)
    scaling(result)
    anchor = result.get("timm_vit_giant_patch14_clip_224_bf16_images_per_s")
    for name in [k for k, v in result.items() if k.startswith(("small", "large")) and isinstance(v, dict)]:
        for key in ("images_per_s", "images_per_s_without_model_load", "images_per_s_steady"):
            if result[name].get(key) and isinstance(anchor, float):
                result[name][f"{key}_vs_timm"] = round(result[name][key] / anchor, 3)
    emit(slug("gpu_index", args.arch, f"bs{args.batch_size}", args.tag, args.card), result)


if __name__ == "__main__":
    main()
