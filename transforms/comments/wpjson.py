"""WordPress REST API comments: ``GET {root}wp/v2/comments?post=ID`` with paging.

WordPress gives every comment its id and its ``parent`` (0 for top level) and the time in UTC
(``date_gmt``), so this is the richest source a WordPress site offers. Pages are followed by the
``Link: <…>; rel="next"`` header, bounded by ``X-WP-TotalPages`` and ``max_pages``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin

from transforms.comments.detect import WordPressHook
from transforms.comments.text import fragment_text, normalize_space, parse_time, strip_chrome
from transforms.comments.thread import RawComment
from transforms.errors import ParseError

__all__ = ["comments_url", "fetch_wp_comments", "parse_wp_comments"]

_LINK_NEXT_RE = re.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?", re.IGNORECASE)


class _Client(Protocol):
    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any: ...


def comments_url(hook: WordPressHook, *, page: int = 1, per_page: int = 100) -> str:
    """The listing URL of one page of a post's comments, oldest first."""
    query = {"post": hook.post_id, "per_page": per_page, "page": page, "order": "asc", "orderby": "date_gmt"}
    if "rest_route=" in hook.api_root:
        # Sites without pretty permalinks expose the API as ?rest_route=/.
        return f"{hook.api_root.split('?')[0]}?rest_route=/wp/v2/comments&{urlencode(query)}"
    return urljoin(hook.api_root.rstrip("/") + "/", "wp/v2/comments") + "?" + urlencode(query)


def _one(item: Mapping[str, Any], base: datetime | None) -> RawComment | None:
    rendered = item.get("content")
    body = rendered.get("rendered") if isinstance(rendered, Mapping) else rendered
    text = strip_chrome(fragment_text(body)) if isinstance(body, str) else ""
    if not text or item.get("id") is None:
        return None
    parent = item.get("parent") or 0
    when = item.get("date_gmt") or item.get("date")
    author_url = item.get("author_url")
    return RawComment(
        origin="wp-json", ref=f"site:{item['id']}", native=True, text=text,
        parent_ref=f"site:{parent}" if parent else None,
        author=normalize_space(str(item.get("author_name") or "")) or None,
        author_url=author_url if isinstance(author_url, str) and author_url.startswith("http") else None,
        published_at=parse_time(when, base=base) if isinstance(when, str) else None,
    )


def parse_wp_comments(content: bytes, *, base: datetime | None = None) -> list[RawComment]:
    """The comments of one wp/v2/comments listing page.

    Raises:
        ParseError: the body is not a JSON list of comments.
    """
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise ParseError(f"wp-json comments are not JSON: {exc}", kind="bad_json") from exc
    if not isinstance(data, list):
        raise ParseError("wp-json comments listing is not a list", kind="bad_json")
    return [raw for raw in (_one(item, base) for item in data if isinstance(item, Mapping)) if raw is not None]


def _next_page(headers: Mapping[str, str], url: str, hook: WordPressHook, page: int) -> str | None:
    match = _LINK_NEXT_RE.search(headers.get("link", ""))
    if match:
        return urljoin(url, match.group(1))
    total = headers.get("x-wp-totalpages", "")
    return comments_url(hook, page=page + 1) if total.isdigit() and page < int(total) else None


def fetch_wp_comments(client: _Client, hook: WordPressHook, *, max_pages: int, base: datetime | None = None) -> list[RawComment]:
    """Every comment of a WordPress post through the REST API, page by page up to ``max_pages``.

    Raises:
        FetchError: a page could not be fetched.
        ParseError: a page is not a JSON comment listing.
    """
    raws: list[RawComment] = []
    url: str | None = comments_url(hook)
    seen: set[str] = set()
    while url and url not in seen and len(seen) < max_pages:
        seen.add(url)
        response = client.get(url, headers={"Accept": "application/json"})
        page = parse_wp_comments(response.content, base=base)
        raws.extend(page)
        url = _next_page(response.headers, response.url, hook, len(seen)) if page else None
    return raws
