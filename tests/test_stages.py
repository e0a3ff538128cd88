"""Each stage's PTransform on TestPipeline, against a loopback site: main and failure outputs."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import ExtractConfig, FetchConfig
from schemas.records import FeedSpec
from transforms.extract import ExtractArticles
from transforms.feeds import ReadFeeds
from transforms.fetch import FetchPages
from tests.conftest import ARTICLES
from tests.loopback import LoopbackServer

FETCH = FetchConfig(allow_private_hosts=True, min_interval_s=0.0, max_attempts=1)


def _title(x):
    return x.title


def _kind(failure):
    return failure.stage, failure.error_kind


def test_read_fetch_extract(news_site: LoopbackServer) -> None:
    specs = [FeedSpec(news_site.url("/feed.xml")), FeedSpec(news_site.url("/bad.xml")),
             FeedSpec(news_site.url("/missing.xml"))]
    with TestPipeline() as p:
        feeds = p | beam.Create(specs) | "ReadFeeds" >> ReadFeeds(FETCH)
        fetched = feeds.entries | "FetchPages" >> FetchPages(FETCH, host_workers=2)
        extracted = fetched.pages | "Extract" >> ExtractArticles(ExtractConfig())
        assert_that(feeds.entries | "EntryCount" >> beam.combiners.Count.Globally(), equal_to([5]), label="Entries")
        assert_that(feeds.failures | "FeedKinds" >> beam.Map(_kind),
                    equal_to([("feed", "malformed_feed"), ("feed", "http_404")]), label="FeedFailures")
        assert_that(fetched.failures | "FetchKinds" >> beam.Map(_kind),
                    equal_to([("fetch", "http_404"), ("fetch", "unsupported_content_type")]), label="FetchFailures")
        assert_that(extracted.articles | beam.Map(_title), equal_to([a.title for a in ARTICLES]), label="Titles")
        assert_that(extracted.failures, equal_to([]), label="NoRejections")


def _rejected_page(failure):
    return failure.url.rsplit("/", 1)[-1].split("?")[0], failure.error_kind.startswith("rejected:")


def test_extract_rejects_pages_without_an_article(news_site: LoopbackServer) -> None:
    news_site.routes["/news/tram-line"].body = "<html><body><nav><a href='/'>Home</a></nav></body></html>"
    with TestPipeline() as p:
        feeds = p | beam.Create([FeedSpec(news_site.url("/feed.xml"))]) | "ReadFeeds" >> ReadFeeds(FETCH)
        fetched = feeds.entries | "FetchPages" >> FetchPages(FETCH)
        extracted = fetched.pages | "Extract" >> ExtractArticles(ExtractConfig())
        assert_that(extracted.failures | beam.Map(_rejected_page), equal_to([("tram-line", True)]), label="Rejected")


def _explode(page):
    raise RuntimeError("a later step failed")


def test_a_failing_later_step_fails_the_run_instead_of_hanging(news_site: LoopbackServer) -> None:
    """Fetch threads blocked on a full result queue must not keep the worker from shutting down."""
    import threading

    from tests.loopback import Reply
    from tests.sitefixture import FixtureArticle, article_html, rss_feed

    base = news_site.base_url
    many = [FixtureArticle(f"n{i}", f"Story {i}") for i in range(30)]
    news_site.routes.update({f"/news/{a.slug}": Reply(body=article_html(a, base)) for a in many})
    news_site.routes["/many.xml"] = Reply(
        body=rss_feed([(f"{base}/news/{a.slug}", a.title, "Tue, 04 Mar 2025 08:30:00 GMT") for a in many]),
        content_type="application/rss+xml")
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            with TestPipeline() as p:
                feeds = p | beam.Create([FeedSpec(news_site.url("/many.xml"))]) | "ReadFeeds" >> ReadFeeds(FETCH)
                fetched = feeds.entries | "FetchPages" >> FetchPages(FETCH, host_workers=1)
                _ = fetched.pages | "Explode" >> beam.Map(_explode)
            outcome.append(None)
        except BaseException as exc:  # the failure we expect, carried out of the thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the pipeline hung after a downstream failure"
    assert outcome and outcome[0] is not None and "a later step failed" in str(outcome[0])
