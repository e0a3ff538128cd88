"""Disqus threads through the public API (``threads/listPosts``), when the user gives an API key.

The thread is looked up by the page's ``disqus_identifier`` (``thread:ident=``) or, failing that,
by its URL (``thread:link=``), both within the forum (shortname) the embed names. Pages are
followed by the response's ``cursor`` (``hasNext``/``next``) up to ``max_pages``. Disqus times
are UTC without an offset; deleted and spam posts are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from transforms.comments.detect import DisqusHook
from transforms.comments.text import fragment_text, normalize_space, parse_time, strip_chrome
from transforms.comments.thread import RawComment
from transforms.errors import ParseError

__all__ = ["list_posts_url", "fetch_disqus_comments", "parse_disqus_page"]


class _Client(Protocol):
    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any: ...


def list_posts_url(api_base: str, api_key: str, hook: DisqusHook, page_url: str, cursor: str | None = None) -> str:
    """The ``threads/listPosts.json`` URL for one page of a thread, oldest first."""
    query: dict[str, str | int] = {"api_key": api_key, "limit": 100, "order": "asc"}
    if hook.shortname:
        query["forum"] = hook.shortname
    if hook.identifier and hook.shortname:
        query["thread:ident"] = hook.identifier
    else:
        query["thread:link"] = hook.url or page_url
    if cursor:
        query["cursor"] = cursor
    return f"{api_base.rstrip('/')}/threads/listPosts.json?{urlencode(query)}"


def _author(post: Mapping[str, Any]) -> tuple[str | None, str | None]:
    author = post.get("author")
    if not isinstance(author, Mapping):
        return None, None
    name = normalize_space(str(author.get("name") or author.get("username") or "")) or None
    url = author.get("profileUrl") or author.get("url")
    return name, (url if isinstance(url, str) and url.startswith("http") else None)


def _one(post: Mapping[str, Any], base: datetime | None) -> RawComment | None:
    if post.get("isDeleted") or post.get("isSpam") or post.get("id") is None:
        return None
    body = post.get("message") or post.get("raw_message") or ""
    text = strip_chrome(fragment_text(str(body)))
    if not text:
        return None
    author, author_url = _author(post)
    parent = post.get("parent")
    when = post.get("createdAt")
    return RawComment(
        origin="disqus", ref=f"disqus:{post['id']}", native=True, text=text,
        parent_ref=f"disqus:{parent}" if parent else None, author=author, author_url=author_url,
        published_at=parse_time(when, base=base) if isinstance(when, str) else None,
    )


def parse_disqus_page(content: bytes, *, base: datetime | None = None) -> tuple[list[RawComment], str | None]:
    """The posts of one listPosts answer and the cursor of the next page (None at the end).

    Raises:
        ParseError: the body is not a Disqus answer, or Disqus answered with an error code.
    """
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise ParseError(f"Disqus answer is not JSON: {exc}", kind="bad_json") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("response"), list):
        message = data.get("response") if isinstance(data, Mapping) else None
        raise ParseError(f"Disqus error {data.get('code') if isinstance(data, Mapping) else '?'}: {message}",
                         kind="disqus_error")
    posts = [p for p in (_one(post, base) for post in data["response"] if isinstance(post, Mapping)) if p]
    cursor = data.get("cursor") if isinstance(data.get("cursor"), Mapping) else {}
    return posts, (str(cursor["next"]) if cursor.get("hasNext") and cursor.get("next") else None)


def fetch_disqus_comments(
    client: _Client, hook: DisqusHook, *, page_url: str, api_base: str, api_key: str, max_pages: int,
    base: datetime | None = None,
) -> list[RawComment]:
    """Every post of the page's Disqus thread, following the cursor up to ``max_pages``.

    Raises:
        FetchError: a page could not be fetched (Disqus answers errors with 4xx).
        ParseError: an answer is not a Disqus listing.
    """
    raws: list[RawComment] = []
    cursor: str | None = None
    seen: set[str | None] = set()
    while cursor not in seen and len(seen) < max_pages:
        seen.add(cursor)
        response = client.get(list_posts_url(api_base, api_key, hook, page_url, cursor),
                              headers={"Accept": "application/json"})
        page, cursor = parse_disqus_page(response.content, base=base)
        raws.extend(page)
        if cursor is None:
            break
    return raws
