"""Shared fixtures: loopback fixture sites and configs for tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime

import pytest

from tests.loopback import LoopbackServer, Reply
from tests.sitefixture import FixtureArticle, article_html, rss_feed

ARTICLES = [
    FixtureArticle("tram-line", "Council approves tram line extension",
                   comments=[("Mara", "Finally some good news for the harbour district."),
                             ("Tom", "The market square closure will hurt small traders.")]),
    FixtureArticle("bridge", "Old rail bridge to reopen in spring", author="Ben Ode",
                   published="2025-03-05T23:30:00-02:00"),
    FixtureArticle("budget", "Regional budget adds transport fund", author="Ana Lima"),
]


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


@pytest.fixture
def news_site() -> Iterator[LoopbackServer]:
    """A site with one good feed (three articles, a 404 entry and a PDF entry) and a malformed feed."""
    server = LoopbackServer()
    base = server.base_url
    items = [(f"{base}/news/{a.slug}?utm_source=rss", a.title, _rfc822(a.published)) for a in ARTICLES]
    items += [(f"{base}/news/gone", "Gone", "Tue, 04 Mar 2025 08:30:00 GMT"),
              (f"{base}/files/report.pdf", "Report", "Tue, 04 Mar 2025 08:30:00 GMT")]
    server.routes.update({
        "/feed.xml": Reply(body=rss_feed(items), content_type="application/rss+xml; charset=utf-8",
                           headers={"ETag": '"v1"'}),
        "/bad.xml": Reply(body="<rss><channel><item><title>broken", content_type="application/rss+xml"),
        "/files/report.pdf": Reply(body=b"%PDF-1.4 not html", content_type="application/pdf"),
        "/robots.txt": Reply(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
    })
    for article in ARTICLES:
        server.routes[f"/news/{article.slug}"] = Reply(body=article_html(article, base))
    yield server
    server.stop()
