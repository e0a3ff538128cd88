"""The comments stage as the pipeline runs it: on-site sources only, and the join of threads to articles."""

from __future__ import annotations

from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import FetchConfig
from schemas.records import Comment, FeedEntry, RawPage
from tests.loopback import LoopbackServer, Reply
from transforms.comments.collect import CommentsConfig
from transforms.comments.stage import AttachCommentThreads, PageThread, attach_comments
from transforms.http import HttpClient
from transforms.urls import stable_id

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)
FETCH = FetchConfig(allow_private_hosts=True, min_interval_s=0.0, max_attempts=1, respect_robots=False)


def _page(url: str, html: str) -> RawPage:
    entry = FeedEntry(feed_url="f", url=url, canonical_url=url, article_id=stable_id(url))
    return RawPage(entry=entry, final_url=url, status=200, html=html, fetched_at=NOW)


def test_comment_sources_on_other_sites_are_refused_without_a_request() -> None:
    html = ('<html><head><link rel="https://api.w.org/" href="http://comments.elsewhere.invalid/wp-json/">'
            '</head><body class="single postid-7"><article><p>Text</p></article></body></html>')
    with LoopbackServer() as server, HttpClient(FETCH) as client:
        page, failures = attach_comments(client, _page(server.url("/a"), html), CommentsConfig())
        assert server.requests == []
    assert [f.error_kind for f in failures] == ["off_site_comment_source"]
    assert failures[0].stage == "comments" and page.comments == ()


def test_on_site_rest_comments_are_collected() -> None:
    with LoopbackServer() as server, HttpClient(FETCH) as client:
        html = (f'<html><head><link rel="https://api.w.org/" href="{server.base_url}/wp-json/"></head>'
                '<body class="single postid-7"><article><p>Text</p></article></body></html>')
        listing = ('[{"id": 3, "post": 7, "parent": 0, "author_name": "Ana", "author_url": "", '
                   '"date_gmt": "2025-03-04T10:00:00", "content": {"rendered": "<p>First!</p>"}, "link": ""}]')
        server.routes["/wp-json/wp/v2/comments"] = Reply(body=listing, content_type="application/json",
                                                         headers={"X-WP-TotalPages": "1", "X-WP-Total": "1"})
        page, failures = attach_comments(client, _page(server.url("/a"), html), CommentsConfig())
    assert failures == []
    assert [(c.author, c.text, c.origin) for c in page.comments] == [("Ana", "First!", "wp-json")]
    assert page.comments_status == "collected"


def _comment(article_id: str, n: int) -> Comment:
    return Comment(f"c{n}", article_id, "u", None, 0, "A", None, NOW, f"text {n}", "html", NOW, 1, "", "")


def _summary(element):
    if isinstance(element, Comment):
        return ("comment", element.comment_id, element.date, element.source)
    return ("article", element.article_id, element.comment_count, element.comments_status)


def test_threads_join_new_articles_and_refresh_only_young_stored_ones() -> None:
    from tests.test_sink_state import _article

    new, stored_young, stored_old, rejected = (_article(n) for n in range(4))
    threads = [
        (a.article_id, PageThread("collected", (_comment(a.article_id, n),), a.source))
        for n, a in enumerate((new, stored_young, stored_old, rejected))
    ]
    known = [(stored_young.article_id, True), (stored_old.article_id, False)]
    with TestPipeline() as p:
        articles = p | "Articles" >> beam.Create([new, stored_young, stored_old])
        joined = (articles, p | "Threads" >> beam.Create(threads)) | AttachCommentThreads(
            p | "Known" >> beam.Create(known))
        assert_that(joined.articles | "A" >> beam.Map(_summary),
                    equal_to([("article", new.article_id, 1, "collected")]), label="Articles")
        assert_that(joined.comments | "C" >> beam.Map(_summary),
                    equal_to([("comment", "c0", "2025-03-04", "e.org"), ("comment", "c1", "2025-03-04", "e.org")]),
                    label="Comments")
