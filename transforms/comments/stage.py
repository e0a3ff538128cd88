"""The comments stage in the pipeline: collect each page's thread, then join threads to articles.

``attach_comments`` runs in the fetch stage's per-host threads, with the same HTTP client, so
comment feeds, REST listings and comment pages of a host share the host's politeness limits with its
articles. ``AttachCommentThreads`` joins the threads to the extracted articles by article id: a new
article gets its ``comment_count``/``comments_status`` and its comment rows; a stored article that
is still young gets only its comment rows (the refresh); a page that was rejected keeps none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam

from schemas.arrow import SCHEMA_VERSION, utc_date
from schemas.records import Article, Comment, Failure, RawPage, record
from transforms.comments.collect import CommentsConfig, collect_comments
from transforms.comments.html import parse_document
from transforms.errors import BlockedURLError, IngestError
from transforms.failures import failure_from_error
from transforms.urls import canonical_url_of, canonicalize_url, source_of, stable_id

__all__ = ["COMMENTS", "AttachCommentThreads", "PageThread", "attach_comments", "comment_rows", "thread_of_page"]

COMMENTS = "comments"


@record
class PageThread:
    """The comment thread found on one fetched page, ready to join with its article."""

    status: str
    comments: tuple[Comment, ...]
    source: str


class _OnSiteClient:
    """The HTTP client, limited to the page's own site and the configured Disqus API.

    A page names its comment sources itself (REST root, comment feed links), and a copied or
    hostile page can point them anywhere: following them would send requests to hosts the user
    never listed. Sources elsewhere fail as ``off_site_comment_source`` instead.
    """

    def __init__(self, client: Any, page_url: str, config: CommentsConfig) -> None:
        self._client = client
        self._site = source_of(page_url)
        self._disqus = source_of(config.disqus_api_base) if config.disqus_api_key else None

    def _allowed(self, url: str) -> bool:
        site = source_of(url)
        return site == self._disqus or site == self._site or site.endswith("." + self._site) or (
            self._site.endswith("." + site))

    def get(self, url: str, **kwargs: Any) -> Any:
        if not self._allowed(url):
            raise BlockedURLError(f"comment source on another site than the article's ({source_of(url)})",
                                  kind="off_site_comment_source")
        return self._client.get(url, **kwargs)


def attach_comments(client: object, page: RawPage, config: CommentsConfig) -> tuple[RawPage, list[Failure]]:
    """Collect the page's comment thread; failed comment sources become failures, the page stays."""
    tree = parse_document(page.html)
    # The same canonical URL the extractor will find, so the thread joins its article by id.
    canonical = canonical_url_of(tree, page.final_url)[0] if tree is not None else canonicalize_url(page.final_url)
    thread = collect_comments(
        html=page.html, page_url=page.final_url, article_id=stable_id(canonical), fetched_at=page.fetched_at,
        comments_feed_url=page.entry.comments_feed_url, comments_page_url=page.entry.comments_page_url,
        client=_OnSiteClient(client, page.final_url, config), config=config, tree=tree,
    )
    failures = [
        failure_from_error(url, "comments", error if isinstance(error, IngestError)
                           else IngestError(f"{type(error).__name__}: {error}", kind="comments_error"),
                           feed_url=page.entry.feed_url)
        for url, error in thread.failures
    ]
    return replace(page, canonical_url=canonical, comments=thread.comments, comments_status=thread.status), failures


def comment_rows(comments: Iterable[Comment], source: str) -> list[Comment]:
    """Comments as rows of the comments table, partition columns filled.

    ``date`` is the comment's own UTC date (the fetch date when it has none), so a refresh appends
    new comments to the days they were written; ``source`` is the article's.
    """
    return [
        replace(c, date=utc_date(c.published_at or c.fetched_at), source=source, schema_version=SCHEMA_VERSION)
        for c in comments
    ]


def thread_of_page(page: RawPage) -> tuple[str, PageThread]:
    """Key a page's thread by the id its article gets (the fetch stage computed the canonical URL)."""
    canonical = page.canonical_url or page.final_url
    return stable_id(canonical), PageThread(page.comments_status, page.comments, source_of(canonical))


def _join(grouped: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
    _, sides = grouped
    threads = list(sides["thread"])
    articles = sorted(sides["article"], key=lambda a: (a.feed_url, a.url))
    known = list(sides["known"])
    comments = threads[0].comments if threads else ()
    if known:
        if any(known) and threads:  # stored and still young: only the comments are new
            yield from (beam.pvalue.TaggedOutput(COMMENTS, c) for c in comment_rows(comments, threads[0].source))
        return
    if not articles:
        return  # the page was rejected or failed extraction: its comments have no article to hang on
    article = articles[0]
    if threads:
        article = replace(article, comment_count=len(comments), comments_status=threads[0].status)
    yield article
    yield from (beam.pvalue.TaggedOutput(COMMENTS, c) for c in comment_rows(comments, article.source))


def _key_article(article: Article) -> tuple[str, Article]:
    return article.article_id, article


class AttachCommentThreads(beam.PTransform):  # type: ignore[misc]
    """Keeps one article per id that is not stored yet, with its comment thread attached.

    Input: a ``(articles, threads)`` pair of ``PCollection[Article]`` and ``PCollection[(id, PageThread)]``.
    Outputs: main ``Article`` (new articles, ``comment_count``/``comments_status`` set) and
    ``comments`` (``Comment`` rows of new articles and of stored articles still within the refresh window).

    Args:
        known_articles: ``PCollection[(key, is_recent)]`` of stored articles.
    """

    def __init__(self, known_articles: beam.PCollection) -> None:
        super().__init__()
        self._known_articles = known_articles

    def expand(self, articles_and_threads: tuple[beam.PCollection, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        articles, threads = articles_and_threads
        keyed = articles | "KeyArticles" >> beam.Map(_key_article)
        return (
            {"article": keyed, "thread": threads, "known": self._known_articles}
            | "JoinByArticleId" >> beam.CoGroupByKey()
            | "KeepNewWithThread" >> beam.FlatMap(_join).with_outputs(COMMENTS, main="articles")
        )
