"""Loopback HTTP server for the embedded demo news site (what ``make demo`` ingests).

Serves ``pipeline/demo/site/`` with the ``{{BASE_URL}}`` placeholder replaced by the server's real
base URL, proper Content-Type, ETag and Last-Modified headers (304 on conditional requests), and
the query-string routes a WordPress + Disqus site has: paginated comment feeds (``?paged=N``),
``/wp-json/wp/v2/comments`` and Disqus' ``/api/3.0/threads/listPosts.json``. Stdlib only; binds to
a loopback address only.

Usage::

    with start_demo_server() as server:
        urllib.request.urlopen(server.feed_url)

    python -m pipeline.demo.server [--port N]
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import logging
import threading
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from pipeline.demo import _api
from pipeline.demo._api import Reply

__all__ = ["DEFAULT_SITE_DIR", "DemoServer", "main", "start_demo_server"]

LOGGER = logging.getLogger(__name__)
DEFAULT_SITE_DIR = Path(__file__).parent / "site"
PLACEHOLDER = b"{{BASE_URL}}"
_TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_BINARY_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml", ".css": "text/css"}
# Ground truth and raw API fixtures live in the site dir but are not part of the public site.
_HIDDEN_PREFIXES = ("expected.json", "disqus/", "wp-json/")


def _content_type(path: Path) -> str | None:
    if path.name == "atom.xml":
        return "application/atom+xml; charset=utf-8"
    return _TEXT_TYPES.get(path.suffix) or _BINARY_TYPES.get(path.suffix)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def _not_modified(headers: dict[str, str], etag: str, mtime: float | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only counts without it."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = headers.get("if-modified-since")
    if ims is None or mtime is None:
        return False
    try:
        since = parsedate_to_datetime(ims).timestamp()
    except (TypeError, ValueError):
        return False
    return int(mtime) <= since


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site_dir: Path) -> None:
        super().__init__(address, _Handler)
        self.site_dir = site_dir.resolve()
        self.base_url = f"http://{address[0]}:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    server_version = "MeridianDemo/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        LOGGER.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        reply, mtime = self._route(unquote(split.path), query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        etag = _etag(reply.body)
        cacheable = reply.status == 200
        if cacheable and _not_modified(headers, etag, mtime):
            reply = Reply(304, b"", reply.content_type, reply.headers)
        self.send_response(reply.status)
        if reply.status != 304:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        if cacheable:
            self.send_header("ETag", etag)
            if mtime is not None:
                self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
            self.send_header("Cache-Control", "max-age=60")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head and reply.status != 304:
            self.wfile.write(reply.body)

    def _route(self, path: str, query: dict[str, str]) -> tuple[Reply, float | None]:
        site, base = self.server.site_dir, self.server.base_url
        if path == "/wp-json/wp/v2/comments":
            return _api.wp_comments(site, base, query), None
        if path == "/api/3.0/threads/listPosts.json":
            return _api.disqus_list_posts(site, base, query), None
        if path in ("/wp-json", "/wp-json/"):
            return self._file(site / "wp-json" / "index.json")
        rel = path.lstrip("/") or "index.html"
        if rel.startswith(_HIDDEN_PREFIXES) or "\x00" in rel:
            return _not_found(), None
        if rel.startswith("comments/") and query.get("paged", "1") != "1":
            paged = query["paged"]
            if not paged.isdigit():
                return _not_found(), None
            rel = rel.removesuffix(".xml") + f".page{int(paged)}.xml"
        return self._file(site / rel)

    def _file(self, candidate: Path) -> tuple[Reply, float | None]:
        try:
            target = candidate.resolve()
        except (OSError, RuntimeError):
            return _not_found(), None
        if target.is_dir():
            target = target / "index.html"
        site = self.server.site_dir
        ctype = _content_type(target)
        if not target.is_relative_to(site) or not target.is_file() or ctype is None:
            return _not_found(), None
        body = target.read_bytes()
        if target.suffix in _TEXT_TYPES:
            body = body.replace(PLACEHOLDER, self.server.base_url.encode("ascii"))
        return Reply(200, body, ctype), target.stat().st_mtime


def _not_found() -> Reply:
    page = (b'<!DOCTYPE html><html lang="en"><head><title>Not found</title></head>'
            b"<body><h1>404 Not Found</h1></body></html>")
    return Reply(int(HTTPStatus.NOT_FOUND), page, "text/html; charset=utf-8")


class DemoServer:
    """A running demo site; a context manager that stops the server on exit.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``, the value substituted for ``{{BASE_URL}}``.
        feed_url: ``base_url + "/feed.xml"``, the main RSS feed.
        site_dir: the directory being served.
    """

    def __init__(self, httpd: _SiteServer) -> None:
        self._httpd = httpd
        self.base_url: str = httpd.base_url
        self.feed_url: str = self.base_url + "/feed.xml"
        self.site_dir: Path = httpd.site_dir
        self._thread = threading.Thread(target=httpd.serve_forever, name="demo-site", daemon=True)

    def _start(self) -> DemoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _bind(host: str, port: int, site_dir: Path | None) -> _SiteServer:
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the demo server binds to loopback only, not {host!r}")
    root = site_dir or DEFAULT_SITE_DIR
    if not (root / "feed.xml").is_file():
        raise FileNotFoundError(f"no demo site at {root} (run python -m pipeline.demo.sitegen)")
    return _SiteServer(("127.0.0.1" if host == "localhost" else host, port), root)


def start_demo_server(*, host: str = "127.0.0.1", port: int = 0,
                      site_dir: Path | None = None) -> DemoServer:
    """Serve the demo site from a daemon thread.

    Args:
        host: a loopback address to bind (anything else raises ``ValueError``).
        port: TCP port; 0 picks a free one.
        site_dir: directory to serve; defaults to the embedded ``pipeline/demo/site``.

    Returns:
        The running ``DemoServer``; call ``stop()`` or use it as a context manager.
    """
    return DemoServer(_bind(host, port, site_dir))._start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the Meridian Ledger demo site on loopback.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    parser.add_argument("--site-dir", type=Path, default=None, help="site directory to serve")
    args = parser.parse_args(argv)
    httpd = _bind(args.host, args.port, args.site_dir)
    print(f"Serving the demo site; feed: {httpd.base_url}/feed.xml (Ctrl-C to stop)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
