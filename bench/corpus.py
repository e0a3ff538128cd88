"""The benchmark's news site: real corpus pages behind generated RSS feeds on many loopback hosts.

Pages come from ``$NEWSINGEST_CORPORA`` (``_manifest/pages.jsonl``: Fundus, Readability, newspaper4k,
trafilatura pages; plus the article-extraction-benchmark HTML), read in place and never copied. Article
``i`` is page ``i mod len(pages)`` under its own URL, so any number of distinct URLs can be served.

Every virtual host is its own ``ThreadingHTTPServer`` on its own 127.0.0.1 port: the pipeline keys
politeness by scheme+host+port, so each port is a separate site, and nothing needs /etc/hosts. Feeds
carry an ETag and answer conditional GETs with 304, as real feed servers do.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from bench._util import corpora_root

__all__ = ["BenchArticle", "BenchSite", "CorpusPage", "iter_url_pages", "load_pages", "plan_articles", "read_html",
           "write_feeds_toml"]

_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class CorpusPage:
    """One real page of the shared corpora, stored gzip-compressed or plain."""

    source: str
    id: str
    path: Path


@dataclass(frozen=True, slots=True)
class BenchArticle:
    """One article URL of the site: which host and feed list it, and which corpus page it serves."""

    index: int
    host: int
    feed: int
    page: CorpusPage

    @property
    def path(self) -> str:
        return f"/news/{self.index:06d}.html"


def load_pages(root: Path | None = None, *, include_synthetic: bool = False) -> list[CorpusPage]:
    """Every real article page of the corpora, in a stable order (manifest order, then benchmark ids)."""
    root = root or corpora_root()
    pages = []
    with open(root / "_manifest" / "pages.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if include_synthetic or not record.get("likely_synthetic"):
                pages.append(CorpusPage(record["source"], record["id"], root / record["path"]))
    for path in sorted((root / "article-extraction-benchmark" / "html").glob("*.html.gz")):
        pages.append(CorpusPage("article-extraction-benchmark", path.name.split(".")[0], path))
    if not pages:
        raise FileNotFoundError(f"no corpus pages under {root}")
    return pages


def read_html(page: CorpusPage) -> bytes:
    """The page's original bytes (decompressed when stored as gzip)."""
    data = page.path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def plan_articles(pages: Sequence[CorpusPage], n_articles: int, *, n_hosts: int,
                  per_feed: int = 50) -> list[BenchArticle]:
    """Spread ``n_articles`` round-robin over hosts, each host's articles over feeds of ``per_feed`` items."""
    return [
        BenchArticle(index=i, host=i % n_hosts, feed=(i // n_hosts) // per_feed, page=pages[i % len(pages)])
        for i in range(n_articles)
    ]


def _rss(host_url: str, feed: int, articles: Sequence[BenchArticle]) -> bytes:
    items = []
    for article in articles:
        link = escape(host_url + article.path)
        published = format_datetime(_EPOCH + timedelta(minutes=article.index))
        items.append(f"<item><title>Article {article.index}</title><link>{link}</link>"
                     f"<guid isPermaLink=\"true\">{link}</guid><pubDate>{published}</pubDate>"
                     f"<description>Bench article {article.index} ({escape(article.page.id)})</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Bench feed {feed}</title><link>{escape(host_url)}/</link><description>bench</description>"
            f"{''.join(items)}</channel></rss>").encode("utf-8")


def _feeds_of(articles: Sequence[BenchArticle]) -> dict[tuple[int, int], list[BenchArticle]]:
    feeds: dict[tuple[int, int], list[BenchArticle]] = {}
    for article in articles:
        feeds.setdefault((article.host, article.feed), []).append(article)
    return feeds


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the tail waits for the client's delayed ACK
    # (~40 ms a response on Linux), which would charge every client a latency no real server has.
    disable_nagle_algorithm = True
    server: _HostServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def do_HEAD(self) -> None:
        self._respond(send_body=False, kind="head")

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, *, send_body: bool, kind: str | None = None) -> None:
        site, path = self.server.site, self.path.split("?", 1)[0]
        status, headers, body, resolved = site.resolve(self.server.host, path, self.headers.get("If-None-Match"))
        site.count(kind or (resolved if status != 304 else "not_modified"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class _HostServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, site: BenchSite, host: int) -> None:
        self.site, self.host = site, host
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that drop a kept-alive connection (newspaper4k's HEAD probes) are not server errors.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class BenchSite:
    """Serves the planned articles and their feeds on ``n_hosts`` loopback ports until ``stop()``.

    Decompressed pages are cached in memory (this process is the server, not the one measured).
    """

    def __init__(self, articles: Sequence[BenchArticle], n_hosts: int) -> None:
        self.articles = list(articles)
        self._by_path = {a.path: a for a in self.articles}
        self._feeds = _feeds_of(self.articles)
        self._html: dict[Path, bytes] = {}
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self._servers = [_HostServer(self, host) for host in range(n_hosts)]
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self._servers]
        for thread in self._threads:
            thread.start()

    def publish(self, articles: Sequence[BenchArticle]) -> None:
        """List only ``articles`` in the feeds from now on (every planned page stays served)."""
        self._feeds = _feeds_of(articles)

    def host_url(self, host: int) -> str:
        return f"http://127.0.0.1:{self._servers[host].server_address[1]}"

    def article_url(self, article: BenchArticle) -> str:
        return self.host_url(article.host) + article.path

    def feed_urls(self) -> list[str]:
        return [f"{self.host_url(host)}/feeds/{feed}.xml" for host, feed in sorted(self._feeds)]

    def count(self, kind: str) -> None:
        with self._lock:
            self.requests[kind] += 1

    def reset_counts(self) -> Counter[str]:
        with self._lock:
            counts, self.requests = self.requests, Counter()
        return counts

    def html(self, page: CorpusPage) -> bytes:
        cached = self._html.get(page.path)
        if cached is None:
            cached = self._html.setdefault(page.path, read_html(page))
        return cached

    def resolve(self, host: int, path: str, if_none_match: str | None) -> tuple[int, dict[str, str], bytes, str]:
        """(status, headers, body, request kind) for one request path on one host."""
        article = self._by_path.get(path)
        if article is not None and article.host == host:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self.html(article.page), "page"
        if path.startswith("/feeds/") and path.endswith(".xml") and path[7:-4].isdigit():
            items = self._feeds.get((host, int(path[7:-4])))
            if items is not None:
                body = _rss(self.host_url(host), int(path[7:-4]), items)
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                           "Last-Modified": format_datetime(_EPOCH, usegmt=True)}
                if if_none_match == etag:
                    return 304, headers, b"", "feed"
                return 200, headers, body, "feed"
        return 404, {"Content-Type": "text/plain"}, b"not found", "other"

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> BenchSite:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def write_feeds_toml(path: Path, feed_urls: Sequence[str]) -> Path:
    """A feeds.toml listing ``feed_urls`` (settings come from the command line)."""
    path.write_text("".join(f'[[feeds]]\nurl = "{url}"\n\n' for url in feed_urls), encoding="utf-8")
    return path


def iter_url_pages(site: BenchSite) -> Iterator[tuple[str, CorpusPage]]:
    """Every article URL with the corpus page it serves (for the peers and the bare loop)."""
    for article in site.articles:
        yield site.article_url(article), article.page
