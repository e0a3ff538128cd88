"""A fault-injecting HTTP server on 127.0.0.1 for tests of the fetch layer and of whole runs.

Each ``Fault`` is a route: a function of the request handler and of how many times the path was
requested before (so a route can fail twice and then succeed). ``FaultServer`` never talks to
anything but its own clients on loopback; a redirect to a private address is only ever *named* in a
Location header, never connected to (the client's address guard must refuse it first).
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FaultServer", "billion_laughs_feed", "conditional", "drip", "flapping", "gzip_bomb", "oversized", "redirect",
    "reply",
    "reset", "retry_after", "slow",
]

Fault = Callable[[BaseHTTPRequestHandler, int], None]


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def reply(body: bytes | str, status: int = 200, content_type: str = "text/html; charset=utf-8",
          headers: dict[str, str] | None = None) -> Fault:
    """A plain canned response."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return lambda handler, _: _send(handler, status, data, content_type, headers)


def conditional(body: bytes | str, *, etag: str, last_modified: str,
                content_type: str = "application/rss+xml; charset=utf-8") -> Fault:
    """A feed that answers 304 Not Modified to a request carrying its ETag or Last-Modified."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    def fault(handler: BaseHTTPRequestHandler, hits: int) -> None:
        if handler.headers.get("If-None-Match") == etag or handler.headers.get("If-Modified-Since") == last_modified:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        _send(handler, 200, data, content_type, {"ETag": etag, "Last-Modified": last_modified})
    return fault


def slow(seconds: float, then: Fault) -> Fault:
    """Wait before answering at all (a connect-then-silence server)."""
    def fault(handler: BaseHTTPRequestHandler, hits: int) -> None:
        time.sleep(seconds)
        then(handler, hits)
    return fault


def drip(body: bytes, *, every_s: float) -> Fault:
    """Headers at once, then the body one byte at a time (a slow-loris response)."""
    def fault(handler: BaseHTTPRequestHandler, _: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every_s)
    return fault


def reset(times: int, then: Fault | None = None) -> Fault:
    """Reset the connection (TCP RST) ``times`` times, then answer with ``then`` (if any)."""
    def fault(handler: BaseHTTPRequestHandler, hits: int) -> None:
        if then is not None and hits >= times:
            then(handler, hits)
            return
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True
        handler.connection.close()
    return fault


def retry_after(value: Callable[[], str], then: Fault, *, status: int = 429) -> Fault:
    """``status`` with a Retry-After header once, then ``then``."""
    def fault(handler: BaseHTTPRequestHandler, hits: int) -> None:
        if hits == 0:
            _send(handler, status, b"slow down", "text/plain", {"Retry-After": value()})
        else:
            then(handler, hits)
    return fault


def http_date_in(seconds: float) -> str:
    return formatdate(time.time() + seconds, usegmt=True)


def flapping(failures: int, then: Fault, *, status: int = 503) -> Fault:
    """``status`` for the first ``failures`` requests, then ``then``."""
    def fault(handler: BaseHTTPRequestHandler, hits: int) -> None:
        if hits < failures:
            _send(handler, status, b"unavailable", "text/plain")
        else:
            then(handler, hits)
    return fault


def redirect(location: str, status: int = 302) -> Fault:
    return lambda handler, _: _send(handler, status, b"", "text/plain", {"Location": location})


def oversized(size: int, *, declare: bool) -> Fault:
    """A body of ``size`` bytes, with a truthful Content-Length or chunked (undeclared)."""
    def fault(handler: BaseHTTPRequestHandler, _: int) -> None:
        if declare:
            _send(handler, 200, b"x" * size)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<p>" + b"x" * 65536 + b"</p>"
        for _ in range(size // len(chunk) + 1):
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
    return fault


def gzip_bomb(decompressed_size: int) -> Fault:
    """A small gzip body that inflates to ``decompressed_size`` bytes of zeros."""
    data = gzip.compress(b"\0" * decompressed_size, compresslevel=9)
    return lambda handler, _: _send(handler, 200, data, headers={"Content-Encoding": "gzip"})


def billion_laughs_feed() -> bytes:
    """An RSS document whose DTD defines the classic exponential entity expansion."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    return (f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel><title>&lol9;</title>'
            "<item><title>x</title><link>http://127.0.0.1/never</link></item></channel></rss>").encode()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and clients that hang up are the point of this server


class FaultServer:
    """Serves ``routes`` (path -> Fault) on 127.0.0.1; counts requests per path in ``hits``."""

    def __init__(self, routes: dict[str, Fault] | None = None) -> None:
        self.routes: dict[str, Fault] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.log: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    hits = server.hits[self.path]
                    server.hits[self.path] += 1
                    server.log.append((time.monotonic(), self.path))
                route = server.routes.get(self.path) or reply("not found", 404, "text/plain")
                try:
                    route(self, hits)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
