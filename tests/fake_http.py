"""A local HTTP server on 127.0.0.1 serving in-memory files, with switchable misbehaviours."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from indexer.model.download import RemoteFile

PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class FakeServer:
    """In-memory files served over HTTP on 127.0.0.1, with switchable misbehaviours."""

    files: dict[str, bytes]
    port: int = 0
    drop_after: int | None = None  # send the full Content-Length, write this many bytes, close
    drops_left: int = 0  # how many responses drop before the server behaves again
    drop_only: str | None = None  # drop only responses for this file name
    corrupt: bool = False  # flip one byte of every body
    ignore_range: bool = False  # always answer 200 with the whole file
    status: int | None = None  # answer every request with this error status
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def remote(self, name: str, *, size: bool = True, sha256: bool = True) -> RemoteFile:
        body = self.files[name]
        digest = hashlib.sha256(body).hexdigest() if sha256 else None
        return RemoteFile(name, self.url(name), len(body) if size else None, digest)

    def seen(self, name: str) -> list[str | None]:
        return [rng for path, rng in self.requests if path == f"/{name}"]


def _handler(server: FakeServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            rng = self.headers.get("Range")
            server.requests.append((self.path, rng))
            body = server.files.get(self.path.lstrip("/"))
            if server.status or body is None:
                self.send_error(server.status or 404)
                return
            if server.corrupt:
                body = body[:1000] + bytes([body[1000] ^ 0xFF]) + body[1001:]
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1)) if rng and not server.ignore_range else None
            if start is not None and start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200 if start is None else 206)
            if start is not None:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start or 0 :]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if server.drops_left > 0 and server.drop_only in (None, self.path.lstrip("/")):
                server.drops_left -= 1
                self.wfile.write(body[: server.drop_after])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serving(files: dict[str, bytes]) -> Iterator[FakeServer]:
    """Serve `files` on 127.0.0.1 (an ephemeral port) until the block ends."""
    fake = FakeServer(files)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)  # quick shutdown
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
