"""The GPU path of `pixseek index` (indexer.pipeline.gpu_feed / gpu_decode / gpu_shards), run on the CPU.

torchvision's CPU JPEG decoder stands in for nvJPEG (the same code with device "cpu"); "devices"
for --gpus are CPU processes. What is checked is the logic: which files go where, what happens to a
file the device decoder refuses, and that every path writes the catalog and vectors the CPU path does.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("torchvision")

import indexer.pipeline.gpu_feed as gpu_feed  # noqa: E402
import indexer.sources.gpu_decode as gpu_decode  # noqa: E402
from indexer.pipeline.gpu_workers import GpuSpecError, resolve_gpus
from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexRun, IndexSettings
from indexer.sources.decode import decode_bytes
from indexer.sources.reader import ReadSettings, read_all, with_bytes
from indexer.sources.scan import FoundFile
from ui.cli.main import app

ORIENTATION = 0x0112


def photos(folder: Path) -> Path:
    """JPEGs in every EXIF orientation, a grey JPEG, a CMYK JPEG, PNGs and a truncated JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for i in range(12):
        pixels = np.kron(rng.integers(0, 256, (6 + i % 3, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
        exif = Image.Exif()
        exif[ORIENTATION] = i % 8 + 1
        Image.fromarray(pixels).save(folder / f"photo{i:02d}.jpg", quality=92, exif=exif)
    Image.fromarray(rng.integers(0, 256, (40, 56), dtype=np.uint8)).save(folder / "grey.jpg")
    Image.new("CMYK", (48, 40), (10, 200, 30, 5)).save(folder / "cmyk.jpg")
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)).save(folder / f"flat{i}.png")
    (folder / "truncated.jpg").write_bytes((folder / "photo00.jpg").read_bytes()[:300])
    return folder


def catalog(library: Path) -> list[tuple]:
    with sqlite3.connect(library / "catalog.sqlite") as db:
        return db.execute(
            "SELECT f.relpath, f.status, f.error, i.width, i.height, i.format, i.orientation, i.phash, e.vector "
            "FROM files f LEFT JOIN images i ON i.id = f.image_id LEFT JOIN embeddings e ON e.image_id = i.id "
            "ORDER BY f.relpath"
        ).fetchall()


def same_library(a: list[tuple], b: list[tuple], min_cosine: float, max_phash_bits: int) -> None:
    assert [row[:7] for row in a] == [row[:7] for row in b]
    for x, y in zip(a, b, strict=True):
        if x[8] is not None:
            u, v = np.frombuffer(x[8], np.float32), np.frombuffer(y[8], np.float32)
            assert float(u @ v) >= min_cosine, x[0]
            assert bin(int(x[7], 16) ^ int(y[7], 16)).count("1") <= max_phash_bits, x[0]


def every_jpeg_to_the_device(monkeypatch) -> None:
    """Route every RGB/grey JPEG to the device decoder, whatever its size and the load."""
    monkeypatch.setattr(gpu_feed, "GPU_MIN_PIXELS", 0)
    monkeypatch.setattr(gpu_feed, "INITIAL_SHARE", 1.0)
    monkeypatch.setattr(gpu_feed, "SHARE_STEP", 0.0)


def settings(**kwargs) -> IndexSettings:
    return IndexSettings(**{"runtime": "torch", "device": "cpu", "batch_size": 4, "workers": 2, **kwargs})


def found(folder: Path) -> list[FoundFile]:
    return [FoundFile(folder, p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())]


def test_only_rgb_and_grey_jpegs_are_handed_to_the_device_undecoded(tmp_path):
    folder = photos(tmp_path / "photos")
    share = multiprocessing.get_context("fork").Value("d", 1.0, lock=False)
    read = ReadSettings(32, gpu_share=share, gpu_min_pixels=0)
    routed = {r.file.relpath: type(r).__name__ for r in read_all(found(folder), frozenset(), read, workers=2)}
    assert {name for name, kind in routed.items() if kind == "JpegJob"} == {f"photo{i:02d}.jpg" for i in range(12)} | {
        "grey.jpg"
    }
    share.value = 0.0
    assert {type(r).__name__ for r in read_all(found(folder), frozenset(), read, workers=2)} == {"Outcome"}


def test_jpegs_for_the_device_leave_their_bytes_on_disk_and_are_read_again_as_hashed(tmp_path):
    folder = photos(tmp_path / "photos")
    share = multiprocessing.get_context("fork").Value("d", 1.0, lock=False)
    jobs = [r for r in read_all(found(folder), frozenset(), ReadSettings(32, gpu_share=share), workers=2)]
    jobs = [j for j in jobs if isinstance(j, gpu_decode.JpegJob)]
    assert jobs and all(j.data is None for j in jobs)  # nothing large comes back through the pool's pipe
    for job in jobs:
        data = with_bytes(job).data
        assert data == job.file.path.read_bytes() and hashlib.sha256(data).hexdigest() == job.content_hash
    rewritten = jobs[0].file.path
    Image.new("RGB", (64, 48), (200, 10, 10)).save(rewritten, quality=50)
    assert with_bytes(jobs[0]).data is None  # changed since it was hashed: not the bytes of that hash


def test_a_jpeg_rewritten_between_its_hash_and_the_device_read_is_indexed_as_it_is_now(
    tmp_path, micro_model, monkeypatch
):
    folder = photos(tmp_path / "photos")
    rewritten = folder / "photo05.jpg"

    def rewriting(job):
        if job.file.path == rewritten:
            Image.new("RGB", (72, 40), (20, 30, 240)).save(rewritten, quality=60)
        return with_bytes(job)

    monkeypatch.setattr(gpu_feed, "with_bytes", rewriting)
    every_jpeg_to_the_device(monkeypatch)
    summary = index([folder], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"))
    assert summary.indexed == 17 and summary.decoded_on["gpu"] == 12
    with sqlite3.connect(tmp_path / "lib" / "catalog.sqlite") as db:
        stored = db.execute(
            "SELECT i.content_hash, i.width, i.height, f.size FROM files f JOIN images i ON i.id = f.image_id "
            "WHERE f.relpath = 'photo05.jpg'"
        ).fetchone()
    assert stored == (hashlib.sha256(rewritten.read_bytes()).hexdigest(), 72, 40, rewritten.stat().st_size)


def test_reader_results_and_device_decodes_go_on_while_the_model_loads(tmp_path, micro_model, monkeypatch):
    # The first batch used to wait for the model with nothing else taken from the readers or handed to the device
    # decoder: a 12 MP run's decoder sat idle through the load.
    load, loaded_at = IndexRun._load_vision, []

    def slow(run):
        time.sleep(2.0)
        load(run)
        loaded_at.append(time.perf_counter())

    monkeypatch.setattr(IndexRun, "_load_vision", slow)
    every_jpeg_to_the_device(monkeypatch)
    ticks: list[tuple[float, int, str]] = []
    progress = lambda state: ticks.append((time.perf_counter(), state.done, state.stage))  # noqa: E731
    folder = photos(tmp_path / "photos")
    summary = index([folder], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"), progress=progress)
    assert summary.indexed == 17 and summary.decoded_on["gpu"] == 13 and loaded_at
    before_load = max(done for at, done, _ in ticks if at < loaded_at[0])
    assert before_load == 18  # every file read (batches of 4), the JPEGs decoded, before the model was there
    monkeypatch.setattr(IndexRun, "_load_vision", load)
    index([folder], tmp_path / "cpu", str(micro_model), settings(gpu_decode="off"))
    same_library(catalog(tmp_path / "cpu"), catalog(tmp_path / "lib"), min_cosine=0.999, max_phash_bits=6)


def test_the_model_starts_loading_only_once_the_reader_processes_are_forked(tmp_path, micro_model, monkeypatch):
    # A worker forked while the model's thread imports a module inherits that module's import lock and hangs
    # at its own import of it (seen: a worker stuck importing scipy for ever).
    alive_at_prefetch = []
    prefetch = IndexRun.prefetch_model

    def counting(run):
        alive_at_prefetch.append(len(multiprocessing.active_children()))
        prefetch(run)

    monkeypatch.setattr(IndexRun, "prefetch_model", counting)
    summary = index([photos(tmp_path / "photos")], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"))
    assert summary.indexed == 17 and alive_at_prefetch and alive_at_prefetch[0] >= 2


def test_small_jpegs_stay_on_the_cpu_workers(tmp_path):
    folder = photos(tmp_path / "photos")
    share = multiprocessing.get_context("fork").Value("d", 1.0, lock=False)
    read = ReadSettings(32, gpu_share=share, gpu_min_pixels=gpu_decode.GPU_MIN_PIXELS)
    assert {type(r).__name__ for r in read_all(found(folder), frozenset(), read, workers=0)} == {"Outcome"}


def test_a_jpeg_the_device_decoder_refuses_is_decoded_on_the_cpu(tmp_path, micro_model, monkeypatch):
    folder = photos(tmp_path / "photos")
    refused = folder / "photo03.jpg"
    real = gpu_decode.decode_many

    def refusing(datas, device):
        images, decoder = real(datas, device)
        return [None if d == refused.read_bytes() else x for d, x in zip(datas, images, strict=True)], decoder

    monkeypatch.setattr(gpu_decode, "decode_many", refusing)
    every_jpeg_to_the_device(monkeypatch)
    summary = index([folder], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"))
    assert summary.decoded_on["gpu"] == 12  # 12 of the 13 RGB/grey JPEGs; photo03 went to the CPU
    row = next(r for r in catalog(tmp_path / "lib") if r[0] == "photo03.jpg")
    assert row[1] == "ok" and row[7] == decode_bytes(refused.read_bytes(), "x", 32).meta.phash


def test_device_decoded_jpegs_give_the_cpu_paths_rows_and_vectors(tmp_path, micro_model, monkeypatch):
    folder = photos(tmp_path / "photos")
    cpu = index([folder], tmp_path / "cpu", str(micro_model), settings(gpu_decode="off"))
    every_jpeg_to_the_device(monkeypatch)
    gpu = index([folder], tmp_path / "gpu", str(micro_model), settings(gpu_decode="on", workers=0))
    assert gpu.decoded_on["gpu"] == 13 and gpu.indexed == cpu.indexed == 17 and gpu.failed == cpu.failed == 1
    same_library(catalog(tmp_path / "cpu"), catalog(tmp_path / "gpu"), min_cosine=0.999, max_phash_bits=6)


def test_a_run_over_two_gpu_workers_gives_the_one_process_catalog_and_vectors(tmp_path, micro_model):
    folder = photos(tmp_path / "photos")
    index([folder], tmp_path / "one", str(micro_model), settings(gpu_decode="on"))
    summary = index([folder], tmp_path / "two", str(micro_model), settings(gpus=("cpu", "cpu")))
    assert summary.indexed == 17 and summary.failed == 1
    same_library(catalog(tmp_path / "one"), catalog(tmp_path / "two"), min_cosine=0.99999, max_phash_bits=0)
    again = index([folder], tmp_path / "two", str(micro_model), settings(gpus=("cpu", "cpu")))
    assert (again.unchanged, again.unreadable, again.indexed) == (17, 1, 0)  # the truncated file: not tried again


def test_a_gpu_worker_that_fails_stops_the_run_and_names_its_device(tmp_path, micro_model):
    from indexer.pipeline.gpu_workers import WorkerFailed

    folder = photos(tmp_path / "photos")
    failed = "^the indexing process on cuda:5 failed: DeviceUnavailable: device 'cuda:5' asked for"
    with pytest.raises(WorkerFailed, match=failed):
        index([folder], tmp_path / "lib", str(micro_model), settings(gpus=("cpu", "cuda:5")))


class StubDecoder:
    def __init__(self, blocked: float, in_flight: int):
        self.blocked, self.in_flight, self.chunk = blocked, in_flight, 16


def steered(share: float, waited: float, decoder: StubDecoder | None) -> float:
    """The share after one steering window of one second with `waited` s spent waiting on the workers."""
    value = multiprocessing.get_context("fork").Value("d", share, lock=False)
    feed = gpu_feed.Feed(lambda: None, batch_size=4, share=value, sink=list, device="cpu", size=32)
    feed.decoder, feed.waited, feed.window_started = decoder, waited, feed.window_started - 1.0
    feed._steer()
    feed.decoder = None
    feed.close()
    return value.value


def test_more_jpegs_go_to_the_device_while_the_workers_are_behind_and_its_decoder_is_idle():
    assert steered(0.5, waited=0.5, decoder=StubDecoder(0.0, 0)) == pytest.approx(0.5 + gpu_feed.SHARE_STEP)
    assert steered(0.5, waited=0.5, decoder=None) == pytest.approx(0.5 + gpu_feed.SHARE_STEP)
    assert steered(1.0, waited=0.5, decoder=None) == 1.0


def test_fewer_jpegs_go_to_the_device_while_its_decoder_is_behind():
    assert steered(0.5, waited=0.5, decoder=StubDecoder(0.5, 64)) == pytest.approx(0.5 - gpu_feed.SHARE_STEP)
    assert steered(0.0, waited=0.0, decoder=StubDecoder(0.5, 64)) == 0.0


def test_the_share_holds_while_neither_side_waits_or_the_decoder_is_busy():
    assert steered(0.5, waited=0.0, decoder=StubDecoder(0.0, 0)) == 0.5
    assert steered(0.5, waited=0.5, decoder=StubDecoder(0.0, 64)) == 0.5


def test_batches_hold_batch_size_images_taken_from_decoded_chunks_in_order(tmp_path):
    from indexer.sources.decode_threads import Chunk

    feed = gpu_feed.Feed(lambda: None, batch_size=4, share=None, sink=list, device="cpu", size=32)
    jobs = [f"job{i}" for i in range(6)]
    feed.chunks = [Chunk(jobs[:3], np.arange(3), np.arange(3), []), Chunk(jobs[3:], np.arange(3, 6), np.arange(3), [])]
    first = feed._take_chunks(4)
    assert [j for c in first for j in c.jobs] == jobs[:4] and list(first[1].crops) == [3]
    assert feed.ready == 2 and [j for c in feed._take_chunks(4) for j in c.jobs] == jobs[4:]
    feed.close()


@pytest.mark.parametrize(
    ("spec", "visible", "devices"),
    [("all", 2, ("cuda:0", "cuda:1")), ("1", 4, ("cuda:0",)), ("1,3", 4, ("cuda:1", "cuda:3"))],
)
def test_gpus_option_names_the_devices(spec, visible, devices):
    assert resolve_gpus(spec, visible) == devices


@pytest.mark.parametrize(
    ("spec", "visible", "message"),
    [
        ("all", 0, "--gpus all: this machine's torch build sees no GPU"),
        ("3", 2, "--gpus 3: asks for 3 GPUs; this machine has 2"),
        ("0,0", 2, "--gpus 0,0: indices must be distinct and below 2"),
        ("first", 2, "--gpus first: use all, a number of GPUs, or GPU indices such as 0,1"),
    ],
)
def test_bad_gpus_option_says_why(spec, visible, message):
    with pytest.raises(GpuSpecError, match="^" + message.replace("(", r"\(")):
        resolve_gpus(spec, visible)


def test_cli_refuses_gpus_with_device_and_unknown_gpu_decode(tmp_path):
    runner = CliRunner()
    both = runner.invoke(app, ["index", str(tmp_path), "-l", str(tmp_path / "lib"), "--gpus", "all", "--device", "cpu"])
    assert both.exit_code == 2 and both.stderr.strip() == "error: --gpus all: give --gpus or --device, not both"
    bad = runner.invoke(app, ["index", str(tmp_path), "-l", str(tmp_path / "lib"), "--gpu-decode", "maybe"])
    assert bad.exit_code == 2 and "unknown gpu_decode 'maybe'; use auto, on or off" in bad.stderr


def test_gpu_decode_on_with_a_runtime_other_than_torch_is_refused_before_anything_is_written(tmp_path):
    folder = photos(tmp_path / "photos")
    runner = CliRunner()
    args = ["index", str(folder), "-l", str(tmp_path / "lib"), "--device", "cpu", "--gpu-decode", "on"]
    refused = runner.invoke(app, [*args, "--runtime", "numpy"])
    assert refused.exit_code == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: gpu_decode 'on' feeds the torch runtime's model; this run would use numpy: add --runtime torch"
    ]
    assert not (tmp_path / "lib" / "vectors").exists()
    done = runner.invoke(app, [*args, "--runtime", "torch"])
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "lib" / "vectors").exists()  # what the refused run did not write


def test_the_gpu_path_loads_the_model_while_the_first_files_are_read(tmp_path, micro_model, monkeypatch):
    import threading

    from indexer.pipeline.run import IndexRun

    folder, loaded_by = photos(tmp_path / "photos"), []
    real = IndexRun._load_encoder

    def spy(self):
        loaded_by.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(IndexRun, "_load_encoder", spy)
    summary = index([folder], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"))
    assert loaded_by == ["pixseek-model-load"] and summary.indexed == 17
    again = index([folder], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"))
    assert loaded_by == ["pixseek-model-load"] and again.unchanged == 17  # nothing to read: no load started


def test_a_model_that_fails_to_load_in_the_background_fails_the_run_with_its_error(tmp_path, micro_model, monkeypatch):
    from indexer.errors import DeviceUnavailable
    from indexer.pipeline.run import IndexRun

    def broken(self):
        raise DeviceUnavailable("no such device: cuda:7")

    monkeypatch.setattr(IndexRun, "_load_encoder", broken)
    with pytest.raises(DeviceUnavailable, match="cuda:7"):
        index([photos(tmp_path / "photos")], tmp_path / "lib", str(micro_model), settings(gpu_decode="on"))


def test_images_resized_together_give_the_crops_and_thumbnails_of_one_at_a_time(tmp_path, monkeypatch):
    folder = photos(tmp_path / "photos")  # three stored sizes, eight orientations: groups of one size and turn
    paths = sorted(folder.glob("photo*.jpg")) * 3
    jobs = [gpu_decode.probe(FoundFile(p.parent, p.name, 0, 0), p.read_bytes(), "0" * 64, 10**9, 0) for p in paths]
    together = gpu_decode.decode_jobs(jobs, 32, "cpu")
    images = gpu_decode.decode_many([j.data for j in jobs], "cpu")[0]
    assert len(gpu_decode._groups(jobs, images)) <= len(jobs) / 3  # really resized several at once
    monkeypatch.setattr(gpu_decode, "RESIZE_GROUP", 1)
    alone = gpu_decode.decode_jobs(jobs, 32, "cpu")
    assert len(together[2]) == len(jobs) and sorted(together[2]) == sorted(alone[2]) and not together[3]
    order = {i: row for row, i in enumerate(alone[2])}
    rows = [order[i] for i in together[2]]
    assert np.array_equal(together[0].numpy(), alone[0].numpy()[rows])
    assert np.allclose(together[1].numpy(), alone[1].numpy()[rows], atol=1e-3)


def test_the_device_decoder_starts_at_the_first_jpeg_before_the_run_waits_for_the_model(
    tmp_path, micro_model, monkeypatch
):
    every_jpeg_to_the_device(monkeypatch)
    events = []
    decoder, loaded_encoder = gpu_feed.DecodeThreads, IndexRun.loaded_encoder
    monkeypatch.setattr(gpu_feed, "DecodeThreads", lambda *a, **k: events.append("decoder") or decoder(*a, **k))
    monkeypatch.setattr(IndexRun, "loaded_encoder", lambda run: events.append("model") or loaded_encoder(run))
    batch = settings(gpu_decode="on", batch_size=64)  # one batch: no launch, so no model, before the last file
    summary = index([photos(tmp_path / "photos")], tmp_path / "lib", str(micro_model), batch)
    assert summary.indexed == 17 and summary.decoded_on["gpu"] >= 12
    assert events[:2] == ["decoder", "model"]


@pytest.mark.parametrize(("batch_size", "hardware", "largest"), [(None, True, 3), (4, True, 4), (None, False, 17)])
def test_an_automatic_batch_shrinks_while_the_hardware_jpeg_decoder_feeds_the_run(
    tmp_path, micro_model, monkeypatch, batch_size, hardware, largest
):
    """HW_BATCH (3 here) images a batch where the batch size is automatic and the hardware decoder feeds the run;
    a batch size the user chose, or the other decoders, keep theirs."""
    every_jpeg_to_the_device(monkeypatch)
    monkeypatch.setattr(gpu_feed, "HW_BATCH", 3)
    monkeypatch.setattr(gpu_feed, "hardware_jpeg", lambda device: hardware)
    sizes, encode = [], gpu_feed.Feed._encode

    def counted(feed, plain, cpu, chunks):
        sizes.append(len(cpu) + sum(len(c.jobs) for c in chunks))
        return encode(feed, plain, cpu, chunks)

    monkeypatch.setattr(gpu_feed.Feed, "_encode", counted)
    batch = settings(gpu_decode="on", batch_size=batch_size)
    summary = index([photos(tmp_path / "photos")], tmp_path / "lib", str(micro_model), batch)
    assert summary.indexed == 17 and sum(sizes) == 17 - summary.unreadable
    assert max(sizes) == largest


def device_jobs(folder: Path) -> list:
    paths = sorted(folder.glob("photo*.jpg"))
    return [gpu_decode.probe(FoundFile(p.parent, p.name, 0, 0), p.read_bytes(), "0" * 64, 10**9, 0) for p in paths]


@pytest.mark.parametrize("stage", ["decode_many", "crop_decoded"])
def test_a_failure_in_either_thread_of_a_decode_lane_reaches_the_caller_and_nothing_hangs(tmp_path, monkeypatch, stage):
    from indexer.sources.decode_threads import DecodeThreads

    def broken(*args, **kwargs):
        raise RuntimeError(f"{stage} broke")

    monkeypatch.setattr(gpu_decode, stage, broken)
    threads = DecodeThreads(32, "cpu", threads=1, chunk=4)
    for job in device_jobs(photos(tmp_path / "photos")):
        try:
            threads.submit(job)
        except RuntimeError:
            break
    with pytest.raises(RuntimeError, match=f"{stage} broke"):
        threads.take(wait=True)
    threads.close()


def test_decode_lanes_give_every_job_back_once_decoded_or_refused(tmp_path):
    from indexer.sources.decode_threads import DecodeThreads

    jobs = device_jobs(photos(tmp_path / "photos")) * 3
    threads = DecodeThreads(32, "cpu", threads=2, chunk=5)
    for job in jobs:
        threads.submit(job)
    chunks = threads.take(wait=True)
    threads.close()
    names = sorted(j.file.relpath for c in chunks for j in [*c.jobs, *c.refused])
    assert names == sorted(j.file.relpath for j in jobs)
    assert sum(len(c.jobs) for c in chunks) == len(jobs) and all(len(c.crops) == len(c.jobs) for c in chunks)
    assert all(j.data is None for c in chunks for j in c.jobs)  # the bytes are dropped once decoded


def test_a_chunk_of_large_images_is_pushed_before_it_has_its_full_count(tmp_path, monkeypatch):
    import indexer.sources.decode_threads as decode_threads

    jobs = device_jobs(photos(tmp_path / "photos"))
    pixels = jobs[0].fields["width"] * jobs[0].fields["height"]
    monkeypatch.setattr(decode_threads, "CHUNK_PIXELS", 2 * pixels)
    threads = decode_threads.DecodeThreads(32, "cpu", threads=1, chunk=64)
    for job in jobs[:6]:
        threads.submit(job)
    assert len(threads.pending) < 2  # pushed in pairs, not held for 64
    chunks = threads.take(wait=True)
    threads.close()
    assert sum(len(c.jobs) for c in chunks) == 6 and max(len(c.jobs) for c in chunks) <= 3


@pytest.mark.parametrize(("given", "seen"), [(None, "32"), ("4", "4")])
def test_importing_pixseek_gives_cuda_32_hardware_queues_unless_the_user_chose(given, seen):
    """With CUDA's 8 the hardware JPEG decoder waited behind the encoder's queued batch (74 against 825 images/s on
    one H100): the count is set before any CUDA context exists; a count the user set is kept."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CUDA_DEVICE_MAX_CONNECTIONS"}
    if given:
        env["CUDA_DEVICE_MAX_CONNECTIONS"] = given
    code = "import os, indexer; print(os.environ['CUDA_DEVICE_MAX_CONNECTIONS'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == seen
