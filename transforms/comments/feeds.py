"""Per-post comment feeds: RSS (``wfw:commentRss``), Atom threading (RFC 4685) and their paging.

Feeds are parsed with feedparser. Threading comes from Atom ``thr:in-reply-to`` or, in WordPress
RSS comment feeds, from the leading "In reply to <a href="…#comment-11">Name</a>." paragraph,
which is removed from the text. Pages are followed through the RFC 5005 ``<link rel="next">`` that
feedparser exposes for both Atom and RSS (``atom:link``), bounded by ``max_pages``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml.etree import ParserError

from transforms.comments.jsonld import site_comment_ref
from transforms.comments.text import element_text, normalize_space, parse_time, strip_chrome
from transforms.comments.thread import RawComment
from transforms.errors import ParseError
from transforms.htmltree import HTML_PARSER

__all__ = ["FEED_ACCEPT", "fetch_feed_comments", "parse_comment_feed"]

FEED_ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_BLOGGER_POST_RE = re.compile(r"\.post-(\d+)$")
_TITLE_AUTHOR_RE = re.compile(r"^(?:by|von|par|por|da|door)\s*:?\s+(.+)$|^(?:comment|kommentar)\s+(?:on .+ )?(?:by|von)\s+(.+?)(?:\s+(?:on|zu)\s.+)?$", re.I)


class _Client(Protocol):
    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any: ...


def _entry_ref(entry: Mapping[str, Any], position: str) -> tuple[str, bool]:
    for key in ("link", "id"):
        ref = site_comment_ref(entry.get(key))
        if ref:
            return ref, True
    match = _BLOGGER_POST_RE.search(entry.get("id") or "")
    if match:
        return f"site:{match.group(1)}", True
    return (f"feed:{entry['id']}", False) if entry.get("id") else (f"feed:{position}", False)


def _in_reply_to(entry: Mapping[str, Any]) -> str | None:
    reply = entry.get("thr_in-reply-to")
    if not isinstance(reply, Mapping):
        return None
    return site_comment_ref(reply.get("href")) or (f"feed:{reply['ref']}" if reply.get("ref") else None)


def _body(entry: Mapping[str, Any]) -> str:
    for content in entry.get("content") or []:
        if content.get("value"):
            return str(content["value"])
    return str(entry.get("summary") or "")


def _text_and_parent(body: str) -> tuple[str, str | None]:
    """Clean text of a feed item, and the parent named by a leading 'In reply to <a …#comment-N>' line."""
    if "<" not in body:
        return strip_chrome(normalize_space(body)), None
    try:
        root = lxml.html.fragment_fromstring(body, create_parent="div", parser=HTML_PARSER)
    except (ParserError, ValueError):
        return strip_chrome(normalize_space(body)), None
    parent = None
    first = next(iter(root), None)
    if first is not None and first.tag == "p" and len(first.text_content()) < 160:
        refs = [site_comment_ref(a.get("href")) for a in first.iter("a")]
        if len(refs) == 1 and refs[0]:
            parent = refs[0]
            first.drop_tree()
    return strip_chrome(element_text(root)), parent


def _published(entry: Mapping[str, Any], base: datetime | None) -> datetime | None:
    for key in ("published", "updated", "created"):
        parsed = parse_time(entry.get(key), base=base)
        if parsed is not None:
            return parsed
        struct = entry.get(f"{key}_parsed")
        if struct:
            return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    return None


def _author(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    detail = entry.get("author_detail") or {}
    name = normalize_space(str(entry.get("author") or detail.get("name") or ""))
    if not name:
        match = _TITLE_AUTHOR_RE.match(normalize_space(str(entry.get("title") or "")))
        name = (match.group(1) or match.group(2)) if match else ""
    url = detail.get("href")
    return (name or None), (url if isinstance(url, str) and url.startswith("http") else None)


def parse_comment_feed(content: bytes, feed_url: str, *, base: datetime | None = None) -> tuple[list[RawComment], str | None]:
    """The comments of one comment-feed page, and the URL of the next page if the feed links one.

    Raises:
        ParseError: the body is not a feed, or declares XML entities (refused: entity bombs, XXE).
    """
    if _ENTITY_DECLARATION.search(content[:65536]):
        raise ParseError("the comment feed declares XML entities, which are refused", kind="unsafe_xml")
    parsed = feedparser.parse(content, response_headers={"content-location": feed_url}, sanitize_html=True)
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(f"not a feed: {feed_url}", kind="not_a_feed")
    raws = []
    for index, entry in enumerate(parsed.entries):
        text, quoted_parent = _text_and_parent(_body(entry))
        if not text:
            continue
        ref, native = _entry_ref(entry, f"{feed_url}#{index}")
        author, author_url = _author(entry)
        raws.append(
            RawComment(
                origin="feed", ref=ref, native=native, text=text,
                parent_ref=_in_reply_to(entry) or quoted_parent, author=author, author_url=author_url,
                published_at=_published(entry, base),
            )
        )
    return raws, _next_link(parsed.feed, feed_url)


def _next_link(feed: Mapping[str, Any], feed_url: str) -> str | None:
    for link in feed.get("links") or []:
        if link.get("rel") == "next" and link.get("href"):
            return urljoin(feed_url, str(link["href"]))
    return None


def fetch_feed_comments(client: _Client, url: str, *, max_pages: int, base: datetime | None = None) -> list[RawComment]:
    """Every comment of a comment feed, following its ``rel="next"`` pages up to ``max_pages``.

    Raises:
        FetchError: a page could not be fetched (errors of later pages too: no silent truncation).
        ParseError: a page is not a feed.
    """
    raws: list[RawComment] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url and next_url not in seen and len(seen) < max_pages:
        seen.add(next_url)
        response = client.get(next_url, headers={"Accept": FEED_ACCEPT})
        page, next_url = parse_comment_feed(response.content, response.url, base=base)
        raws.extend(page)
    return raws
