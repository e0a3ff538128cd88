"""parse_feed on every feed format, and what it refuses."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from transforms.errors import ParseError
from transforms.feeds import parse_feed
from transforms.urls import canonicalize_url, source_of, stable_id
from tests.sitefixture import atom_feed, rss_feed

FEED = "https://news.example.org/feed"

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="https://news.example.org/"><title>RDF</title><link>https://news.example.org/</link>
  <description>d</description></channel>
 <item rdf:about="https://news.example.org/rdf-story"><title>RDF story</title>
  <link>https://news.example.org/rdf-story</link><dc:date>2025-03-04T10:00:00+02:00</dc:date>
  <dc:creator>Ina Berg</dc:creator></item>
</rdf:RDF>"""

RSS_WITH_COMMENTS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:wfw="http://wellformedweb.org/CommentAPI/">
<channel><title>t</title><link>https://news.example.org/</link><description>d</description>
<item><title>Story</title><link>/2025/03/story/</link><comments>https://news.example.org/2025/03/story/#comments</comments>
<wfw:commentRss>https://news.example.org/2025/03/story/feed/</wfw:commentRss></item></channel></rss>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol2;</title><item><title>x</title><link>https://e.org/a</link></item>
</channel></rss>"""


def test_rss2_entries_are_canonicalised_with_stable_ids() -> None:
    content = rss_feed([("https://News.Example.org:443/a?utm_source=rss&id=2#top", "A", "Tue, 04 Mar 2025 08:30:00 GMT")])
    [entry] = parse_feed(content.encode(), feed_url=FEED)
    assert entry.url == "https://News.Example.org:443/a?utm_source=rss&id=2#top"
    assert entry.canonical_url == "https://news.example.org/a?id=2"
    assert entry.article_id == stable_id("https://news.example.org/a?id=2")
    assert entry.published_at == datetime(2025, 3, 4, 8, 30, tzinfo=timezone.utc)
    assert entry.authors == ("Ana Lima",) and entry.title == "A"


def test_atom() -> None:
    [entry] = parse_feed(atom_feed([("https://e.org/x", "X", "2025-03-04T10:00:00+01:00")]).encode(), feed_url=FEED)
    assert entry.url == "https://e.org/x"
    assert entry.published_at == datetime(2025, 3, 4, 9, 0, tzinfo=timezone.utc)


def test_rss1_rdf() -> None:
    [entry] = parse_feed(RSS1, feed_url=FEED)
    assert entry.title == "RDF story" and entry.authors == ("Ina Berg",)
    assert entry.published_at == datetime(2025, 3, 4, 8, 0, tzinfo=timezone.utc)


def test_json_feed() -> None:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
        {"id": "1", "url": "https://e.org/j1", "title": "J1", "date_published": "2025-03-04T10:00:00Z",
         "authors": [{"name": "Kim"}]},
        {"id": "2", "content_text": "no url"},
    ]}
    [entry] = parse_feed(json.dumps(document).encode(), feed_url=FEED)
    assert (entry.url, entry.title, entry.authors) == ("https://e.org/j1", "J1", ("Kim",))


def test_relative_links_and_comment_hints() -> None:
    [entry] = parse_feed(RSS_WITH_COMMENTS, feed_url=FEED)
    assert entry.url == "https://news.example.org/2025/03/story/"
    assert entry.comments_feed_url == "https://news.example.org/2025/03/story/feed/"
    assert entry.comments_page_url == "https://news.example.org/2025/03/story/#comments"


@pytest.mark.parametrize("content,kind", [
    (b"<rss><channel><item><title>broken", "malformed_feed"),
    (b"<html><body><p>Just a page</p></body></html>", "not_a_feed"),
    (b'{"not": "a feed"}', "not_a_feed"),
    (b"{broken json", "malformed_feed"),
    (BILLION_LAUGHS, "unsafe_xml"),
])
def test_bad_feeds_raise_parse_errors(content: bytes, kind: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_feed(content, feed_url=FEED)
    assert raised.value.kind == kind


def test_empty_but_valid_feed_has_no_entries() -> None:
    assert parse_feed(rss_feed([]).encode(), feed_url=FEED) == []


@pytest.mark.parametrize("url,source", [
    ("https://www.Example.co.uk:8443/a", "example.co.uk"),
    ("http://127.0.0.1:8080/x", "127.0.0.1"),
    ("http://[::1]:80/x", "1"),
])
def test_source_is_path_safe(url: str, source: str) -> None:
    assert source_of(url) == source


def test_canonicalize_keeps_meaningful_query() -> None:
    assert canonicalize_url("https://e.org/story.php?id=123&utm_campaign=x&fbclid=y") == "https://e.org/story.php?id=123"
