"""Cleanup rules around trafilatura, each on a small hand-written page."""

from __future__ import annotations

from datetime import datetime, timezone

import lxml.html
import pytest

from pipeline.config import ExtractConfig
from schemas.records import Article, FeedEntry, RawPage, Rejection
from transforms.cleanup import (COMMENT_MARKUP, WIDGET_MARKUP, block_is_chrome, dedupe_lines, labelled_elements,
                                normalize_line, prune_page, widget_kind)
from transforms.extract import extract_article

PROSE = [
    "The harbour council voted on Tuesday to extend the tram line by four stops, ending a debate that has run "
    "for almost a decade and divided the districts along the water.",
    "Supporters said the extension would cut commuting times for thousands of residents, while opponents "
    "warned that the market square would be closed for two years during construction works.",
    "The first trams are expected to run on the new section in the spring of next year, the transport "
    "department said, and the cost will be shared between the city and the regional government.",
    "Traders on the square asked for compensation, and the council promised to publish a plan before the "
    "summer so that shops can prepare for the closure and the detours it will bring.",
]


def _page(body: str, *, title: str = "Council approves tram line extension", head: str = "") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PROSE)
    return (
        f"<html lang='en'><head><title>{title} | Harbour Times</title>{head}</head><body>"
        f"<header><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></header>"
        f"<article><h1>{title}</h1><div class='entry-content'>{paragraphs}{body}</div></article>"
        f"<footer><p>Harbour Times, 1 Quay Street</p></footer></body></html>"
    )


def _extract(html: str, url: str = "https://harbour.example/news/2025/03/04/tram-line-extension") -> Article:
    entry = FeedEntry(feed_url="https://harbour.example/feed", url=url, canonical_url=url, article_id="a1")
    page = RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc))
    result = extract_article(page, ExtractConfig(min_words=10))
    assert isinstance(result, Article), result
    return result


def _related_block(css: str) -> str:
    links = "".join(f"<li><a href='/news/story-{i}'>Other headline number {i} about the city</a></li>" for i in range(5))
    return f"<div class='{css}'><h3>More stories</h3><ul>{links}</ul></div>"


@pytest.mark.parametrize(
    "widget, leaked",
    [
        (_related_block("related-posts"), "Other headline number 3"),
        (_related_block("trending-now"), "Other headline number 2"),
        ("<div class='newsletter-signup'><p>Get our morning briefing in your inbox every day.</p>"
         "<form><input name='email'><button>Sign up</button></form></div>", "morning briefing"),
        ("<aside class='donation-appeal'><p>Independent journalism needs your help. Donate today and keep the "
         "Harbour Times free for everyone.</p></aside>", "keep the Harbour Times free"),
        ("<div class='share-bar'><a href='#'>Facebook</a> <a href='#'>Twitter</a> <a href='#'>Email</a></div>",
         "Facebook"),
        ("<div class='post-tags'>Tags: <a href='/tag/tram'>tram</a>, <a href='/tag/council'>council</a>, "
         "<a href='/tag/harbour'>harbour</a></div>", "Tags:"),
        ("<div class='tagcloud'><a href='/t/1'>transport</a> <a href='/t/2'>politics</a> <a href='/t/3'>budget</a>"
         "</div>", "politics"),
        ("<div class='author-bio'><p>Mara Quay is a transport reporter at the Harbour Times. She covers city "
         "hall and the port.</p></div>", "transport reporter"),
    ],
    ids=["related", "trending", "newsletter", "donation", "share-bar", "tag-list", "tag-cloud", "author-bio"],
)
def test_widgets_are_removed_and_paragraphs_kept(widget: str, leaked: str) -> None:
    article = _extract(_page(widget))
    assert leaked not in article.text
    for paragraph in PROSE:
        assert paragraph in article.text


@pytest.mark.parametrize(
    "widget",
    [
        _related_block("more-stories"),
        "<div class='inline-signup'><p>Get our briefing every morning.</p><input name='email'></div>",
        "<div class='support-us'><p>Keep local news alive: give what you can.</p></div>",
        "<div class='socialbar'><a href='#'>Facebook</a> <a href='#'>X</a></div>",
        "<div class='article-topics'><a href='/t/1'>transport</a> <a href='/t/2'>politics</a></div>",
        "<div class='author-box'><p>Mara Quay writes about transport.</p></div>",
    ],
    ids=["related", "newsletter", "donation", "share", "tags", "bio"],
)
def test_prune_page_removes_each_widget_kind_and_keeps_prose(widget: str) -> None:
    tree = lxml.html.document_fromstring(_page(widget))
    assert prune_page(tree) == 1
    text = tree.text_content()
    assert all(paragraph in text for paragraph in PROSE)
    assert lxml.html.fromstring(widget).text_content().strip()[:12] not in text


def test_prune_page_keeps_a_widget_labelled_box_full_of_prose() -> None:
    prose = "".join(f"<p>{p}</p>" for p in PROSE)
    tree = lxml.html.document_fromstring(_page("").replace("<article>", f"<article><div class='related'>{prose}</div>"))
    prune_page(tree)
    assert tree.text_content().count(PROSE[0]) == 2


def test_text_evidence_removes_chrome_lines_without_markup() -> None:
    chrome = (
        "<p>Trending: <a href='/news/x'>Mayor opens the new ferry terminal</a></p>"
        "<p>Please let us know if you're having issues with commenting.</p>"
        "<p>Read more: <a href='/news/y'>Why the tram line matters</a></p>"
        "<p>Sign up for our daily newsletter.</p>"
    )
    article = _extract(_page(chrome))
    for line in ("Trending:", "issues with commenting", "Read more:", "daily newsletter"):
        assert line not in article.text
    assert article.text.split("\n") == PROSE


def test_a_widget_word_on_the_article_body_does_not_remove_it() -> None:
    html = _page("").replace("class='entry-content'", "class='entry-content read-more-enabled share-tools'")
    assert _extract(html).text.split("\n") == PROSE


def test_comments_never_reach_the_text() -> None:
    comments = (
        "<div id='comments' class='comments-area'><h2>3 thoughts on this</h2><ol class='comment-list'>"
        "<li id='comment-1' class='comment'><p>I think the tram line is a waste of money for everyone in town.</p></li>"
        "<li id='comment-2' class='comment'><p>Finally some good news for the harbour district, well done.</p></li>"
        "</ol><div id='respond'><h3>Leave a Reply</h3><form><textarea></textarea></form></div></div>"
        "<div id='disqus_thread'><p>Comments powered by a third party widget loading here.</p></div>"
    )
    html = _page("").replace("</article>", f"</article>{comments}")
    text = _extract(html).text
    assert "waste of money" not in text and "well done" not in text and "third party widget" not in text
    assert text.split("\n") == PROSE


def test_one_copy_of_a_figure_caption() -> None:
    figure = (
        "<figure><img src='/tram.jpg' alt='A tram at the harbour stop' title='A tram at the harbour stop'>"
        "<figcaption>A tram at the harbour stop on Monday.</figcaption></figure>"
        "<p class='caption'>A tram at the harbour stop on Monday.</p>"
    )
    text = _extract(_page(figure)).text
    assert text.count("A tram at the harbour stop") <= 1


def test_title_is_not_repeated_as_first_line() -> None:
    article = _extract(_page(""))
    assert article.title == "Council approves tram line extension"
    assert not article.text.startswith("Council approves")


def test_link_list_inside_the_body_is_dropped() -> None:
    links = "".join(f"<li><a href='/n/{i}'>Teaser headline {i} for another story</a></li>" for i in range(6))
    text = _extract(_page(f"<ul>{links}</ul>")).text
    assert "Teaser headline" not in text


def test_prune_page_counts_removed_nodes() -> None:
    tree = lxml.html.document_fromstring(_page(_related_block("related") + "<div class='social-share'>Share</div>"))
    assert prune_page(tree) == 2


def test_widget_kind_reads_class_and_id_tokens() -> None:
    assert widget_kind(lxml.html.fromstring("<div class='relatedPosts'></div>")) == "related"
    assert widget_kind(lxml.html.fromstring("<div id='post-tags'></div>")) == "tags"
    assert widget_kind(lxml.html.fromstring("<article class='post tag-politics'></article>")) is None


def test_labelled_elements_match_labels_in_any_case() -> None:
    tree = lxml.html.fromstring("<html><body><div class='RelatedPosts'></div><div id='COMMENTS'></div>"
                                "<p class='Lead'>x</p></body></html>")
    assert [el.tag for el in labelled_elements(tree)] == ["div", "div"]
    assert all(words == words.lower() for words in [*WIDGET_MARKUP.values(), COMMENT_MARKUP])


@pytest.mark.parametrize(
    "text, chrome",
    [
        ("Advertisement", True),
        ("© 2025 Harbour Times. All rights reserved.", True),
        ("Jane Doe is a senior reporter covering transport for the Harbour Times.", True),
        ("The council said the donation from the port authority would cover half of the cost.", False),
        ("Residents can sign up for the consultation at the town hall until Friday.", False),
    ],
)
def test_block_is_chrome(text: str, chrome: bool) -> None:
    assert block_is_chrome(text, at_end=True) is chrome


def test_dedupe_lines_and_normalize() -> None:
    assert dedupe_lines(["A caption.", "Body", "a caption", ""]) == ["A caption.", "Body"]
    assert normalize_line("  Hello,   World! ") == "hello world"


def test_non_articles_are_rejected_with_reasons() -> None:
    teasers = "".join(f"<article><h2><a href='/news/s{i}'>Headline {i}</a></h2><p>Short teaser.</p></article>"
                      for i in range(15))
    html = f"<html><head><meta property='og:type' content='website'></head><body>{teasers}</body></html>"
    for url, reason in (("https://harbour.example/", "not_article:index"),
                        ("https://harbour.example/tag/transport/", "not_article:tag"),
                        ("https://harbour.example/politics", "not_article:index")):
        entry = FeedEntry(feed_url="f", url=url, canonical_url=url, article_id="x")
        result = extract_article(RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc)),
                                 ExtractConfig())
        assert isinstance(result, Rejection) and result.reason == reason, (url, result)


def test_gallery_is_rejected() -> None:
    images = "".join(f"<figure><img src='/p{i}.jpg'><figcaption>Photo {i}</figcaption></figure>" for i in range(8))
    html = f"<html><body><h1>Harbour festival in pictures</h1>{images}</body></html>"
    url = "https://harbour.example/gallery/harbour-festival"
    entry = FeedEntry(feed_url="f", url=url, canonical_url=url, article_id="x")
    result = extract_article(RawPage(entry, url, 200, html, datetime(2025, 3, 5, tzinfo=timezone.utc)), ExtractConfig())
    assert isinstance(result, Rejection) and result.reason == "not_article:gallery"
