"""Later cleanup rules: the lead beside the body, CJK chrome, comment sections, non-article pages."""

from __future__ import annotations

from datetime import datetime, timezone

import lxml.html
import pytest

from pipeline.config import ExtractConfig
from schemas.records import Article, FeedEntry, RawPage, Rejection
from transforms.cleanup import block_is_chrome
from transforms.lead import find_lead
from transforms.extract import extract_article

LEAD = ("Rescuers found a fifth victim four days after the landslide buried several houses in the village, "
        "and five people, two of them children, are still missing.")
BODY = "".join(
    f"<p>Paragraph {i} of the report tells how the ground gave way overnight and the rescue teams worked "
    f"through the rain with dogs, drones and helicopters while the evacuated residents waited.</p>"
    for i in range(4)
)


def _lead_page(lead_block: str) -> str:
    return (f"<html><head><meta property='og:description' content='{LEAD}'></head><body>"
            f"<h1>Landslide: fifth victim found</h1>{lead_block}</body></html>")


def test_lead_beside_the_body_is_found_by_the_description() -> None:
    tree = lxml.html.fromstring(_lead_page(f"<div class='lead'>{LEAD}</div><div class='text'>{BODY}</div>"))
    assert find_lead(tree, LEAD) == LEAD


@pytest.mark.parametrize("lead_block", [
    f"<header><p class='dek'>{LEAD}</p><div class='byline'>By A. Writer</div></header><div>{BODY}</div>",
    f"<ul><li><a href='/x'>{LEAD}</a></li></ul><div>{BODY}</div>",
    f"<div class='lead'>{LEAD} And more words that the description does not hold.</div><div>{BODY}</div>",
], ids=["standfirst-before-byline", "teaser-link", "not-the-description"])
def test_a_subtitle_or_a_teaser_is_not_a_lead(lead_block: str) -> None:
    assert find_lead(lxml.html.fromstring(_lead_page(lead_block)), LEAD) is None


def test_lead_is_put_back_on_top_of_the_text() -> None:
    html = _lead_page(f"<div class='lead'>{LEAD}</div><div class='article-body'>{BODY}</div>")
    url = "https://valley.example/news/landslide-fifth-victim.a123/"
    entry = FeedEntry(feed_url="f", url=url, canonical_url=url, article_id="x")
    result = extract_article(RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc)),
                             ExtractConfig(min_words=10))
    assert isinstance(result, Article)
    assert result.text.split("\n")[0] == LEAD and result.text.count("fifth victim four days") == 1


@pytest.mark.parametrize("text, chrome", [
    ("有料会員の方のみご利用になれます。保存した記事はスマホやタブレットでもご覧いただけます。", True),
    ("【责任编辑:张三】", True),
    ("Loading weather data ...", True),
    ("More Must-Reads From the Harbour Times", True),
    ("Write to Jane Doe at jane.doe@harbour.example", True),
    ("６月12日の歴史的な米朝首脳会談を巡って戦っていたのは、米大統領と北朝鮮委員長ばかりではなかった。", False),
    ("More than a hundred residents from the old town came to the meeting on Monday.", False),
])
def test_more_chrome_wording(text: str, chrome: bool) -> None:
    assert block_is_chrome(text) is chrome


PROSE = "".join(
    f"<p>Paragraph {i}: the district council met on Monday to discuss the new cycle lanes along the river, "
    f"which residents have asked for since the bridge reopened last spring.</p>" for i in range(4)
)


def _page_with(extra: str, *, article_class: str = "post") -> str:
    return (f"<html><head><title>Cycle lanes along the river</title></head><body><div id='content'>"
            f"<article class='{article_class}'><h1>Cycle lanes along the river</h1>{PROSE}</article>{extra}"
            f"</div></body></html>")


def _text_of(html: str, url: str = "https://river.example/news/2025/03/04/cycle-lanes") -> str:
    entry = FeedEntry(feed_url="f", url=url, canonical_url=url, article_id="x")
    result = extract_article(RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc)),
                             ExtractConfig(min_words=10))
    assert isinstance(result, Article), result
    return result.text


@pytest.mark.parametrize("thread", [
    "<div class='kommentare'><h3>Kommentare</h3>{items}</div>",
    "<section class='comentarios'>{items}</section>",
    "<div id='reader-comments'>{items}</div>",
], ids=["german", "spanish", "reader-comments"])
def test_comment_threads_named_in_other_languages_are_removed(thread: str) -> None:
    items = "".join(
        f"<div class='kommentar-item'><div class='benutzer'>Leser {i}</div><div class='datum'>04.03.2025</div>"
        f"<div class='kommentar-text'>Reader remark number {i}: finally the lanes arrive, it took far too long "
        f"and the crossing at the bridge is still dangerous for children.</div></div>" for i in range(3)
    )
    text = _text_of(_page_with(thread.format(items=items)))
    assert "Paragraph 3" in text and "Reader remark" not in text


def test_a_comment_state_flag_or_commentary_label_keeps_the_article() -> None:
    assert "Paragraph 2" in _text_of(_page_with("", article_class="post has-comments comments-open"))
    assert "Paragraph 2" in _text_of(_page_with("", article_class="commentary-article"))


def _result(html: str, url: str) -> Article | Rejection:
    entry = FeedEntry(feed_url="f", url=url, canonical_url=url, article_id="x")
    return extract_article(RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc)),
                           ExtractConfig(min_words=10))


@pytest.mark.parametrize("path", ["/about.html", "/about-us/", "/contact", "/privacy-policy", "/impressum.php",
                                  "/terms-of-service", "/de/datenschutz"])
def test_pages_about_the_site_are_rejected(path: str) -> None:
    html = ("<html><head><title>About us | River News</title><meta property='og:type' content='website'></head>"
            f"<body><h1>About us</h1>{PROSE}</body></html>")
    result = _result(html, f"https://river.example{path}")
    assert isinstance(result, Rejection) and result.reason == "not_article:site_page", result


def test_site_page_types_are_rejected_and_news_about_privacy_is_kept() -> None:
    typed = ("<html><head><script type='application/ld+json'>{\"@type\": \"ContactPage\"}</script></head>"
             f"<body><h1>Write to us</h1>{PROSE}</body></html>")
    assert _result(typed, "https://river.example/write-to-us").reason == "not_article:site_page"
    dated = ("<html><head><meta property='article:published_time' content='2025-03-04T08:00:00Z'></head>"
             f"<body><h1>Privacy</h1>{PROSE}</body></html>")
    assert isinstance(_result(dated, "https://river.example/privacy"), Article)
    news = f"<html><body><h1>Privacy fears over the new cameras</h1>{PROSE}</body></html>"
    assert isinstance(_result(news, "https://river.example/news/privacy-fears-over-cameras"), Article)
    assert isinstance(_result(news, "https://river.example/2025/03/04/privacy"), Article)
