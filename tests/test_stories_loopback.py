"""Over loopback: feed → fetch → extract → AssignStories → Parquet, twice against one DIR.

The second run's feed carries a follow-up, which must join the story the first run created. (Dropping
already-stored entries is the pipeline's job, tested with the full CLI; here the feed moves on.)
"""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import format_datetime
from html import escape
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline.config import ExtractConfig, FetchConfig, SinkConfig
from schemas.arrow import ARTICLES
from schemas.records import Article, FeedSpec
from transforms.extract import ExtractArticles
from transforms.feeds import ReadFeeds
from transforms.fetch import FetchPages
from transforms.sink import WriteParquetPartitions
from transforms.stories import STORIES, AssignStories, StoriesConfig, commit_story_state
from tests.loopback import LoopbackServer, Reply
from tests.sitefixture import rss_feed
from tests.test_stories_fixtures import first_run, second_run

FETCH = FetchConfig(allow_private_hosts=True, min_interval_s=0.0, max_attempts=1)


def _page(article: Article) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.text.split("\n\n"))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(article.title or '')}</title>"
            f"</head><body><nav><a href='/'>Home</a></nav><main><article><h1>{escape(article.title or '')}</h1>"
            f"{paragraphs}</article></main><footer>Loopback News</footer></body></html>")


def _slug(article: Article) -> str:
    return article.url.rsplit("/", 1)[1]


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    for article in first_run() + second_run():
        server.routes[f"/news/{_slug(article)}"] = Reply(body=_page(article))
    yield server
    server.stop()


def _publish(site: LoopbackServer, articles: list[Article]) -> None:
    items = [(site.url(f"/news/{_slug(a)}"), a.title or "", format_datetime(a.published_at)) for a in articles]
    site.routes["/feed.xml"] = Reply(body=rss_feed(items), content_type="application/rss+xml")


def _run(site: LoopbackServer, out: Path, run_id: str) -> None:
    sink = SinkConfig(out=str(out), run_id=run_id)
    with TestPipeline() as p:
        entries = p | beam.Create([FeedSpec(site.url("/feed.xml"))]) | ReadFeeds(FETCH)
        extracted = (entries.entries | FetchPages(FETCH)).pages | ExtractArticles(ExtractConfig())
        result = extracted.articles | AssignStories(StoriesConfig(), out=str(out), run_id=run_id)
        _ = result.articles | "WriteArticles" >> WriteParquetPartitions(ARTICLES, sink)
        _ = result.stories | "WriteStories" >> WriteParquetPartitions(STORIES, sink)
    commit_story_state(str(out), run_id)


def _rows(out: Path, table: str) -> list[dict]:
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table().to_pylist()


def test_rerun_over_loopback_adds_follow_up_to_story(site: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(site, first_run())
    _run(site, out, "run1")
    first = {r["url"].rsplit("/", 1)[1].split("?")[0]: r for r in _rows(out, "articles")}
    story = first["vella-bridge"]["story_id"]
    assert first["ferry-hits-bridge"]["duplicate_of"] == first["vella-bridge"]["article_id"]
    assert first["bridge-closed"]["story_id"] == story and first["footbridge"]["story_id"] != story

    _publish(site, second_run())
    _run(site, out, "run2")
    rows = _rows(out, "articles")
    assert len(rows) == len(first) + 1
    follow_up = next(r for r in rows if "piles-sheared" in r["url"])
    assert follow_up["story_id"] == story
    latest = max((r for r in _rows(out, "stories") if r["story_id"] == story), key=lambda r: r["updated_at"])
    assert latest["run_id"] == "run2" and latest["article_count"] == 5
