"""Metadata with provenance: JSON-LD, meta tags, markup, URL, dates, language, paywall."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import lxml.html
import pytest

from transforms.metadata import detect_language, parse_date, read_page_metadata, strip_site_name, valid_date

NOW = datetime(2025, 3, 10, tzinfo=timezone.utc)


def _tree(head: str = "", body: str = "<h1>Tram line approved</h1>", lang: str = "en") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html lang='{lang}'><head>{head}</head><body>{body}</body></html>")


def _jsonld(value: object) -> str:
    return f"<script type='application/ld+json'>{json.dumps(value)}</script>"


def test_jsonld_article_wins_and_says_so() -> None:
    head = _jsonld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Harbour Times"},
        {"@type": "NewsArticle", "headline": "Council approves tram line", "author": [{"name": "Ana Lima"},
         {"@type": "Person", "name": "Ben Ode"}], "datePublished": "2025-03-04T08:30:00+01:00",
         "dateModified": "2025-03-04T10:00:00Z", "articleSection": "City", "keywords": "tram, council",
         "image": {"url": "https://harbour.example/tram.jpg"}, "isAccessibleForFree": "False"}]})
    head += "<meta property='og:title' content='Other title'><meta property='article:published_time' content='2020-01-01'>"
    meta = read_page_metadata(_tree(head), "https://harbour.example/a", now=NOW)
    assert meta.title == "Council approves tram line" and meta.sources["title"] == "json-ld"
    assert meta.authors == ("Ana Lima", "Ben Ode")
    assert meta.published_at == datetime(2025, 3, 4, 7, 30, tzinfo=timezone.utc)
    assert meta.modified_at == datetime(2025, 3, 4, 10, 0, tzinfo=timezone.utc)
    assert (meta.section, meta.tags, meta.image_url) == ("City", ("tram", "council"), "https://harbour.example/tram.jpg")
    assert meta.is_paywalled is True and meta.sources["is_paywalled"] == "json-ld"
    assert meta.site_name == "Harbour Times"


def test_meta_tags_when_there_is_no_jsonld() -> None:
    head = (
        "<meta property='og:title' content='Tram line approved | Harbour Times'>"
        "<meta property='og:site_name' content='Harbour Times'>"
        "<meta property='article:published_time' content='2025-03-04T08:30:00+0100'>"
        "<meta property='article:tag' content='tram'><meta property='article:tag' content='council'>"
        "<meta property='og:image' content='https://harbour.example/t.jpg'><meta name='author' content='Ana Lima'>"
        "<meta property='article:section' content='City'><meta name='description' content='The vote.'>"
    )
    meta = read_page_metadata(_tree(head), "https://harbour.example/a", now=NOW)
    assert meta.title == "Tram line approved" and meta.sources["title"] == "og:title"
    assert meta.published_at == datetime(2025, 3, 4, 7, 30, tzinfo=timezone.utc)
    assert meta.sources["published_at"] == "article:published_time"
    assert meta.tags == ("tram", "council") and meta.sources["tags"] == "article:tag"
    assert meta.authors == ("Ana Lima",) and meta.sources["authors"] == "meta:author"
    assert meta.description == "The vote." and meta.section == "City"


def test_time_element_then_url_then_htmldate() -> None:
    body = "<h1>T</h1><time datetime='2025-03-02T09:00:00Z'>2 March</time>"
    meta = read_page_metadata(_tree(body=body), "https://h.example/2024/01/05/x", now=NOW)
    assert meta.sources["published_at"] == "time"
    meta = read_page_metadata(_tree(), "https://h.example/2024/01/05/x", now=NOW)
    assert meta.published_at == datetime(2024, 1, 5, tzinfo=timezone.utc) and meta.sources["published_at"] == "url"
    meta = read_page_metadata(_tree(body="<h1>T</h1><p>Published on 2023-06-07 by the desk.</p>"), "https://h.example/x",
                              now=NOW)
    assert meta.published_at is not None and meta.published_at.date().isoformat() == "2023-06-07"
    assert meta.sources["published_at"] == "htmldate"


def test_future_and_ancient_dates_are_rejected() -> None:
    head = "<meta property='article:published_time' content='2031-01-01T00:00:00Z'>"
    body = "<h1>T</h1><time datetime='1985-05-01'>old</time>"
    meta = read_page_metadata(_tree(head, body), "https://h.example/x", now=NOW, use_htmldate=False)
    assert meta.published_at is None
    assert valid_date(datetime(2025, 3, 10, 12, tzinfo=timezone.utc), NOW) is not None  # within a day ahead
    assert valid_date(datetime(2025, 3, 12, tzinfo=timezone.utc), NOW) is None
    assert parse_date("1989-12-31", NOW) is None and parse_date("not a date", NOW) is None


def test_naive_dates_are_taken_as_utc() -> None:
    assert parse_date("2025-03-04T08:30:00", NOW) == datetime(2025, 3, 4, 8, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "title, site, guess, expected",
    [
        ("Tram line approved | Harbour Times", "Harbour Times", False, "Tram line approved"),
        ("Harbour Times - Tram line approved", "Harbour Times", False, "Tram line approved"),
        ("Brexit - what happens next", None, False, "Brexit - what happens next"),
        ("Tram line approved – Harbour Times", None, True, "Tram line approved"),
    ],
)
def test_strip_site_name(title: str, site: str | None, guess: bool, expected: str) -> None:
    assert strip_site_name(title, site, guess=guess) == expected


def test_h1_before_title_tag() -> None:
    meta = read_page_metadata(_tree("<title>Page | Site</title>"), "https://h.example/x", now=NOW)
    assert meta.title == "Tram line approved" and meta.sources["title"] == "h1"


def test_paywall_markers() -> None:
    head = "<meta property='article:content_tier' content='locked'>"
    assert read_page_metadata(_tree(head), "u", now=NOW).is_paywalled is True
    meta = read_page_metadata(_tree(body="<h1>T</h1><div class='paywall'>Subscribe</div>"), "u", now=NOW)
    assert meta.is_paywalled is True and meta.sources["is_paywalled"] == "paywall-markup"
    free = _jsonld({"@type": "Article", "headline": "T", "isAccessibleForFree": True})
    assert read_page_metadata(_tree(free), "u", now=NOW).is_paywalled is False
    assert read_page_metadata(_tree(), "u", now=NOW).is_paywalled is None


def test_language_is_detected_not_only_declared() -> None:
    german = "Der Stadtrat hat am Dienstag die Verlängerung der Straßenbahnlinie beschlossen, die Bauarbeiten beginnen."
    assert detect_language(german, "en") == ("de", "detected")
    assert detect_language("Kurz", "de") == ("de", "html-lang")
    meta = read_page_metadata(_tree(lang="pt-BR"), "u", now=NOW)
    assert meta.declared_language == "pt"
