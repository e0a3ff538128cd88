"""Comment identity, threading and cross-origin deduplication.

Parsers emit ``RawComment`` records that refer to each other by *refs* local to one parse (the
site's own id, namespaced, when there is one). ``build_comments`` turns one origin's raw records into
``Comment`` rows with stable ids; ``merge_comments`` folds the rows of several origins into one
thread, so a comment seen in the HTML, in the comment feed and through wp-json is a single row.

Stable ids: a site id becomes ``hash(article_id, namespace, id)``. WordPress comment 12 is
``comment-12`` in the HTML, ``...#comment-12`` in the feed and ``id: 12`` in wp-json; all three
use namespace ``site`` and so agree. Disqus ids use namespace ``disqus``. Comments without a site
id get ``hash(article_id, author, time, text)``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from schemas.records import Comment

__all__ = ["RawComment", "build_comments", "comment_id", "merge_comments", "ORIGIN_RANK", "NATIVE_NAMESPACES"]

# When two origins give the same comment, the richer record wins; ties go to this order.
ORIGIN_RANK = {"wp-json": 0, "disqus": 1, "html": 2, "jsonld": 3, "feed": 4}
# Ref namespaces that are real ids of a comment system (the rest are parse-local positions).
NATIVE_NAMESPACES = frozenset({"site", "disqus"})
_FINGERPRINT_RE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class RawComment:
    """One comment as a parser saw it, before ids are assigned.

    ``ref`` and ``parent_ref`` are local to one parse; a ref of the form ``"<namespace>:<id>"``
    with ``native=True`` is the site's own id and becomes part of the stable comment id.
    """

    origin: str
    ref: str
    text: str
    native: bool = False
    parent_ref: str | None = None
    author: str | None = None
    author_url: str | None = None
    published_at: datetime | None = None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def comment_id(article_id: str, raw: RawComment) -> str:
    """The stable id of a comment: from the site's id when it has one, else from its content."""
    if raw.native:
        namespace, _, native_id = raw.ref.partition(":")
        return _digest(article_id, namespace, native_id)
    when = raw.published_at.isoformat() if raw.published_at else ""
    return _digest(article_id, (raw.author or "").casefold(), when, _fingerprint(raw.text))


def _fingerprint(text: str) -> str:
    return _FINGERPRINT_RE.sub(" ", text.casefold()).strip()


def build_comments(
    raws: Sequence[RawComment], *, article_id: str, article_url: str, fetched_at: datetime
) -> list[Comment]:
    """Assign ids and parent ids to one origin's raw comments (depth is set by ``merge_comments``)."""
    ids = {raw.ref: comment_id(article_id, raw) for raw in raws}
    rows = []
    for raw in raws:
        if not raw.text.strip():
            continue
        parent = raw.parent_ref
        parent_id = ids.get(parent) if parent else None
        if parent and parent_id is None and parent.partition(":")[0] in NATIVE_NAMESPACES:
            # A parent outside this batch (an earlier page of the listing): its id is still known.
            parent_id = comment_id(article_id, RawComment(origin=raw.origin, ref=parent, text="", native=True))
        rows.append(
            Comment(
                comment_id=ids[raw.ref], article_id=article_id, article_url=article_url,
                parent_id=parent_id, depth=0, author=raw.author, author_url=raw.author_url,
                published_at=raw.published_at, text=raw.text, origin=raw.origin,
                fetched_at=fetched_at, schema_version=1, date="", source="",
            )
        )
    return rows


def _richness(c: Comment) -> tuple[int, int]:
    filled = sum(v is not None for v in (c.author, c.author_url, c.published_at, c.parent_id))
    return (filled, -ORIGIN_RANK.get(c.origin, 9))


def _merge_pair(a: Comment, b: Comment) -> Comment:
    best, other = (a, b) if _richness(a) >= _richness(b) else (b, a)
    return replace(
        best,
        comment_id=a.comment_id,
        author=best.author or other.author,
        author_url=best.author_url or other.author_url,
        published_at=best.published_at or other.published_at,
        parent_id=best.parent_id or other.parent_id,
        text=best.text if len(best.text) >= 0.5 * len(other.text) else other.text,
    )


def _content_key(c: Comment) -> tuple[str, str]:
    return ((c.author or "").casefold().strip(), _fingerprint(c.text)[:160])


def merge_comments(batches: Iterable[Sequence[Comment]], *, max_comments: int | None = None) -> list[Comment]:
    """Fold the comments of several origins into one thread: dedup, fix parents, set depth."""
    merged: dict[str, Comment] = {}
    by_content: dict[tuple[str, str], str] = {}
    alias: dict[str, str] = {}
    for batch in batches:
        for c in batch:
            key = _content_key(c)
            target = c.comment_id if c.comment_id in merged else by_content.get(key)
            if target is None:
                merged[c.comment_id] = c
                by_content.setdefault(key, c.comment_id)
                continue
            alias[c.comment_id] = target
            merged[target] = _merge_pair(merged[target], c)
    rows = [_resolve_parent(c, alias) for c in merged.values()]
    rows = _with_depth(rows)
    # Order is first-seen order: document order for HTML, oldest-first for listings.
    return rows[:max_comments] if max_comments is not None else rows


def _resolve_parent(c: Comment, alias: dict[str, str]) -> Comment:
    if c.parent_id is None:
        return c
    parent = alias.get(c.parent_id, c.parent_id)
    return replace(c, parent_id=None if parent == c.comment_id else parent)


def _with_depth(rows: list[Comment]) -> list[Comment]:
    parents = {c.comment_id: c.parent_id for c in rows}
    out = []
    for c in rows:
        depth, node, seen = 0, c.parent_id, {c.comment_id}
        while node is not None and node not in seen:
            depth += 1
            seen.add(node)
            node = parents.get(node)
        out.append(replace(c, depth=depth))
    return out

