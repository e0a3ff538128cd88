"""The comment collector against the demo news site (WordPress, generic, JSON-LD, Disqus, widgets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from pipeline.config import FetchConfig
from pipeline.demo.server import start_demo_server
from transforms.comments import CommentsConfig, collect_comments
from transforms.http import HttpClient

EXPECTED = Path(__file__).resolve().parent.parent / "pipeline" / "demo" / "site" / "expected.json"


@pytest.fixture(scope="module")
def demo() -> Iterator[object]:
    server = start_demo_server()
    yield server
    server.stop()


def test_demo_site_threads_match_expected(demo) -> None:  # type: ignore[no-untyped-def]
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))["articles"]
    config = FetchConfig(allow_private_hosts=True, min_interval_s=0.0, respect_robots=False, max_attempts=1)
    comments_config = CommentsConfig(disqus_api_key="demo-key", disqus_api_base=demo.base_url + "/api/3.0")
    with HttpClient(config) as client:
        feed = feedparser.parse(client.get(demo.feed_url).content)
        hints = {e.link.split("?")[0]: e.get("wfw_commentrss") for e in feed.entries}
        checked = 0
        for art in expected.values():
            want = art["comments"]
            url = demo.base_url + art["path"]
            html = client.get(url).text
            thread = collect_comments(html=html, page_url=url, article_id=art["path"], fetched_at=datetime.now(UTC),
                                      comments_feed_url=hints.get(url), comments_page_url=None, client=client,
                                      config=comments_config)
            if want["system"] in ("wp", "generic", "jsonld", "disqus"):
                assert len(thread.comments) == want["expected_total"], art["path"]
                assert max(c.depth for c in thread.comments) + 1 == want["max_depth"], art["path"]
                assert {c.author for c in thread.comments} == {i["author"] for i in want["items"]}, art["path"]
                assert thread.status == "collected"
                checked += 1
            elif want["system"] == "none":
                assert thread.comments == () and thread.status == "none", art["path"]
            else:
                assert thread.status == f"embedded:{want['system']}", art["path"]
        assert checked >= 5
