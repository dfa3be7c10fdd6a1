"""The UI listens on 127.0.0.1 unless told otherwise, and serves and stores files only inside its folders."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ui.cli.browser
from ui import serve
from ui.cli.main import app
from ui.thumbs import NotServable, inside_roots
from ui.upload import save_upload

from .hostile import jpeg_bytes, picture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> set[str]:
    """Addresses (hex, as /proc/net/tcp{,6} write them) listening on this port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_app_server_listens_on_loopback_only_by_default(tmp_path):
    port = _free_port()
    child = serve.start(tmp_path / "lib", port=port)
    try:
        deadline = time.monotonic() + 90
        while not _listening(port) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _listening(port) == {"0100007F"}  # 127.0.0.1, and no 0.0.0.0 / :: socket beside it
    finally:
        child.terminate()
        child.wait(timeout=30)


@pytest.mark.parametrize(("args", "host"), [([], "127.0.0.1"), (["--host", "0.0.0.0"], "0.0.0.0")])
def test_pixseek_ui_binds_loopback_unless_a_host_is_given(tmp_path, monkeypatch, args, host):
    asked = []
    monkeypatch.setattr(ui.cli.browser, "serve", lambda library, host, port: asked.append(host) or 0)
    result = CliRunner().invoke(app, ["ui", "-l", str(tmp_path), *args])
    assert result.exit_code == 0 and asked == [host]


def test_the_ui_serves_no_file_outside_the_indexed_folders(tmp_path):
    root, outside = tmp_path / "photos", tmp_path / "secret"
    root.mkdir(), outside.mkdir()
    (outside / "key.jpg").write_bytes(b"secret")
    (root / "ok.jpg").write_bytes(b"x")
    (root / "link.jpg").symlink_to(outside / "key.jpg")
    (root / "linked-folder").symlink_to(outside)
    roots = (str(root),)
    assert inside_roots(root / "ok.jpg", roots) == (root / "ok.jpg").resolve()
    for path in (root / "../secret/key.jpg", outside / "key.jpg", root / "link.jpg", root / "linked-folder/key.jpg"):
        with pytest.raises(NotServable, match="not inside this library's folders"):
            inside_roots(path, roots)


@pytest.mark.parametrize("name", ["../../escape.jpg", "/etc/escape.jpg", "a\\..\\..\\escape.jpg", ".hidden.jpg"])
def test_an_upload_is_stored_inside_the_upload_folder_whatever_its_name(tmp_path, name):
    folder = tmp_path / "uploads"
    saved = save_upload(jpeg_bytes(picture(80)), name, folder)
    assert saved.parent == folder and saved.is_file()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [saved]
