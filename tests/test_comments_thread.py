"""Comment ids, cross-origin dedup, depth; comment feeds, wp-json and Disqus parsers; embed detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dateparser
import lxml.html
import pytest

from transforms.comments.detect import (_MARKER_SPAN, EMBED_MARKERS, detect_embeds, disqus_hook, page_comment_feeds,
                                       wordpress_hook)
from transforms.comments.disqus import parse_disqus_page
from transforms.comments.feeds import parse_comment_feed
from transforms.comments.text import _DATE_SETTINGS, _parse_complete_date, fragment_text, parse_time, strip_chrome
from transforms.comments.thread import RawComment, build_comments, merge_comments
from transforms.comments.wpjson import parse_wp_comments
from transforms.errors import ParseError

FETCHED = datetime(2024, 5, 1, tzinfo=UTC)


def _build(raws: list[RawComment]):  # type: ignore[no-untyped-def]
    return build_comments(raws, article_id="a", article_url="https://x.test/p", fetched_at=FETCHED)


def test_wordpress_id_agrees_across_html_feed_and_wp_json() -> None:
    html = parse_wp_comments(json.dumps([{"id": 12, "parent": 0, "author_name": "Al", "content": {"rendered": "Hi"}}]).encode())
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item><title>By: Al</title>'
           b"<link>https://x.test/p/#comment-12</link><description>Hi</description></item></channel></rss>")
    feed, _ = parse_comment_feed(rss, "https://x.test/p/feed/")
    inline = [RawComment(origin="html", ref="site:12", native=True, text="Hi", author="Al")]
    ids = {_build(batch)[0].comment_id for batch in (html, feed, inline)}
    assert len(ids) == 1


def test_merge_prefers_the_richer_record_and_fixes_parents() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    feed = _build([RawComment(origin="feed", ref="site:1", native=True, text="Top"),
                   RawComment(origin="feed", ref="site:2", native=True, text="Child", parent_ref="site:1")])
    html = _build([RawComment(origin="html", ref="site:1", native=True, text="Top", author="A", published_at=when)])
    top, child = merge_comments([feed, html])
    assert (top.origin, top.author, top.published_at) == ("html", "A", when)
    assert (child.parent_id, child.depth) == (top.comment_id, 1)


def test_comments_without_site_ids_dedup_by_author_and_text() -> None:
    jsonld = _build([RawComment(origin="jsonld", ref="jsonld:0", text="Same words here.", author="Bo")])
    html = _build([RawComment(origin="html", ref="html:3", text="Same  words here", author="bo",
                              author_url="https://bo.test")])
    [merged] = merge_comments([jsonld, html])
    assert merged.author_url == "https://bo.test"


def test_parent_on_an_earlier_page_keeps_its_id_and_cycles_terminate() -> None:
    rows = _build([RawComment(origin="wp-json", ref="site:9", native=True, text="Late reply", parent_ref="site:3")])
    parent = _build([RawComment(origin="wp-json", ref="site:3", native=True, text="Early")])[0]
    assert rows[0].parent_id == parent.comment_id
    loop = _build([RawComment(origin="disqus", ref="disqus:1", native=True, text="a", parent_ref="disqus:2"),
                   RawComment(origin="disqus", ref="disqus:2", native=True, text="b", parent_ref="disqus:1")])
    assert [c.depth for c in merge_comments([loop])] == [1, 1]


def test_max_comments_bounds_the_thread() -> None:
    rows = _build([RawComment(origin="html", ref=f"site:{i}", native=True, text=f"c{i}") for i in range(10)])
    assert len(merge_comments([rows], max_comments=4)) == 4


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-04-28T10:17:42+02:00", datetime(2024, 4, 28, 8, 17, 42, tzinfo=UTC)),
    ("2024-04-28 10:17:42", datetime(2024, 4, 28, 10, 17, 42, tzinfo=UTC)),
    ("1559192764955", datetime(2019, 5, 30, 5, 6, 4, 955000, tzinfo=UTC)),
    ("Mon, 01 Jan 2024 10:00:00 +0100", datetime(2024, 1, 1, 9, 0, tzinfo=UTC)),
    ("28. April 2024 um 10:17 Uhr", datetime(2024, 4, 28, 10, 17, tzinfo=UTC)),
    ("vor 3 Tagen", datetime(2024, 4, 28, tzinfo=UTC)),
    ("no date here", None),
    # a timestamp followed by other words, and a counter that only looks like a date
    ("2022-05-05 14:04:11Z, License: CC BY-SA 4.0", datetime(2022, 5, 5, 14, 4, 11, tzinfo=UTC)),
    ("47 von 9102", None),
])
def test_parse_time(value: str, expected: datetime | None) -> None:
    assert parse_time(value, base=FETCHED) == expected


@pytest.mark.parametrize("value", [
    "12. Juli 2018 18:14", "26 abril 2022 17:03", "October 27, 2015 1:34 pm", "15/04/2020 9:14 pm",
    "05.11.23 - 17:42", "8. April 2019 @ 12:48", "2016/08/10 16:36", "März 7, 2018", "3 décembre 2019 13:45",
])
def test_complete_dates_skip_dateparser_and_agree_with_it(value: str) -> None:
    settings = {**_DATE_SETTINGS, "RELATIVE_BASE": FETCHED.replace(tzinfo=None)}
    fast = _parse_complete_date(value)
    assert fast is not None
    assert fast.replace(tzinfo=UTC) == dateparser.parse(value, settings=settings)


@pytest.mark.parametrize(("value", "expected"), [
    ("12. Juli 2018 18:14 CET", datetime(2018, 7, 12, 17, 14, tzinfo=UTC)),  # a named zone
    ("Montag, 12. Juli 2018 18:14", datetime(2018, 7, 12, 18, 14, tzinfo=UTC)),  # a word dateutil lacks
    ("April 20 10:00", datetime(2024, 4, 20, 10, 0, tzinfo=UTC)),  # no year: the latest April 20
])
def test_dates_the_fast_path_cannot_read_fully_go_to_dateparser(value: str, expected: datetime) -> None:
    assert _parse_complete_date(value) is None
    assert parse_time(value, base=FETCHED) == expected


def test_text_cleaning_keeps_paragraphs_and_drops_chrome() -> None:
    assert fragment_text("<p>One<br>line two</p><p>Para 2</p><p>Reply</p>") == "One\nline two\n\nPara 2\n\nReply"
    assert strip_chrome("Ann says:\n\nHello\n\nReply") == "Hello"
    assert fragment_text("<script>x()</script><p>ok &amp; fine</p>") == "ok & fine"


def test_comment_feed_rejects_entities_and_non_feeds() -> None:
    with pytest.raises(ParseError):
        parse_comment_feed(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><rss/>', "https://x.test/f")
    with pytest.raises(ParseError):
        parse_comment_feed(b"plain text", "https://x.test/f")


def test_wp_json_and_disqus_reject_bad_answers() -> None:
    with pytest.raises(ParseError):
        parse_wp_comments(b'{"code": "rest_forbidden"}')
    with pytest.raises(ParseError):
        parse_disqus_page(b'{"code": 2, "response": "Invalid argument"}')


def test_detect_embeds_in_priority_order() -> None:
    page = '<div id="disqus_thread"></div><div class="fb-comments"></div><script src="https://giscus.app/client.js">'
    assert detect_embeds(page) == ("disqus", "facebook", "giscus")
    assert detect_embeds("<p>We discuss the comments of readers.</p>") == ()


def test_detect_embeds_reads_markers_whole_wherever_the_needle_repeats() -> None:
    chrome = '<nav class="vf-menu"><a class="vf-link">Ünïcödé</a></nav>' * 500  # needle "vf-", no marker
    assert detect_embeds(chrome) == ()
    assert detect_embeds(chrome + '<div class="VF-Comments"></div>' + chrome) == ("viafoura",)
    assert detect_embeds(chrome + '<div class="myviafoura-box"></div>') == ()  # \bviafoura\b, not a part
    assert detect_embeds("x" * 100 + " viafoura") == ("viafoura",)


def _top_level_alternatives(pattern: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(pattern):
        if ch in "([" and (i == 0 or pattern[i - 1] != "\\"):
            depth += 1
        elif ch in ")]" and pattern[i - 1] != "\\":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return [*parts, pattern[start:]]


def test_every_embed_marker_alternative_holds_a_needle_within_the_search_window() -> None:
    # detect_embeds runs each regex only around its needles, in windows of _MARKER_SPAN characters.
    for name, needles, pattern in EMBED_MARKERS:
        for alternative in _top_level_alternatives(pattern.pattern):
            assert any(needle in alternative.replace("\\", "") for needle in needles), (name, alternative)
            assert len(alternative) < _MARKER_SPAN, (name, alternative)


def test_hooks_from_page_markup() -> None:
    html = ('<html><head><link rel="https://api.w.org/" href="/wp-json/">'
            '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/314">'
            '<link rel="alternate" type="application/rss+xml" title="Site » Kommentar-Feed" href="/comments/feed/">'
            '<link rel="alternate" type="application/rss+xml" title="Site » Beitrag Kommentar-Feed" href="/2024/p/feed/">'
            "</head><body><script>var disqus_shortname = 'f1'; var disqus_identifier = '314 https://s.test/?p=314';"
            "</script></body></html>")
    root = lxml.html.document_fromstring(html)
    hook = wordpress_hook(root, "https://s.test/2024/p/")
    assert hook is not None and (hook.api_root, hook.post_id) == ("https://s.test/wp-json/", 314)
    assert page_comment_feeds(root, "https://s.test/2024/p/") == ["https://s.test/2024/p/feed/"]
    dq = disqus_hook(html, "https://s.test/2024/p/")
    assert (dq.shortname, dq.identifier) == ("f1", "314 https://s.test/?p=314")
