"""The embedded demo site and its loopback server (``pipeline.demo``).

Every test talks to a real ``ThreadingHTTPServer`` on 127.0.0.1 through urllib/http.client.
"""

from __future__ import annotations

import calendar
import html
import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest

from pipeline.demo import sitegen
from pipeline.demo.server import DEFAULT_SITE_DIR, DemoServer, start_demo_server

EXPECTED: dict[str, Any] = json.loads((DEFAULT_SITE_DIR / "expected.json").read_text("utf-8"))
ARTICLES: dict[str, dict[str, Any]] = EXPECTED["articles"]


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with start_demo_server() as running:
        yield running


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers.items()), err.read()


class _Text(HTMLParser):
    """Visible text of a page (script/style dropped), whitespace-normalised."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def jsonld(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match, "no JSON-LD"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_committed_site_matches_a_fresh_render() -> None:
    rendered = sitegen.render_site()
    on_disk = {p.relative_to(DEFAULT_SITE_DIR).as_posix() for p in DEFAULT_SITE_DIR.rglob("*") if p.is_file()}
    assert on_disk == set(rendered)
    stale = [rel for rel, text in rendered.items() if (DEFAULT_SITE_DIR / rel).read_text("utf-8") != text]
    assert stale == [], "run python -m pipeline.demo.sitegen"


def test_ground_truth_covers_the_required_scenarios() -> None:
    assert len(ARTICLES) == 14
    systems = [a["comments"]["system"] for a in ARTICLES.values()]
    assert systems.count("wp") == 9
    assert {s: systems.count(s) for s in ("generic", "jsonld", "disqus", "facebook", "none")} == dict.fromkeys(
        ("generic", "jsonld", "disqus", "facebook", "none"), 1)
    assert max(a["comments"]["max_depth"] for a in ARTICLES.values()) >= 3
    group = [a for a in ARTICLES.values() if a["story_group"]]
    assert len(group) == 3
    days = sorted(datetime.fromisoformat(a["published"]) for a in group)
    assert (days[-1] - days[0]).days <= 3
    synd = [(slug, a["syndicated_of"]) for slug, a in ARTICLES.items() if a["syndicated_of"]]
    assert len(synd) == 1 and synd[0][1] in ARTICLES
    assert sum(a["topic"] in {"economy", "science", "sport", "culture"} for a in ARTICLES.values()) >= 3
    assert sum("utm_source=rss" in a["feed_link"] for a in ARTICLES.values()) >= 3


def test_feed_lists_every_article_with_comment_hints(server: DemoServer) -> None:
    status, headers, body = fetch(server.feed_url)
    assert status == 200 and headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(body)
    assert not parsed.bozo and len(parsed.entries) == 14
    by_path = {urlsplit(e.link).path: e for e in parsed.entries}
    assert set(by_path) == {a["path"] for a in ARTICLES.values()}
    for article in ARTICLES.values():
        entry = by_path[article["path"]]
        assert entry.link == article["feed_link"].replace("{{BASE_URL}}", server.base_url)
        assert entry.title == article["title"]
        assert entry.author == ", ".join(article["authors"])
        published = datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC)
        assert published.strftime("%Y-%m-%dT%H:%M:%SZ") == article["published"]
        feed = article["comments"].get("comment_feed")
        assert entry.get("wfw_commentrss") == (server.base_url + feed["path"] if feed else None)
        if article["comments"]["system"] in {"wp", "generic", "jsonld", "disqus"}:
            assert entry.comments.endswith(article["path"] + "#comments")


def test_atom_feed_mirrors_the_rss_feed(server: DemoServer) -> None:
    status, headers, body = fetch(server.base_url + "/atom.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo and len(parsed.entries) == 14
    replies = [link for e in parsed.entries for link in e.links if link.rel == "replies"]
    assert sum(link.type == "application/rss+xml" for link in replies) == 3


@pytest.mark.parametrize("slug", sorted(ARTICLES))
def test_article_page_is_served_and_cacheable(server: DemoServer, slug: str) -> None:
    article = ARTICLES[slug]
    status, headers, body = fetch(server.base_url + article["path"] + "?utm_source=rss&utm_medium=feed")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    assert "{{BASE_URL}}" not in page and '<html lang="en">' in page
    assert f'<link rel="canonical" href="{server.base_url}{article["path"]}">' in page
    assert fetch(server.base_url + article["path"], {"If-None-Match": headers["ETag"]})[0] == 304
    assert fetch(server.base_url + article["path"], {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert fetch(server.base_url + article["path"], {"If-None-Match": '"other"'})[0] == 200


@pytest.mark.parametrize("slug", sorted(ARTICLES))
def test_ground_truth_agrees_with_the_page(slug: str) -> None:
    article = ARTICLES[slug]
    page = (DEFAULT_SITE_DIR / article["path"].lstrip("/")).read_text("utf-8")
    text = visible_text(page)
    for sentence in article["must_include"]:
        assert sentence in text
    for snippet in article["must_exclude"]:
        # Outside the visible text: alt attributes and the JSON-LD comment thread.
        assert snippet in text or snippet in html.unescape(page) or json.dumps(snippet)[1:-1] in page, snippet
    for actor in article["actors"]:
        assert actor in text
    data = jsonld(page)
    assert data["@type"] == "NewsArticle" and data["headline"] == article["title"]
    assert [a["name"] for a in data["author"]] == article["authors"]
    published = datetime.fromisoformat(data["datePublished"])
    assert published.utcoffset() is not None
    assert published == datetime.fromisoformat(article["published"])
    assert {"publisher", "image", "isAccessibleForFree", "articleSection", "keywords"} <= set(data)
    assert "Please let us know if you're having issues with commenting." in text or (
        article["comments"]["system"] == "none")


@pytest.mark.parametrize("slug", sorted(ARTICLES))
def test_comment_markup_matches_ground_truth(slug: str) -> None:
    article = ARTICLES[slug]
    comments = article["comments"]
    page = (DEFAULT_SITE_DIR / article["path"].lstrip("/")).read_text("utf-8")
    html_ids = re.findall(r'<li id="comment-(\d+)" class="comment', page)
    html_ids += re.findall(r'<div class="comment" id="c-(\d+)">', page)
    expected_html = [c["id"] for c in comments["items"] if "html" in c["origins"]]
    assert sorted(html_ids) == sorted(expected_html)
    ld_comments = jsonld(page).get("comment", [])
    assert len(ld_comments) == comments["by_origin"].get("jsonld", 0)
    assert all(c["@type"] == "Comment" and c["dateCreated"] for c in ld_comments)
    assert ("disqus_config" in page) == (comments["system"] == "disqus")
    assert ('class="fb-comments"' in page) == (comments["system"] == "facebook")


def test_comment_feeds_hold_the_expected_comments(server: DemoServer) -> None:
    with_feeds = {s: a for s, a in ARTICLES.items() if "comment_feed" in a["comments"]}
    assert len(with_feeds) == 3
    for article in with_feeds.values():
        comments = article["comments"]
        url = server.base_url + comments["comment_feed"]["path"]
        ids: list[str] = []
        for page in range(1, comments["comment_feed"]["pages"] + 1):
            status, headers, body = fetch(url + ("" if page == 1 else f"?paged={page}"))
            assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
            parsed = feedparser.parse(body)
            assert not parsed.bozo
            assert all(e.get("author") for e in parsed.entries)
            ids += [e.id.rsplit("#comment-", 1)[1] for e in parsed.entries]
            has_next = any(link.get("rel") == "next" for link in parsed.feed.get("links", []))
            assert has_next == (page < comments["comment_feed"]["pages"])
        assert sorted(ids) == sorted(c["id"] for c in comments["items"] if "rss" in c["origins"])
    paged = next(a for a in with_feeds.values() if a["comments"]["comment_feed"]["pages"] == 2)
    assert fetch(server.base_url + paged["comments"]["comment_feed"]["path"] + "?paged=3")[0] == 404


def test_wp_rest_comments_paginate_like_wordpress(server: DemoServer) -> None:
    slug, article = next((s, a) for s, a in ARTICLES.items() if a["embed"] == "wp_rest")
    page = fetch(server.base_url + article["path"])[2].decode()
    assert f'<link rel="https://api.w.org/" href="{server.base_url}/wp-json/">' in page
    assert "postid-101" in page
    url = server.base_url + "/wp-json/wp/v2/comments?post=101"
    status, headers, body = fetch(url)
    first = json.loads(body)
    assert status == 200 and headers["X-WP-Total"] == "14" and headers["X-WP-TotalPages"] == "2"
    next_url = re.fullmatch(r'<([^>]+)>; rel="next"', headers["Link"])
    assert next_url and len(first) == 10
    status, headers, body = fetch(next_url.group(1))
    second = json.loads(body)
    assert status == 200 and len(second) == 4 and 'rel="prev"' in headers["Link"]
    got = {str(c["id"]): str(c["parent"] or "") for c in first + second}
    assert got == {c["id"]: c["parent"] or "" for c in article["comments"]["items"]}
    assert all(c["content"]["rendered"].startswith("<p>") and c["date_gmt"] for c in first)
    assert fetch(url + "&page=3")[0] == 400
    status, headers, body = fetch(url + "&per_page=100")
    assert len(json.loads(body)) == 14 and "Link" not in headers
    assert json.loads(fetch(server.base_url + "/wp-json/wp/v2/comments?post=999")[2]) == []


def test_disqus_api_paginates_by_cursor_and_needs_a_key(server: DemoServer) -> None:
    article = next(a for a in ARTICLES.values() if a["embed"] == "disqus")
    api = server.base_url + "/api/3.0/threads/listPosts.json"
    url = f"{api}?api_key=K&forum=meridian-ledger&thread:ident={article['comments']['disqus']['ident']}"
    posts, cursor, pages = [], "", 0
    while True:
        status, _, body = fetch(url + (f"&cursor={cursor}" if cursor else ""))
        data = json.loads(body)
        assert status == 200 and data["code"] == 0
        posts += data["response"]
        pages += 1
        if not data["cursor"]["hasNext"]:
            break
        cursor = data["cursor"]["next"]
    assert pages == 2 and len(posts) == article["comments"]["expected_total"] == 30
    assert {p["id"] for p in posts} == {c["id"] for c in article["comments"]["items"]}
    assert all({"name", "profileUrl"} <= set(p["author"]) and p["message"].startswith("<p>") for p in posts)
    link = f"link:{server.base_url}{article['path']}"
    by_link = json.loads(fetch(f"{api}?api_key=K&forum=meridian-ledger&thread={link}")[2])
    assert by_link["code"] == 0 and len(by_link["response"]) == 25
    status, _, body = fetch(f"{api}?forum=meridian-ledger&thread:ident=meridian-42")
    assert status == 400 and json.loads(body)["code"] == 5
    status, _, body = fetch(f"{api}?api_key=K&forum=meridian-ledger&thread:ident=nope")
    assert status == 400 and json.loads(body)["code"] == 2


def _raw_get(server: DemoServer, path: str) -> int:
    host, port = urlsplit(server.base_url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_paths_outside_the_public_site_are_refused(server: DemoServer) -> None:
    for path in ("/../server.py", "/%2e%2e/server.py", "/articles/../../_api.py", "/expected.json",
                 "/disqus/meridian-42.json", "/nope.html", "/articles/missing.html"):
        assert _raw_get(server, path) == 404, path


def test_non_article_pages_robots_and_loopback_only(server: DemoServer) -> None:
    for path in EXPECTED["non_articles"]:
        status, headers, body = fetch(server.base_url + path)
        assert status == 200 and "NewsArticle" not in body.decode()
    status, headers, body = fetch(server.base_url + "/robots.txt")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Disallow: /private/" in body.decode()
    with pytest.raises(ValueError):
        start_demo_server(host="0.0.0.0")


def test_story_group_cross_references() -> None:
    group = {s: a for s, a in ARTICLES.items() if a["story_group"]}
    pages = {s: (DEFAULT_SITE_DIR / a["path"].lstrip("/")).read_text("utf-8") for s, a in group.items()}
    assert any("according to the long war journal" in visible_text(p).lower() for p in pages.values())
    in_text_links = [re.findall(r"<p>[^\n]*?href=\"\{\{BASE_URL\}\}(/articles/[^\"]+)\"", p) for p in pages.values()]
    assert any(path in {a["path"] for a in group.values()} for links in in_text_links for path in links)


def test_syndicated_copy_shares_the_body(tmp_path: Path) -> None:
    copy_slug, copy = next((s, a) for s, a in ARTICLES.items() if a["syndicated_of"])
    original = ARTICLES[copy["syndicated_of"]]
    text = {k: visible_text((DEFAULT_SITE_DIR / a["path"].lstrip("/")).read_text("utf-8"))
            for k, a in (("copy", copy), ("original", original))}
    for sentence in original["must_include"][1:]:
        assert sentence in text["copy"]
    assert copy["path"] != original["path"] and copy["layout"] != original["layout"]
