"""schema.org ``Comment`` objects in a page's JSON-LD blocks.

Comments appear either nested (``Article.comment: [Comment, ...]`` with replies in each
``Comment.comment``) or flat with ``parentItem`` pointing at the parent's ``@id``/``url``. Both
shapes become ``RawComment`` records with origin ``jsonld``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import lxml.html

from transforms.comments.text import fragment_text, normalize_space, parse_time, strip_chrome
from transforms.comments.thread import RawComment

__all__ = ["parse_jsonld_comments", "site_comment_ref"]

_COMMENT_TYPES = frozenset({"Comment", "UserComments", "Answer"})
_URL_ID_RE = re.compile(r"#comment-(\d+)$|[?&](?:replytocom|comment_id|commentId)=(\d+)")


def site_comment_ref(url: str | None) -> str | None:
    """``site:<id>`` for a comment URL like ``…/post/#comment-12``, else None."""
    match = _URL_ID_RE.search(url or "")
    return f"site:{match.group(1) or match.group(2)}" if match else None


def _blocks(root: lxml.html.HtmlElement) -> Iterator[Any]:
    for script in root.xpath("//script[contains(@type,'ld+json')]"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            yield json.loads(raw)
        except ValueError:
            # Sites ship broken JSON-LD (trailing commas, raw newlines); one bad block is skipped.
            continue


def _is_comment(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(k in _COMMENT_TYPES for k in kinds if isinstance(k, str))


def _walk(node: Any, parent: str | None, out: list[tuple[dict[str, Any], str | None]]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, parent, out)
        return
    if not isinstance(node, dict):
        return
    own = parent
    if _is_comment(node):
        out.append((node, parent))
        own = _node_key(node, len(out) - 1)
    for key, value in node.items():
        if key in ("comment", "comments", "@graph", "mainEntity", "hasPart", "suggestedAnswer", "acceptedAnswer"):
            _walk(value, own if key != "@graph" else None, out)


def _node_key(node: dict[str, Any], index: int) -> str:
    for key in ("@id", "url"):
        value = node.get(key)
        if isinstance(value, str) and value:
            return site_comment_ref(value) or f"ld:{value}"
    return f"jsonld:{index}"


def _author(node: dict[str, Any]) -> tuple[str | None, str | None]:
    author = node.get("author") or node.get("creator")
    if isinstance(author, list):
        author = author[0] if author else None
    if isinstance(author, str):
        return normalize_space(author) or None, None
    if isinstance(author, dict):
        name = author.get("name") if isinstance(author.get("name"), str) else None
        url = author.get("url") if isinstance(author.get("url"), str) else None
        return (normalize_space(name) or None) if name else None, url
    return None, None


def _parent_ref(node: dict[str, Any], nested_parent: str | None) -> str | None:
    parent = node.get("parentItem")
    if isinstance(parent, dict):
        parent = parent.get("@id") or parent.get("url")
    if isinstance(parent, str) and parent:
        ref = site_comment_ref(parent) or f"ld:{parent}"
        return ref if not ref.startswith("ld:") or "#" in parent else nested_parent
    return nested_parent


def parse_jsonld_comments(root: lxml.html.HtmlElement, *, base: datetime | None = None) -> list[RawComment]:
    """All schema.org Comment objects of the page's JSON-LD, with their threading."""
    found: list[tuple[dict[str, Any], str | None]] = []
    for block in _blocks(root):
        _walk(block, None, found)
    raws = []
    for index, (node, parent) in enumerate(found):
        body = node.get("text") or node.get("commentText") or node.get("description") or ""
        text = strip_chrome(fragment_text(body)) if isinstance(body, str) else ""
        if not text:
            continue
        author, author_url = _author(node)
        when = node.get("dateCreated") or node.get("datePublished")
        ref = _node_key(node, index)
        raws.append(
            RawComment(
                origin="jsonld", ref=ref, native=ref.startswith("site:"), text=text,
                parent_ref=_parent_ref(node, parent), author=author, author_url=author_url,
                published_at=parse_time(when, base=base) if isinstance(when, str) else None,
            )
        )
    return raws
