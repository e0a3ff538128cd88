"""Extract articles: trafilatura for the body, never the comments, plus the row's identity fields.

``extract_article`` is the plain function (RawPage in, Article or Rejection out); ``ExtractArticles``
wires it and routes rejections and errors to the failures output.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import datetime, time, timezone
from typing import Any

import apache_beam as beam
import lxml.html
import trafilatura
from trafilatura.settings import Extractor

from pipeline.config import ExtractConfig
from schemas.arrow import SCHEMA_VERSION, utc_date
from schemas.records import Article, RawPage, Rejection
from transforms.failures import FAILURES, failure_from_rejection
from transforms.urls import canonicalize_url, source_of, stable_id

__all__ = ["ExtractArticles", "extract_article", "make_extractor"]

LOGGER = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"[ \t\u00a0]+")


def make_extractor(config: ExtractConfig) -> Extractor:
    """The one trafilatura options object, built once per DoFn."""
    return Extractor(
        output_format="python", comments=False, tables=config.include_tables, precision=config.favor_precision,
        with_metadata=True, dedup=False,
    )


def _canonical_url(tree: lxml.html.HtmlElement, page_url: str) -> str:
    """The page's rel=canonical when it stays on the same host; otherwise the fetched URL."""
    for href in tree.xpath('//link[@rel="canonical"]/@href')[:1]:
        candidate = canonicalize_url(lxml.html.urljoin(page_url, href))
        if source_of(candidate) == source_of(page_url):
            return candidate
    return canonicalize_url(page_url)


def _published_at(document: Any, page: RawPage) -> datetime | None:
    if page.entry.published_at is not None:
        return page.entry.published_at
    if document.date:
        try:
            return datetime.combine(datetime.fromisoformat(document.date).date(), time(), tzinfo=timezone.utc)
        except ValueError:
            return None
    return None


def _clean_text(text: str) -> str:
    lines = (_WHITESPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _authors(document: Any, page: RawPage) -> tuple[str, ...]:
    if document.author:
        return tuple(dict.fromkeys(a.strip() for a in document.author.split(";") if a.strip()))
    return page.entry.authors


def extract_article(page: RawPage, config: ExtractConfig, extractor: Extractor | None = None) -> Article | Rejection:
    """Extract the article of one fetched page.

    Returns:
        The ``Article`` row, or a ``Rejection`` with a reason code (``unparsable``, ``no_body``,
        ``too_short``) when the page holds no usable article.
    """
    try:
        tree = lxml.html.document_fromstring(page.html)
    except (ValueError, lxml.etree.ParserError) as exc:
        return Rejection(page.final_url, "unparsable", f"HTML could not be parsed: {exc}")
    canonical = _canonical_url(tree, page.final_url)  # before trafilatura, which prunes the tree
    options = extractor or make_extractor(config)
    options.url = page.final_url  # bare_extraction reads the URL from the options object when given one
    document = trafilatura.bare_extraction(tree, options=options)
    if document is None or not (document.text or "").strip():
        return Rejection(page.final_url, "no_body", "no article body found in the page")
    text = _clean_text(document.text)
    word_count = len(text.split())
    if word_count < config.min_words:
        return Rejection(page.final_url, "too_short", f"{word_count} words, fewer than {config.min_words}")
    published_at = _published_at(document, page)
    return Article(
        article_id=stable_id(canonical), url=page.entry.url, canonical_url=canonical, feed_url=page.entry.feed_url,
        title=document.title or page.entry.title, authors=_authors(document, page), published_at=published_at,
        fetched_at=page.fetched_at, language=document.language, text=text, word_count=word_count,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), schema_version=SCHEMA_VERSION,
        date=utc_date(published_at or page.fetched_at), source=source_of(canonical),
    )


class _ExtractArticleFn(beam.DoFn):
    def __init__(self, config: ExtractConfig) -> None:
        self._config = config
        self._extractor: Extractor | None = None
        self._articles = beam.metrics.Metrics.counter("extract", "articles")
        self._rejected = beam.metrics.Metrics.counter("extract", "rejected")

    def setup(self) -> None:
        self._extractor = make_extractor(self._config)

    def process(self, page: RawPage) -> Iterator[Any]:
        result = extract_article(page, self._config, self._extractor)
        if isinstance(result, Rejection):
            self._rejected.inc()
            yield beam.pvalue.TaggedOutput(
                FAILURES, failure_from_rejection(result, stage="extract", feed_url=page.entry.feed_url)
            )
            return
        self._articles.inc()
        yield result


class ExtractArticles(beam.PTransform):  # type: ignore[misc]
    """Turns fetched pages into article rows.

    Input: ``PCollection[RawPage]``. Outputs: main ``Article``, ``failures`` (rejections as
    ``rejected:<reason>``).

    Args:
        config: the extract stage's options.
    """

    def __init__(self, config: ExtractConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, pages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return pages | "ExtractArticle" >> beam.ParDo(_ExtractArticleFn(self._config)).with_outputs(
            FAILURES, main="articles"
        )
