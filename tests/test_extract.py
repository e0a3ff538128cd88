"""extract_article end to end on small pages, and the ExtractArticles transform's two outputs."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import ExtractConfig
from schemas.records import Article, FeedEntry, RawPage, Rejection
from transforms.extract import ExtractArticles, extract_article

URL = "https://harbour.example/news/tram-line-extension"
PARAGRAPHS = [
    "The harbour council voted on Tuesday to extend the tram line by four stops, ending a long debate.",
    "Supporters said the extension would cut commuting times for thousands of residents every day.",
    "The first trams are expected to run on the new section in the spring of next year, officials said.",
]


def _html(paragraphs: list[str] = PARAGRAPHS, head: str = "") -> str:
    ld = json.dumps({"@type": "NewsArticle", "headline": "Council approves tram line", "author": {"name": "Ana Lima"},
                     "datePublished": "2025-03-04T08:30:00Z", "keywords": ["tram", "council"]})
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html lang='en'><head><link rel='canonical' href='{URL}?utm_source=x'>"
            f"<script type='application/ld+json'>{ld}</script>{head}</head>"
            f"<body><article><h1>Council approves tram line</h1>{body}</article></body></html>")


def _page(html: str, url: str = URL) -> RawPage:
    entry = FeedEntry(feed_url="https://harbour.example/feed", url=url, canonical_url=url, article_id="a")
    return RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc))


def test_article_fields_and_provenance() -> None:
    article = extract_article(_page(_html()), ExtractConfig(min_words=10))
    assert isinstance(article, Article)
    assert article.text.split("\n") == PARAGRAPHS
    assert article.title == "Council approves tram line" and article.authors == ("Ana Lima",)
    assert article.published_at == datetime(2025, 3, 4, 8, 30, tzinfo=timezone.utc) and article.date == "2025-03-04"
    assert article.tags == ("tram", "council") and article.language == "en"
    sources = dict(article.metadata_sources)
    assert sources["published_at"] == "json-ld" and sources["title"] == "json-ld"
    assert sources["language"] == "detected" and sources["canonical_url"] == "link-canonical"
    assert article.word_count == len(article.text.split())


def test_feed_fills_what_the_page_lacks() -> None:
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article></body></html>"
    page = _page(html)
    entry = FeedEntry(feed_url="f", url=URL, canonical_url=URL, article_id="a", title="Feed title",
                      authors=("Feed Author",), published_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
    article = extract_article(RawPage(entry, URL, 200, page.html, page.fetched_at), ExtractConfig(min_words=10))
    assert isinstance(article, Article)
    assert (article.title, article.authors) == ("Feed title", ("Feed Author",))
    assert dict(article.metadata_sources)["published_at"] == "feed"


def test_rejections_carry_reasons() -> None:
    short = extract_article(_page(_html(PARAGRAPHS[:1])), ExtractConfig(min_words=50))
    assert isinstance(short, Rejection) and short.reason == "too_short"
    empty = extract_article(_page("<html><body><div><img src='/x.png'></div></body></html>"), ExtractConfig())
    assert isinstance(empty, Rejection) and empty.reason == "no_body"


def test_xml_declaration_in_a_str_page_is_parsed() -> None:
    html = "<?xml version='1.0' encoding='utf-8'?>" + _html()
    assert isinstance(extract_article(_page(html), ExtractConfig(min_words=10)), Article)


def test_transform_routes_articles_and_rejections() -> None:
    pages = [_page(_html()), _page("<html><body><p>Hi</p></body></html>", url="https://harbour.example/news/x")]
    with TestPipeline() as p:
        result = p | beam.Create(pages) | ExtractArticles(ExtractConfig(min_words=10))
        assert_that(result.articles | beam.Map(lambda a: a.canonical_url), equal_to([URL]), label="Articles")
        assert_that(result.failures | beam.Map(lambda f: (f.url, f.error_kind)),
                    equal_to([("https://harbour.example/news/x", "rejected:too_short")]), label="Failures")


def test_fast_extraction_skips_the_backup_extractors_and_still_extracts() -> None:
    from pipeline.cli import _parser
    from pipeline.options import to_config
    from transforms.extract import make_extractor

    args = _parser().parse_args(["run", "--feed", URL, "--out", "/tmp/unused", "--fast-extraction"])
    config = to_config(args).extract
    assert config.backup_extractors is False and make_extractor(config).fast is True
    assert make_extractor(ExtractConfig()).fast is False
    article = extract_article(_page(_html()), ExtractConfig(min_words=10, backup_extractors=False))
    assert isinstance(article, Article) and article.text.split("\n") == PARAGRAPHS
