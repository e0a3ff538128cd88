"""Loopback emulations of the two comment APIs the demo site uses: WordPress REST and Disqus.

Both are plain functions from (site dir, base URL, query) to a ``Reply`` so they can be tested
without a socket. They follow the documented wire formats: WordPress' ``wp/v2/comments`` with
``X-WP-Total``/``X-WP-TotalPages``/``Link`` paging headers, and Disqus'
``threads/listPosts`` envelope (``code``, ``cursor``, ``response``) with opaque cursors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["JSON_TYPE", "Reply", "disqus_list_posts", "wp_comments"]

JSON_TYPE = "application/json; charset=utf-8"
WP_DEFAULT_PER_PAGE, WP_MAX_PER_PAGE = 10, 100
# Disqus documents limit default 25, maximum 100.
DISQUS_DEFAULT_LIMIT, DISQUS_MAX_LIMIT = 25, 100


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), JSON_TYPE, headers)


def _load(path: Path, base_url: str) -> Any:
    return json.loads(path.read_text("utf-8").replace("{{BASE_URL}}", base_url))


def _int_param(query: dict[str, str], name: str, default: int) -> int | None:
    """The integer value of a query parameter, ``default`` when absent, None when malformed."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    return int(raw) if raw.isdigit() else None


def _wp_error(code: str, message: str, param: str) -> Reply:
    return _json(400, {"code": code, "message": message,
                       "data": {"status": 400, "params": {param: message}}})


def wp_comments(site_dir: Path, base_url: str, query: dict[str, str]) -> Reply:
    """Answer ``GET /wp-json/wp/v2/comments`` (``post``, ``per_page``, ``page``, ``order``)."""
    per_page = _int_param(query, "per_page", WP_DEFAULT_PER_PAGE)
    page = _int_param(query, "page", 1)
    if per_page is None or not 1 <= per_page <= WP_MAX_PER_PAGE:
        return _wp_error("rest_invalid_param", "per_page must be between 1 (inclusive) and 100 (inclusive)",
                         "per_page")
    if page is None or page < 1:
        return _wp_error("rest_invalid_param", "page must be greater than or equal to 1", "page")
    post = query.get("post", "")
    path = site_dir / "wp-json" / f"comments-{post}.json"
    comments: list[dict[str, Any]] = _load(path, base_url) if post.isdigit() and path.is_file() else []
    if query.get("order") == "asc":
        comments.reverse()
    total = len(comments)
    pages = -(-total // per_page)
    if page > max(pages, 1):
        return _json(400, {"code": "rest_comment_invalid_page_number",
                           "message": "The page number requested is larger than the number of pages available.",
                           "data": {"status": 400}})
    headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
    links = []
    if page > 1:
        links.append(f'<{_wp_url(base_url, query, page - 1)}>; rel="prev"')
    if page < pages:
        links.append(f'<{_wp_url(base_url, query, page + 1)}>; rel="next"')
    if links:
        headers.append(("Link", ", ".join(links)))
    start = (page - 1) * per_page
    return _json(200, comments[start:start + per_page], tuple(headers))


def _wp_url(base_url: str, query: dict[str, str], page: int) -> str:
    return f"{base_url}/wp-json/wp/v2/comments?{urlencode({**query, 'page': str(page)})}"


def _disqus_error(code: int, message: str) -> Reply:
    return _json(400, {"code": code, "response": message})


def _find_thread(site_dir: Path, base_url: str, query: dict[str, str]) -> dict[str, Any] | None:
    """The fixture whose thread matches ``thread:ident`` + forum, ``thread=link:URL`` or ``thread=ID``."""
    ident, thread, forum = query.get("thread:ident"), query.get("thread", ""), query.get("forum")
    for path in sorted((site_dir / "disqus").glob("*.json")):
        data: dict[str, Any] = _load(path, base_url)
        meta = data["thread"]
        if ident is not None:
            if forum == meta["forum"] and ident in meta["identifiers"]:
                return data
        elif thread.startswith("link:"):
            if _same_page(thread[5:], meta["link"]):
                return data
        elif thread == meta["id"]:
            return data
    return None


def _same_page(a: str, b: str) -> bool:
    sa, sb = urlsplit(a), urlsplit(b)
    return (sa.netloc, sa.path.rstrip("/")) == (sb.netloc, sb.path.rstrip("/"))


def _decode_cursor(cursor: str) -> int | None:
    """Offset encoded in our opaque cursor (``<offset>:0:0``); None when malformed."""
    if not cursor:
        return 0
    head = cursor.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def disqus_list_posts(site_dir: Path, base_url: str, query: dict[str, str]) -> Reply:
    """Answer ``GET /api/3.0/threads/listPosts.json`` the way Disqus' public API does."""
    if not query.get("api_key"):
        return _disqus_error(5, "Invalid API key")
    if not (query.get("thread") or query.get("thread:ident")):
        return _disqus_error(2, "Invalid argument, 'thread': This field is required.")
    if "thread:ident" in query and not query.get("forum"):
        return _disqus_error(2, "Invalid argument, 'forum': Required when using 'thread:ident'.")
    limit = _int_param(query, "limit", DISQUS_DEFAULT_LIMIT)
    offset = _decode_cursor(query.get("cursor", ""))
    if limit is None or not 1 <= limit <= DISQUS_MAX_LIMIT:
        return _disqus_error(2, "Invalid argument, 'limit': Ensure this value is less than or equal to 100.")
    if offset is None:
        return _disqus_error(2, "Invalid argument, 'cursor': Invalid cursor.")
    data = _find_thread(site_dir, base_url, query)
    if data is None:
        wanted = query.get("thread") or query.get("thread:ident")
        return _disqus_error(2, f"Invalid argument, 'thread': Unable to find thread '{wanted}'")
    posts = data["posts"]
    if query.get("order") == "asc":
        posts = list(reversed(posts))
    page, end = posts[offset:offset + limit], offset + limit
    has_next, has_prev = end < len(posts), offset > 0
    cursor = {
        "prev": f"{max(offset - limit, 0)}:0:1" if has_prev else None, "hasNext": has_next,
        "next": f"{min(end, len(posts))}:0:0", "hasPrev": has_prev, "total": None,
        "id": f"{offset}:0:0", "more": has_next,
    }
    return _json(200, {"cursor": cursor, "code": 0, "response": page})
