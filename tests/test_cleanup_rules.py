"""Later cleanup rules: the lead beside the body, CJK chrome, comment sections, non-article pages."""

from __future__ import annotations

from datetime import datetime, timezone

import lxml.html
import pytest

from pipeline.config import ExtractConfig
from schemas.records import Article, FeedEntry, RawPage, Rejection
from transforms.cleanup import block_is_chrome, find_lead
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
