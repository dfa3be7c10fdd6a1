"""`pixseek serve` under load: text-query round trips at concurrency 1 and 8, and hostile requests.

    python bench/serve.py                         # the tiny-shapes demo library (built once, reused)
    python bench/serve.py --vit-g --seconds 60    # also ViT-g/14 (random weights, release format) on the CPU

Each configuration runs the real server (`python -m ui.cli serve`) on 127.0.0.1 and HTTP clients in this
process: 5-word text queries for `--seconds` at each concurrency, p50/p99 round trip and requests/s with
the errors counted; then 1,000 hostile requests (path traversal in ids and image terms, oversized and
malformed bodies, wrong types, and a server on 0.0.0.0 asked without its token): the 5xx answers and the
answers that carried a file from outside the library's roots are counted. Writes bench/results/serve-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from common import ROOT, emit, machine, make_release_model
from encode import queries
from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(library: Path, env: dict, *extra: str, host: str = "127.0.0.1"):
    port = free_port()
    command = [sys.executable, "-m", "ui.cli", "serve", "-l", str(library), "--port", str(port), "--host", host, *extra]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=60)


def load(url: str, concurrency: int, seconds: float) -> dict:
    """Round trips of random text queries from `concurrency` clients for `seconds`."""
    texts, stop, latencies, errors = queries(4096, seed=concurrency), time.monotonic() + seconds, [], [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            i = n
            while time.monotonic() < stop:
                start = time.perf_counter()
                ok = http.get("/api/search", params={"q": texts[i % len(texts)], "k": 20}).status_code == 200
                with lock:
                    latencies.append(time.perf_counter() - start) if ok else None
                    errors[0] += not ok
                i += concurrency

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "concurrency": concurrency,
        "requests": len(latencies) + errors[0],
        "errors": errors[0],
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def hostile_requests(url: str, outside: Path, n: int, seed: int = 0) -> list[tuple[str, str, dict]]:
    """(method, path, httpx options) of n requests a careless or hostile client sends."""
    rng = random.Random(seed)
    secret = str(outside)
    choices = [
        ("GET", "/api/original/..%2F..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", f"/api/original/{secret}", {}),
        ("GET", "/api/thumbnail/-1", {}),
        ("GET", "/api/original/99999999999999999999", {}),
        ("POST", "/api/search", {"json": {"images": [secret]}}),
        ("POST", "/api/search", {"json": {"images": ["../../../../etc/passwd"]}}),
        ("POST", "/api/search", {"json": {"images": [f"{secret}/../../etc/passwd"]}}),
        ("POST", "/api/search", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/search", {"json": {"k": "many", "q": 7}}),
        ("POST", "/api/search", {"json": {"q": ["x"] * 10_000}}),
        ("POST", "/api/search", {"json": {"q": ["id:-3"]}}),
        ("POST", "/api/search", {"json": {"sort": "path; DROP TABLE files"}}),
        ("GET", "/api/search", {"params": {"k": "1e9"}}),
        ("GET", "/api/search", {"params": {"after": "yesterday"}}),
        ("POST", "/api/search/upload", {"files": {"file": ("x.jpg", b"\xff\xd8\xff" + os.urandom(2000))}}),
        ("POST", "/api/search/upload", {"files": {"file": ("big.jpg", b"0" * (21 << 20))}}),
        ("POST", "/knn-service", {"content": json.dumps({"image_url": f"file://{secret}"})}),
        ("POST", "/knn-service", {"content": json.dumps({"embedding_input": ["a"] * 4})}),
        ("POST", "/knn-service", {"content": json.dumps({"embedding_input": [1e308] * 128})}),
        ("POST", "/knn-service", {"content": b"\x00\x01\x02"}),
        ("POST", "/metadata", {"content": json.dumps({"ids": "all"})}),
    ]
    return [rng.choice(choices) for _ in range(n)]


def hostile(url: str, locked_url: str, outside: Path, n: int) -> dict:
    secret = outside.read_bytes()
    server_errors = leaked = 0
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=url, timeout=120) as http:
        for method, path, options in hostile_requests(url, outside, n):
            try:
                response = http.request(method, path, **options)
            except httpx.TransportError as exc:  # the server hung up (counted apart from its answers)
                statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                continue
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            server_errors += response.status_code >= 500
            leaked += secret in response.content or b"root:x:" in response.content
    unauthorised = sum(httpx.get(f"{locked_url}/api/search", params={"q": "x"}).status_code == 401 for _ in range(50))
    shown = {str(k): v for k, v in sorted(statuses.items(), key=str)}
    return {"requests": n, "server_errors": server_errors, "outside_files_served": leaked, "statuses": shown,
            "no_token_on_0.0.0.0_refused": f"{unauthorised}/50"}  # fmt: skip


def configuration(name: str, library: Path, env: dict, seconds: float, n_hostile: int, tmp: Path) -> dict:
    outside = tmp / "outside-secret.png"
    Image.new("RGB", (16, 16), "red").save(outside)
    out = {}
    with server(library, env) as url:
        httpx.get(f"{url}/api/search", params={"q": "warm up"}, timeout=600)
        out["load"] = [load(url, c, seconds) for c in (1, 8)]
        if n_hostile:
            with server(library, env, "--token", "bench-token", host="0.0.0.0") as locked:
                out["hostile"] = hostile(url, locked, outside, n_hostile)
    return {name: out}


def vit_library(work: Path, env: dict) -> Path:
    model, photos, library = work / "vit-g-14", work / "photos", work / "library"
    make_release_model("vit-g-14", model)
    if not (library / "catalog.sqlite").exists():
        photos.mkdir(parents=True, exist_ok=True)
        for i, colour in enumerate(("red", "blue")):
            Image.new("RGB", (640, 480), colour).save(photos / f"{i}.jpg")
        command = ["index", str(photos), "-l", str(library), "-m", str(model)]
        subprocess.run([sys.executable, "-m", "ui.cli", *command], cwd=ROOT, env=env, check=True)
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hostile", type=int, default=1000)
    parser.add_argument("--vit-g", action="store_true", help="also ViT-g/14 with random weights (5.5 GB written once)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "pixseek-bench-serve")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PIXSEEK_CACHE_DIR": str(args.dir / "cache")}
    demo = args.dir / "demo"
    subprocess.run([sys.executable, "-m", "ui.cli", "demo", "--no-serve", "-l", str(demo)], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    result = {"machine": machine(None)}
    result |= configuration("tiny-shapes demo library", demo, env, args.seconds, args.hostile, args.dir)
    if args.vit_g:
        library = vit_library(args.dir / "vit", env)
        result |= configuration("vit-g-14 (random weights)", library, env, args.seconds, 0, args.dir)
    emit("serve-cpu", result)


if __name__ == "__main__":
    main()
