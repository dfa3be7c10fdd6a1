"""Resumable, verified model downloads against a local HTTP server that can misbehave on demand."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from fake_http import PROXY_VARS, serving

from indexer.errors import DownloadError
from indexer.model.download import RemoteFile, download_model, read_manifest, sha256_file

WEIGHTS = "model_state.pdparams"
CONFIG = "config.json"


@pytest.fixture
def server(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)  # the requests must reach 127.0.0.1 itself
    rnd = random.Random(0)
    with serving({WEIGHTS: rnd.randbytes(300_000), CONFIG: json.dumps({"dim": 8}).encode() * 50}) as fake:
        yield fake


def test_download_model_installs_both_files_verified(server, tmp_path):
    paths = download_model([server.remote(WEIGHTS), server.remote(CONFIG)], tmp_path)
    assert paths == [tmp_path / WEIGHTS, tmp_path / CONFIG]
    assert [p.read_bytes() for p in paths] == [server.files[WEIGHTS], server.files[CONFIG]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".download.json", CONFIG, WEIGHTS]


def test_download_model_writes_a_manifest_of_name_url_size_and_sha256(server, tmp_path):
    files = [server.remote(WEIGHTS), server.remote(CONFIG)]
    download_model(files, tmp_path)
    manifest = json.loads((tmp_path / ".download.json").read_text())
    assert manifest["files"] == [{"name": f.name, "url": f.url, "size": f.size, "sha256": f.sha256} for f in files]
    assert read_manifest(tmp_path) == files


def test_progress_is_called_with_increasing_byte_counts_ending_at_the_total(server, tmp_path):
    calls = []
    download_model([server.remote(WEIGHTS)], tmp_path, progress=lambda *a: calls.append(a))
    done = [d for _, d, _ in calls]
    assert len(calls) > 1 and done == sorted(done)
    assert calls[-1] == (WEIGHTS, 300_000, 300_000)


def test_an_unknown_sha256_is_computed_on_first_download_and_recorded(server, tmp_path):
    download_model([server.remote(WEIGHTS, size=False, sha256=False)], tmp_path)
    expected = hashlib.sha256(server.files[WEIGHTS]).hexdigest()
    assert sha256_file(tmp_path / WEIGHTS) == expected
    assert read_manifest(tmp_path)[0].sha256 == expected
    assert read_manifest(tmp_path)[0].size == 300_000


def test_an_interrupted_transfer_resumes_with_a_range_request_from_the_part_size(server, tmp_path):
    server.drop_after, server.drops_left = 100_000, 1
    download_model([server.remote(WEIGHTS)], tmp_path)
    assert server.seen(WEIGHTS) == [None, "bytes=100000-"]
    assert (tmp_path / WEIGHTS).read_bytes() == server.files[WEIGHTS]
    assert not (tmp_path / f"{WEIGHTS}.part").exists()


def test_a_part_file_left_by_a_killed_run_is_resumed(server, tmp_path):
    (tmp_path / f"{WEIGHTS}.part").write_bytes(server.files[WEIGHTS][:123_456])
    download_model([server.remote(WEIGHTS)], tmp_path)
    assert server.seen(WEIGHTS) == ["bytes=123456-"]
    assert (tmp_path / WEIGHTS).read_bytes() == server.files[WEIGHTS]


def test_a_complete_part_answered_with_416_is_verified_and_installed(server, tmp_path):
    (tmp_path / f"{WEIGHTS}.part").write_bytes(server.files[WEIGHTS])
    download_model([server.remote(WEIGHTS, size=False)], tmp_path)
    assert server.seen(WEIGHTS) == ["bytes=300000-"]
    assert (tmp_path / WEIGHTS).read_bytes() == server.files[WEIGHTS]


def test_a_server_that_ignores_range_still_yields_a_correct_file(server, tmp_path):
    server.ignore_range = True
    (tmp_path / f"{WEIGHTS}.part").write_bytes(server.files[WEIGHTS][:50_000])
    download_model([server.remote(WEIGHTS)], tmp_path)
    assert server.seen(WEIGHTS) == ["bytes=50000-"]
    assert (tmp_path / WEIGHTS).read_bytes() == server.files[WEIGHTS]


def test_corrupted_content_is_refused_with_a_sha256_mismatch_and_leaves_no_file(server, tmp_path):
    server.corrupt = True
    with pytest.raises(DownloadError, match="sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}"):
        download_model([server.remote(WEIGHTS)], tmp_path)
    assert not (tmp_path / WEIGHTS).exists()
    assert not (tmp_path / f"{WEIGHTS}.part").exists()
    assert not (tmp_path / ".download.json").exists()


def test_a_file_larger_than_its_declared_size_is_refused(server, tmp_path):
    declared = RemoteFile(WEIGHTS, server.url(WEIGHTS), 299_999, None)
    with pytest.raises(DownloadError, match="size mismatch: expected 299999 bytes"):
        download_model([declared], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_raises_an_error_naming_404(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        download_model([RemoteFile("absent.bin", server.url("absent.bin"), None, None)], tmp_path)
    assert err.value.url == server.url("absent.bin")
    assert len(server.requests) == 1  # a 404 is final, not retried


def test_a_server_error_raises_an_error_naming_the_status(server, tmp_path):
    server.status = 500
    with pytest.raises(DownloadError, match="HTTP 500"):
        download_model([server.remote(CONFIG)], tmp_path, retries=1)


def test_a_connection_that_keeps_dropping_gives_up_after_the_retries(server, tmp_path):
    server.drop_after, server.drops_left = 0, 99
    with pytest.raises(DownloadError, match="gave up after 2 failed attempts in a row: connection closed after 0"):
        download_model([server.remote(WEIGHTS)], tmp_path, retries=2)
    assert len(server.seen(WEIGHTS)) == 2


def test_an_already_complete_file_is_not_requested_again(server, tmp_path):
    files = [server.remote(WEIGHTS), server.remote(CONFIG, size=False, sha256=False)]
    download_model(files, tmp_path)
    server.requests.clear()
    assert download_model(files, tmp_path) == [tmp_path / WEIGHTS, tmp_path / CONFIG]
    assert server.requests == []


def test_a_present_file_with_the_wrong_content_is_downloaded_again(server, tmp_path):
    (tmp_path / WEIGHTS).write_bytes(bytes(300_000))
    download_model([server.remote(WEIGHTS)], tmp_path)
    assert server.seen(WEIGHTS) == [None]
    assert (tmp_path / WEIGHTS).read_bytes() == server.files[WEIGHTS]


@pytest.mark.parametrize("name", ["../evil.bin", "..", "sub/model.bin", "/etc/passwd", "", "a\\b"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(server, tmp_path, name):
    with pytest.raises(DownloadError, match="refused file name"):
        download_model([RemoteFile(name, server.url(WEIGHTS), None, None)], tmp_path / "model")
    assert server.requests == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http:///nohost"])
def test_a_url_that_is_not_http_or_https_is_refused(tmp_path, url):
    with pytest.raises(DownloadError, match="only http:// and https://"):
        download_model([RemoteFile("x.bin", url, None, None)], tmp_path)
    assert list(tmp_path.iterdir()) == []
