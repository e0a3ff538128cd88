"""End-to-end comment collection over loopback: feeds, wp-json, Disqus, dedup, embeds, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.config import FetchConfig
from tests.loopback import LoopbackServer, Reply
from transforms.comments import CommentsConfig, collect_comments, find_comment_sources
from transforms.http import HttpClient

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"


@pytest.fixture(scope="module")
def _shared_server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def server(_shared_server: LoopbackServer) -> LoopbackServer:
    """One loopback server for the module (shutting one down costs half a second), fresh routes per test."""
    _shared_server.routes.clear()
    _shared_server.requests.clear()
    return _shared_server


@pytest.fixture
def client() -> Iterator[HttpClient]:
    config = FetchConfig(allow_private_hosts=True, min_interval_s=0.0, respect_robots=False, max_attempts=1)
    with HttpClient(config) as http:
        yield http


def _collect(server: LoopbackServer, client: HttpClient, path: str, *, feed: str | None = None,
             config: CommentsConfig | None = None):  # type: ignore[no-untyped-def]
    page_url = server.url(path)
    html = client.get(page_url).text
    return collect_comments(html=html, page_url=page_url, article_id="art-1", fetched_at=FETCHED,
                            comments_feed_url=server.url(feed) if feed else None, comments_page_url=None,
                            client=client, config=config or CommentsConfig())


def _json_route(pages: dict[str, tuple[object, dict[str, str]]], key: str):  # type: ignore[no-untyped-def]
    """A route answering by one query parameter (page number or cursor), like a real listing API."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        body, headers = pages.get((query.get(key) or [""])[0], ({"code": 2, "response": "bad page"}, {}))
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    return handle


def _wp_li(cid: int, author: str, text: str, children: str = "") -> str:
    kids = f'<ol class="children">{children}</ol>' if children else ""
    return (f'<li id="comment-{cid}" class="comment"><article class="comment-body"><div class="comment-author vcard">'
            f'<b class="fn">{author}</b> <span class="says">says:</span></div><div class="comment-metadata">'
            f'<time datetime="2024-04-0{cid % 9 + 1}T10:00:00+00:00">x</time></div>'
            f'<div class="comment-content"><p>{text}</p></div><div class="reply">Reply</div></article>{kids}</li>')


def _page(head: str, comments: str = "", extra: str = "") -> str:
    section = f'<div id="comments"><ol class="comment-list">{comments}</ol></div>' if comments else ""
    return (f"<html><head><title>Post</title>{head}</head><body><article><p>Article body text.</p></article>"
            f"{section}{extra}</body></html>")


def _rss(items: list[tuple[int, str, str, str]], next_url: str | None = None) -> str:
    link = f'<atom:link rel="next" href="{next_url}"/>' if next_url else ""
    body = "".join(
        f"<item><title>By: {author}</title><link>http://blog.test/post/#comment-{cid}</link>"
        f"<dc:creator>{author}</dc:creator><pubDate>Mon, 0{cid % 9 + 1} Apr 2024 10:00:00 +0000</pubDate>"
        f"<guid isPermaLink=\"false\">http://blog.test/?p=42#comment-{cid}</guid>"
        f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
        for cid, author, _text, html in items
    )
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Comments on: Post</title>{link}{body}</channel></rss>")


def test_html_and_paginated_feed_are_deduplicated(server: LoopbackServer, client: HttpClient) -> None:
    head = f'<link rel="alternate" type="application/rss+xml" title="Blog » Post Comments Feed" href="{server.url("/post/feed/")}">'
    inline = _wp_li(1, "Ann", "First!", _wp_li(2, "Bob", "Second, a reply."))
    server.routes["/post/"] = Reply(body=_page(head, inline))
    server.routes["/post/feed/"] = Reply(content_type=RSS, body=_rss(
        [(1, "Ann", "First!", "<p>First!</p>"),
         (2, "Bob", "", '<p>In reply to <a href="http://blog.test/post/#comment-1">Ann</a>.</p><p>Second, a reply.</p>')],
        next_url=server.url("/post/feed/?paged=2")))
    server.routes["/post/feed/?paged=2"] = Reply(content_type=RSS, body=_rss(
        [(3, "Cy", "", '<p>In reply to <a href="http://blog.test/post/#comment-2">Bob</a>.</p><p>Third level.</p>'),
         (4, "Dee", "", "<p>Only in the feed.</p><p>Two paragraphs.</p>")]))
    thread = _collect(server, client, "/post/")
    assert thread.status == "collected" and thread.failures == ()
    by_author = {c.author: c for c in thread.comments}
    assert sorted(by_author) == ["Ann", "Bob", "Cy", "Dee"]
    assert len(thread.comments) == 4
    assert by_author["Ann"].origin == "html" and by_author["Dee"].origin == "feed"
    assert by_author["Bob"].parent_id == by_author["Ann"].comment_id
    assert by_author["Cy"].parent_id == by_author["Bob"].comment_id and by_author["Cy"].depth == 2
    assert by_author["Dee"].text == "Only in the feed.\n\nTwo paragraphs."
    assert by_author["Cy"].text == "Third level."
    assert by_author["Dee"].published_at == datetime(2024, 4, 5, 10, 0, tzinfo=UTC)
    assert {"/post/feed/", "/post/feed/?paged=2"} <= set(server.paths())


def test_atom_thread_feed_from_the_entry_hint(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/a"] = Reply(body=_page(""))
    server.routes["/a/comments.atom"] = Reply(content_type="application/atom+xml", body=(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">'
        "<title>c</title><id>urn:c</id>"
        '<entry><id>urn:c:1</id><title>t</title><author><name>Eve</name><uri>https://eve.test</uri></author>'
        '<updated>2024-03-01T10:00:00+02:00</updated><content type="html">&lt;p&gt;Top.&lt;/p&gt;</content></entry>'
        '<entry><id>urn:c:2</id><title>t</title><author><name>Fay</name></author><updated>2024-03-01T11:00:00Z</updated>'
        '<thr:in-reply-to ref="urn:c:1"/><content type="text">Nested.</content></entry></feed>'))
    thread = _collect(server, client, "/a", feed="/a/comments.atom")
    eve, fay = thread.comments
    assert (eve.author, eve.author_url, eve.published_at) == ("Eve", "https://eve.test",
                                                             datetime(2024, 3, 1, 8, 0, tzinfo=UTC))
    assert (fay.parent_id, fay.depth, thread.status) == (eve.comment_id, 1, "collected")


def test_wp_json_paging_three_levels_deep(server: LoopbackServer, client: HttpClient) -> None:
    head = (f'<link rel="https://api.w.org/" href="{server.url("/wp-json/")}">'
            f'<link rel="shortlink" href="{server.url("/?p=42")}">')
    server.routes["/post/"] = Reply(body=_page(head, _wp_li(1, "Ann", "First!")))

    def item(cid: int, parent: int, name: str, text: str) -> dict[str, object]:
        return {"id": cid, "post": 42, "parent": parent, "author_name": name, "author_url": f"https://{name}.test",
                "date": "2024-04-01T12:00:00", "date_gmt": f"2024-04-0{cid}T10:00:00",
                "content": {"rendered": f"<p>{text}</p>\n"}, "link": f"http://blog.test/post/#comment-{cid}"}

    pages = {
        "1": ([item(1, 0, "Ann", "First!"), item(2, 1, "Bob", "Reply.")],
              {"X-WP-Total": "5", "X-WP-TotalPages": "3",
               "Link": f'<{server.url("/wp-json/wp/v2/comments?post=42&page=2")}>; rel="next"'}),
        "2": ([item(3, 2, "Cy", "Reply to reply."), item(4, 0, "Dee", "Top two.")],
              {"X-WP-Total": "5", "X-WP-TotalPages": "3"}),
        "3": ([item(5, 4, "Eli", "Under Dee.")], {"X-WP-Total": "5", "X-WP-TotalPages": "3"}),
    }
    server.routes["/wp-json/wp/v2/comments"] = _json_route(pages, "page")  # type: ignore[assignment]
    thread = _collect(server, client, "/post/")
    assert thread.failures == () and thread.status == "collected"
    assert [(c.author, c.depth) for c in thread.comments] == [("Ann", 0), ("Bob", 1), ("Cy", 2), ("Dee", 0), ("Eli", 1)]
    ann = thread.comments[0]
    assert ann.origin == "wp-json" and ann.author_url == "https://Ann.test"
    assert ann.published_at == datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
    api_calls = [p for p in server.paths() if p.startswith("/wp-json/")]
    assert len(api_calls) == 3 and all("post=42" in p for p in api_calls)


def _disqus_page(html_extra: str = "") -> str:
    return _page("", extra=(
        "<div id=\"disqus_thread\"></div><script>var disqus_config = function () {"
        "this.page.url = 'https://news.test/story'; this.page.identifier = 'story-77'; };"
        "(function(){var s=document.createElement('script');s.src='https://newsforum.disqus.com/embed.js';})();"
        f"</script>{html_extra}"))


def _post(pid: str, parent: int | None, name: str, text: str) -> dict[str, object]:
    return {"id": pid, "parent": parent, "author": {"name": name, "username": name.lower(), "isAnonymous": False,
            "profileUrl": f"https://disqus.com/by/{name.lower()}/"}, "createdAt": "2024-02-01T09:30:00",
            "message": f"<p>{text}</p>", "raw_message": text, "isDeleted": False, "isSpam": False}


def test_disqus_cursor_paging_with_key(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/story"] = Reply(body=_disqus_page())
    pages = {
        "": ({"code": 0, "cursor": {"hasNext": True, "next": "c2", "prev": None, "hasPrev": False},
              "response": [_post("101", None, "Ida", "Disqus top."), _post("102", 101, "Jon", "Disqus reply.")]}, {}),
        "c2": ({"code": 0, "cursor": {"hasNext": False, "next": "c3", "prev": "c1", "hasPrev": True},
                "response": [_post("103", 102, "Kai", "Deeper."), {**_post("104", None, "Spam", "x"), "isSpam": True}]},
               {}),
    }
    server.routes["/api/3.0/threads/listPosts.json"] = _json_route(pages, "cursor")  # type: ignore[assignment]
    config = CommentsConfig(disqus_api_key="KEY123", disqus_api_base=server.url("/api/3.0"))
    thread = _collect(server, client, "/story", config=config)
    assert thread.status == "collected" and thread.failures == ()
    assert [(c.author, c.depth, c.origin) for c in thread.comments] == [
        ("Ida", 0, "disqus"), ("Jon", 1, "disqus"), ("Kai", 2, "disqus")]
    assert thread.comments[0].published_at == datetime(2024, 2, 1, 9, 30, tzinfo=UTC)
    assert thread.comments[0].author_url == "https://disqus.com/by/ida/"
    first = parse_qs(urlsplit(server.paths()[1]).query)
    assert first["forum"] == ["newsforum"] and first["thread:ident"] == ["story-77"]


def test_disqus_without_key_is_recorded_as_embedded(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/story"] = Reply(body=_disqus_page())
    thread = _collect(server, client, "/story")
    assert (thread.comments, thread.status, thread.failures) == ((), "embedded:disqus", ())
    assert server.paths() == ["/story"]


def test_disqus_error_keeps_the_key_out_of_failures(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/story"] = Reply(body=_disqus_page())
    server.routes["/api/3.0/threads/listPosts.json"] = Reply(status=400, body='{"code": 2}')
    config = CommentsConfig(disqus_api_key="SECRETKEY", disqus_api_base=server.url("/api/3.0"))
    thread = _collect(server, client, "/story", config=config)
    assert thread.status == "embedded:disqus" and len(thread.failures) == 1
    url, error = thread.failures[0]
    assert "SECRETKEY" not in url and "SECRETKEY" not in str(error)
    assert getattr(error, "http_status", None) == 400


@pytest.mark.parametrize(("widget", "system"), [
    ('<div class="fb-comments" data-href="https://news.test/x"></div>', "facebook"),
    ('<script src="https://cdn.viafoura.net/entry/index.js"></script><vf-conversations></vf-conversations>', "viafoura"),
    ('<div data-spotim-module="conversation"></div><script src="https://launcher.spot.im/spot/sp_x"></script>', "openweb"),
    ('<div id="coral_thread"></div><script>Coral.createStreamEmbed({})</script>', "coral"),
])
def test_embed_only_pages(server: LoopbackServer, client: HttpClient, widget: str, system: str) -> None:
    server.routes["/x"] = Reply(body=_page("", extra=widget))
    thread = _collect(server, client, "/x")
    assert (thread.comments, thread.status, thread.failures) == ((), f"embedded:{system}", ())


def test_page_without_comment_system(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/plain"] = Reply(body=_page(""))
    assert _collect(server, client, "/plain").status == "none"


def test_failed_feed_is_reported_and_inline_comments_survive(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/post/"] = Reply(body=_page("", _wp_li(1, "Ann", "Still here.")))
    thread = _collect(server, client, "/post/", feed="/post/feed/")
    assert [c.text for c in thread.comments] == ["Still here."]
    assert thread.status == "collected"
    [(url, error)] = thread.failures
    assert url == server.url("/post/feed/") and getattr(error, "http_status", None) == 404


def test_only_source_failing_gives_failed(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/post/"] = Reply(body=_page(""))
    server.routes["/post/feed/"] = Reply(content_type=RSS, body="this is not a feed <<<")
    thread = _collect(server, client, "/post/", feed="/post/feed/")
    assert thread.status == "failed" and len(thread.failures) == 1


def test_feed_paging_is_bounded(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/post/"] = Reply(body=_page(""))

    def endless(handler: BaseHTTPRequestHandler) -> None:
        n = int(parse_qs(urlsplit(handler.path).query).get("n", ["0"])[0])
        body = _rss([(n + 1, f"U{n}", "", f"<p>Comment {n}</p>")],
                    next_url=server.url(f"/loop?n={n + 1}")).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", RSS)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server.routes["/loop"] = endless  # type: ignore[assignment]
    thread = _collect(server, client, "/post/", feed="/loop", config=CommentsConfig(max_pages=3))
    assert len(thread.comments) == 3 and len([p for p in server.paths() if p.startswith("/loop")]) == 3


def test_disabled_collects_nothing(server: LoopbackServer, client: HttpClient) -> None:
    server.routes["/post/"] = Reply(body=_page("", _wp_li(1, "Ann", "Hi.")))
    thread = _collect(server, client, "/post/", config=CommentsConfig(enabled=False))
    assert (thread.comments, thread.status) == ((), "disabled")


def test_find_comment_sources_reads_every_hook() -> None:
    html = ('<html><head><link rel="https://api.w.org/" href="https://b.test/wp-json/">'
            '<link rel="alternate" type="application/rss+xml" title="B » Comments Feed" href="https://b.test/comments/feed/">'
            '<link rel="alternate" type="application/rss+xml" title="B » Post Comments Feed" href="https://b.test/p/feed/">'
            '</head><body class="single postid-9"><div id="disqus_thread"></div>'
            "<script>var disqus_shortname = 'bforum';</script></body></html>")
    sources = find_comment_sources(html, "https://b.test/p/", comments_feed_url="https://b.test/p/feed/atom/")
    assert sources.feed_urls == ("https://b.test/p/feed/atom/", "https://b.test/p/feed/")
    assert sources.wordpress is not None and sources.wordpress.post_id == 9
    assert sources.wordpress.api_root == "https://b.test/wp-json/"
    assert sources.disqus is not None and sources.disqus.shortname == "bforum"
    assert sources.embeds == ("disqus",)
