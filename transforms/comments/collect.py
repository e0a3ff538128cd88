"""Collect one article's reader comments from every source the page offers, as one thread.

Sources, in the order a site offers them: the inline section and JSON-LD of the page itself (free),
a separate comments page (RSS ``<comments>`` / Atom ``rel="replies"`` text/html), the WordPress
REST API, the per-post comment feed (only when the REST API did not answer: it holds the same
comments with less structure), and Disqus (only with an API key). Each source that fails is
recorded in ``CommentThread.failures``; the article itself never fails because of its comments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag

import lxml.html

from schemas.records import Comment
from transforms.comments.detect import (
    DisqusHook, WordPressHook, detect_embeds, disqus_hook, page_comment_feeds, wordpress_hook,
)
from transforms.comments.disqus import fetch_disqus_comments
from transforms.comments.feeds import fetch_feed_comments
from transforms.comments.html import comment_items, parse_document, parse_html_comments
from transforms.comments.jsonld import parse_jsonld_comments
from transforms.comments.thread import RawComment, build_comments, merge_comments
from transforms.comments.wpjson import comments_url, fetch_wp_comments
from transforms.errors import ConfigError, IngestError

__all__ = ["CommentSources", "CommentThread", "CommentsConfig", "collect_comments", "find_comment_sources",
           "parse_inline_comments"]


@dataclass(frozen=True, slots=True)
class CommentsConfig:
    """How comment threads are collected.

    ``max_pages`` bounds every paginated source (comment feed, wp-json, Disqus cursor) separately.
    """

    enabled: bool = True
    disqus_api_key: str | None = None
    disqus_api_base: str = "https://disqus.com/api/3.0"
    max_pages: int = 20
    max_comments: int = 5000
    use_feeds: bool = True
    use_wp_json: bool = True
    follow_comments_page: bool = True

    def __post_init__(self) -> None:
        if self.max_pages < 1:
            raise ConfigError("comments max_pages must be at least 1")
        if self.max_comments < 1:
            raise ConfigError("comments max_comments must be at least 1")
        if not self.disqus_api_base.startswith(("http://", "https://")):
            raise ConfigError("disqus_api_base must be an http(s) URL")


@dataclass(frozen=True, slots=True)
class CommentSources:
    """Where a page's comments can be read, as found in the page and its feed entry."""

    feed_urls: tuple[str, ...]
    comments_page_url: str | None
    wordpress: WordPressHook | None
    disqus: DisqusHook | None
    embeds: tuple[str, ...]
    inline_items: int
    has_comment_form: bool


@dataclass(frozen=True, slots=True)
class CommentThread:
    """The comments of one article, its comments_status and the sources that failed.

    ``status`` is ``collected`` (a comment source was read, possibly empty), ``embedded:<system>``
    (only an unreachable widget), ``none`` (no comment system), ``failed`` (every source that
    exists failed) or ``disabled``.
    """

    comments: tuple[Comment, ...]
    status: str
    failures: tuple[tuple[str, Exception], ...]


def _tree(html: str | lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    return html if isinstance(html, lxml.html.HtmlElement) else parse_document(html or "<html></html>")


def find_comment_sources(
    html: str, page_url: str, *, comments_feed_url: str | None = None, comments_page_url: str | None = None,
    tree: lxml.html.HtmlElement | None = None, items: dict[lxml.html.HtmlElement, str | None] | None = None,
) -> CommentSources:
    """Everything a page (and its feed entry's hints) says about where its comments are.

    ``tree`` and ``items``: the parsed page and its ``comment_items``, when the caller has them.
    """
    root = tree if tree is not None else _tree(html)
    if items is None:
        items = comment_items(root) if root is not None else {}
    feeds = [comments_feed_url] if comments_feed_url else []
    if root is not None:
        feeds += [url for url in page_comment_feeds(root, page_url) if url not in feeds]
    embeds = detect_embeds(html)
    other_page = comments_page_url if comments_page_url and _differs(comments_page_url, page_url) else None
    has_form = root is not None and bool(root.xpath(
        "//form[contains(@action,'comment')] | //*[@id='respond' or contains(@class,'comment-respond')]"))
    return CommentSources(
        feed_urls=tuple(feeds), comments_page_url=other_page,
        wordpress=wordpress_hook(root, page_url) if root is not None else None,
        disqus=disqus_hook(html, page_url) if "disqus" in embeds else None,
        embeds=embeds, inline_items=len(items), has_comment_form=has_form,
    )


def _differs(url: str, page_url: str) -> bool:
    return urldefrag(url)[0].rstrip("/") != urldefrag(page_url)[0].rstrip("/")


def _inline_raws(root: lxml.html.HtmlElement, base: datetime,
                 items: dict[lxml.html.HtmlElement, str | None] | None = None) -> list[list[RawComment]]:
    return [parse_html_comments(root, base=base, items=items), parse_jsonld_comments(root, base=base)]


def parse_inline_comments(
    html: str | lxml.html.HtmlElement, *, page_url: str, article_id: str, fetched_at: datetime,
    max_comments: int | None = None,
) -> tuple[Comment, ...]:
    """The comments in a page itself (comment sections, microdata, JSON-LD), threaded and deduplicated."""
    root = _tree(html)
    if root is None:
        return ()
    batches = [_build(raws, article_id, page_url, fetched_at) for raws in _inline_raws(root, fetched_at)]
    return tuple(merge_comments(batches, max_comments=max_comments))


def _build(raws: Sequence[RawComment], article_id: str, page_url: str, fetched_at: datetime) -> list[Comment]:
    return build_comments(raws, article_id=article_id, article_url=page_url, fetched_at=fetched_at)


@dataclass(slots=True)
class _Run:
    """The mutable state of one collection: batches read, failures met, whether a source answered."""

    batches: list[list[RawComment]]
    failures: list[tuple[str, Exception]]
    answered: set[str]

    def attempt(self, kind: str, url: str, read: Callable[[], list[RawComment]]) -> bool:
        try:
            raws = read()
        except IngestError as exc:
            self.failures.append((url, exc))
            return False
        self.batches.append(raws)
        self.answered.add(kind)
        return True


def collect_comments(
    *, html: str, page_url: str, article_id: str, fetched_at: datetime, comments_feed_url: str | None,
    comments_page_url: str | None, client: Any, config: CommentsConfig, tree: lxml.html.HtmlElement | None = None,
) -> CommentThread:
    """Collect the comment thread of one fetched article.

    Args:
        html: the article page as fetched.
        page_url: its final URL (comment ids and relative links are resolved against it).
        article_id: the article's id; comment ids are derived from it.
        fetched_at: when the page was fetched; used as ``fetched_at`` of every comment and as the
            base for relative dates ("3 days ago").
        comments_feed_url: the feed entry's ``wfw:commentRss`` / Atom replies feed, if any.
        comments_page_url: the feed entry's ``<comments>`` / Atom replies page, if any.
        client: a ``transforms.http.HttpClient`` (anything with its ``get``).
        config: the comments stage's options.
        tree: the page already parsed from ``html``, if the caller has it (saves a parse).

    Returns:
        The thread, its status and the failed sources; never raises for a failed comment source.
    """
    if not config.enabled:
        return CommentThread(comments=(), status="disabled", failures=())
    root = tree if tree is not None else _tree(html)
    items = comment_items(root) if root is not None else {}
    sources = find_comment_sources(html, page_url, comments_feed_url=comments_feed_url,
                                   comments_page_url=comments_page_url, tree=root, items=items)
    run = _Run(batches=_inline_raws(root, fetched_at, items) if root is not None else [], failures=[],
               answered=set())
    _read_remote(run, sources, client=client, config=config, page_url=page_url, base=fetched_at)
    built = [_build(raws, article_id, page_url, fetched_at) for raws in run.batches]
    comments = tuple(merge_comments(built, max_comments=config.max_comments))
    return CommentThread(comments=comments, status=_status(comments, sources, run),
                         failures=tuple(run.failures))


def _read_remote(run: _Run, sources: CommentSources, *, client: Any, config: CommentsConfig, page_url: str,
                 base: datetime) -> None:
    pages = config.max_pages
    if sources.comments_page_url and config.follow_comments_page:
        url = sources.comments_page_url
        run.attempt("page", url, lambda: _read_comment_page(client, url, base))
    wp_ok = False
    if sources.wordpress is not None and config.use_wp_json:
        hook = sources.wordpress
        wp_ok = run.attempt("wp-json", comments_url(hook), lambda: fetch_wp_comments(client, hook, max_pages=pages, base=base))
    if config.use_feeds and not wp_ok:
        for url in sources.feed_urls:
            if run.attempt("feed", url, lambda u=url: fetch_feed_comments(client, u, max_pages=pages, base=base)):
                break
    if sources.disqus is not None and config.disqus_api_key:
        _read_disqus(run, sources.disqus, client=client, config=config, page_url=page_url, base=base)


def _read_comment_page(client: Any, url: str, base: datetime) -> list[RawComment]:
    response = client.get(url)
    root = parse_document(response.text)
    return parse_html_comments(root, base=base) if root is not None else []


def _read_disqus(run: _Run, hook: DisqusHook, *, client: Any, config: CommentsConfig, page_url: str,
                 base: datetime) -> None:
    key = config.disqus_api_key or ""
    shown = f"{config.disqus_api_base.rstrip('/')}/threads/listPosts.json?thread={hook.identifier or hook.url or page_url}"
    before = len(run.failures)
    run.attempt("disqus", shown, lambda: fetch_disqus_comments(
        client, hook, page_url=page_url, api_base=config.disqus_api_base, api_key=key,
        max_pages=config.max_pages, base=base))
    # The API key travels in the query string; keep it out of failure messages.
    run.failures[before:] = [(url, _redacted(exc, key)) for url, exc in run.failures[before:]]


def _redacted(exc: Exception, secret: str) -> Exception:
    if not secret or secret not in str(exc):
        return exc
    clean = type(exc)(str(exc).replace(secret, "<api_key>"))
    for attr in ("kind", "http_status", "attempts", "retry_after_s"):
        if hasattr(exc, attr):
            setattr(clean, attr, getattr(exc, attr))
    return clean


def _status(comments: tuple[Comment, ...], sources: CommentSources, run: _Run) -> str:
    if comments:
        return "collected"
    unread = [name for name in sources.embeds if name not in run.answered]
    if unread:
        return f"embedded:{unread[0]}"
    if run.answered or sources.inline_items or sources.has_comment_form:
        return "collected"
    return "failed" if run.failures else "none"
