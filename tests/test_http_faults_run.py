"""A whole run against the fault-injecting site: each fault ends in a failures row or a successful retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.cli import main
from pipeline.run import run_ingest  # noqa: F401  (imports trafilatura, which warns on import, at collection)
from tests.faults import (
    FaultServer, billion_laughs_feed, flapping, gzip_bomb, http_date_in, oversized, redirect, reply, reset,
    retry_after, slow,
)
from tests.sitefixture import PARAGRAPHS, FixtureArticle, article_html, rss_feed

EXPECTED_FAILURES = {
    "/slow": "timeout", "/reset": "connection_error", "/loop-a": "redirect_loop", "/to-private": "blocked_url",
    "/big": "too_large", "/bomb": "too_large", "/private/secret": "robots_disallowed",
    "/report.pdf": "unsupported_content_type", "/gone": "http_404",
}
RETRIED = ["/flap", "/429-seconds", "/429-date", "/reset-once", "/charset"]


def _page(slug: str, base: str) -> bytes:
    article = FixtureArticle(slug, f"Story {slug} – café edition", paragraphs=[f"{slug}. " + p for p in PARAGRAPHS])
    return article_html(article, base).encode("utf-8")


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        base = server.base_url
        ok = lambda slug: reply(_page(slug, base))  # noqa: E731
        server.routes.update({
            "/robots.txt": reply("User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
            "/ok1": ok("ok1"), "/ok2": ok("ok2"),
            "/flap": flapping(2, ok("flap")),
            "/429-seconds": retry_after(lambda: "1", ok("429-seconds")),
            "/429-date": retry_after(lambda: http_date_in(1), ok("429-date")),
            "/reset-once": reset(1, ok("reset-once")),
            # A UTF-8 page served with a wrong Latin-1 header.
            "/charset": reply(_page("charset", base), content_type="text/html; charset=iso-8859-1"),
            "/slow": slow(5, ok("slow")),
            "/reset": reset(99),
            "/loop-a": redirect("/loop-b"), "/loop-b": redirect("/loop-a"),
            "/to-private": redirect("http://10.1.2.3/internal"),
            "/big": oversized(3_000_000, declare=False),
            "/bomb": gzip_bomb(50_000_000),
            "/private/secret": ok("secret"),
            "/report.pdf": reply(b"%PDF-1.4", content_type="application/pdf"),
            "/gone": reply("gone", 404, "text/plain"),
        })
        paths = ["/ok1", "/ok2", *RETRIED, *EXPECTED_FAILURES]
        items = [(server.url(p), f"Item {p}", "Tue, 04 Mar 2025 08:30:00 GMT") for p in paths]
        server.routes["/feed.xml"] = reply(rss_feed(items), content_type="application/rss+xml")
        server.routes["/malformed.xml"] = reply("<rss><channel><item><title>x", content_type="application/rss+xml")
        server.routes["/laughs.xml"] = reply(billion_laughs_feed(), content_type="application/rss+xml")
        yield server


def test_every_fault_ends_in_a_failure_row_or_a_retry_and_the_run_completes(site: FaultServer,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main([
        "run", "--out", str(out), "--feed", site.url("/feed.xml"), "--feed", site.url("/malformed.xml"),
        "--feed", site.url("/laughs.xml"), "--allow-network", "127.0.0.0/8", "--min-interval", "0",
        "--max-in-flight", "4", "--max-attempts", "3", "--backoff-base", "0.01", "--timeout", "1",
        "--max-bytes", "1000000", "--breaker-failures", "100", "--no-comments", "--warc",
    ])
    assert code == 0
    articles = ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table().to_pylist()
    stored = {row["url"].removeprefix(site.base_url): row for row in articles}
    assert sorted(stored) == sorted(["/ok1", "/ok2", *RETRIED])
    assert "café edition" in stored["/charset"]["title"]
    failures = ds.dataset(out / "failures", format="parquet", partitioning="hive").to_table().to_pylist()
    by_url = {row["url"].removeprefix(site.base_url): row for row in failures}
    for path, kind in EXPECTED_FAILURES.items():
        assert by_url[path]["error_kind"] == kind, path
    assert by_url["/slow"]["attempts"] == 3 and by_url["/reset"]["attempts"] == 3
    assert by_url["/malformed.xml"]["error_kind"] == "malformed_feed"
    assert by_url["/laughs.xml"]["error_kind"] == "unsafe_xml"
    assert site.hits["/flap"] == 3 and site.hits["/429-seconds"] == 2 and site.hits["/private/secret"] == 0
    warcs = list((out / "warc").glob("*.warc.gz"))
    assert warcs and not list((out / "warc").glob("_tmp/*"))
    captured = []
    for path in warcs:
        with path.open("rb") as handle:
            captured += [(r.rec_headers.get_header("WARC-Target-URI").removeprefix(site.base_url),
                          r.http_headers.get_statuscode()) for r in ArchiveIterator(handle) if r.rec_type == "response"]
    assert ("/flap", "503") in captured and ("/flap", "200") in captured and ("/feed.xml", "200") in captured
