"""Every door an image comes in by, over the hostile corpus: `pixseek search --image`, uploads to
`pixseek serve`, the UI's upload. Each file is one clear answer: results, or one line naming the file and
why; never a traceback, a server error, or a decoder's own chatter on the terminal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from service_process import ROOT, serving

from indexer import IndexSettings, PixseekError, index
from indexer.sources import synthetic
from ui.upload import save_upload

from .hostile import make_corpus

QUERY_TIMEOUT = 600


@pytest.fixture(scope="module")
def doors(tmp_path_factory, micro_model):
    """A small library, the hostile corpus, and what each file given as a query image must give."""
    base = tmp_path_factory.mktemp("doors")
    photos = base / "photos"
    photos.mkdir()
    for i in range(4):
        synthetic.write(synthetic.sample(i, 5), photos, i)
    index([photos], base / "lib", str(micro_model), IndexSettings(workers=0))
    corpus = base / "corpus"
    expected = {str(corpus / e.name): e for e in make_corpus(corpus) if e.outcome != "either"}
    # Given as an image, these are not images at all: each must still be one line, not a traceback.
    (base / "a-folder").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(base / "a-socket.jpg"))
    others = [str(base / "a-folder"), str(base / "a-socket.jpg"), "/dev/zero", str(base / "nowhere.jpg")]
    yield base, expected, others
    sock.close()


def _is_regular(path: str) -> bool:
    return os.path.isfile(path) and not os.path.islink(path)


def test_search_image_answers_every_file_with_results_or_one_line(doors, tally):
    base, expected, others = doors
    paths = [*expected, *others]
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.image_queries", str(base / "lib"), *paths],
        cwd=ROOT, capture_output=True, text=True, timeout=QUERY_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["path"] for r in results] == paths
    problems = []
    for r in results:
        tally["queries"] += 1
        lines = r["stderr"].splitlines()
        traced = r["traceback"] is not None or "Traceback" in r["stderr"] + r["stdout"] + r["c_stderr"]
        e = expected.get(r["path"])
        if e is not None and e.outcome == "ok":
            noisy = bool(lines) or bool(r["c_stderr"])
            wrong = r["exit"] != 0 or not json.loads(r["stdout"])
        else:
            noisy = len(lines) != 1 or bool(r["c_stderr"])
            wrong = r["exit"] != 2 or not lines or not lines[0].startswith(f"error: {r['path']}: ")
            # Reasons of files read and decoded are the indexer's; a link or a name is the scan's business.
            wrong |= e is not None and _is_regular(r["path"]) and e.reason not in r["stderr"]
        tally["query_tracebacks"] += traced
        tally["query_noisy"] += noisy
        if traced or noisy or wrong:
            problems.append((r["path"], r["exit"], r["stderr"][-300:], r["c_stderr"][-200:], r["traceback"]))
    assert not problems, problems
    assert len(results) >= 100


def test_uploads_to_the_service_and_the_ui_are_a_result_or_a_4xx_never_a_server_error(doors, tally, tmp_path):
    base, expected, _ = doors
    files = {p: e for p, e in expected.items() if _is_regular(p)}
    problems = []
    with serving(base / "lib") as url, httpx.Client(timeout=60) as client:
        for path, e in files.items():
            data = Path(path).read_bytes()
            response = client.post(f"{url}/api/search/upload", files={"file": (Path(path).name, data)})
            tally["uploads"] += 1
            tally["upload_server_errors"] += response.status_code >= 500
            want = 200 if e.outcome == "ok" else 400
            detail = response.json().get("detail", "") if response.status_code != 200 else ""
            if response.status_code != want or "\n" in str(detail) or (want == 400 and not detail):
                problems.append(("service", path, response.status_code, response.text[:300]))
    for path, e in files.items():  # the UI's upload box hands the bytes to this
        tally["uploads"] += 1
        try:
            save_upload(Path(path).read_bytes(), Path(path).name, tmp_path / "uploads")
            refused = None
        except PixseekError as exc:
            refused = str(exc)
        except Exception as exc:  # noqa: BLE001 - what the tally counts as a server error
            tally["upload_server_errors"] += 1
            refused = f"{type(exc).__name__}: {exc}"
            problems.append(("ui", path, refused))
            continue
        if (refused is None) != (e.outcome == "ok") or (refused and "\n" in refused):
            problems.append(("ui", path, refused))
    assert not problems, problems
