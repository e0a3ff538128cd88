"""Typed model of the demo site's hand-written content (``content/*.toml``).

The article texts, comments and site chrome are authored as TOML so that one generator can render
every derived file (pages, feeds, API fixtures, ``expected.json``) consistently from one source.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "ArticleSpec",
    "Author",
    "CommentSpec",
    "ContentError",
    "Figure",
    "SiteSpec",
    "load_content",
    "plain_text",
    "to_utc_iso",
]

LAYOUTS = frozenset({"classic", "modern", "drupal"})
COMMENT_SYSTEMS = frozenset({"wp", "generic", "jsonld", "disqus", "facebook", "none"})
COMMENT_FEEDS = frozenset({"none", "same", "paged", "extra"})
_TAG_RE = re.compile(r"<[^>]+>")


class ContentError(ValueError):
    """The TOML content is inconsistent (unknown author, bad parent reference, ...)."""


@dataclass(frozen=True, slots=True)
class Author:
    key: str
    name: str
    role: str
    bio: str


@dataclass(frozen=True, slots=True)
class Figure:
    src: str
    alt: str
    title: str
    caption: str
    credit: str


@dataclass(frozen=True, slots=True)
class CommentSpec:
    id: int
    parent: int | None
    depth: int
    author: str
    url: str
    at: datetime
    text: str
    in_html: bool


@dataclass(frozen=True, slots=True)
class SiteSpec:
    name: str
    tagline: str
    copyright: str
    disqus_forum: str
    nav: tuple[tuple[str, str], ...]
    trending: tuple[tuple[str, str], ...]
    most_read: tuple[tuple[str, str], ...]
    newsletter: dict[str, str]
    donation: dict[str, str]
    commenting_help: str
    authors: dict[str, Author]


@dataclass(frozen=True, slots=True)
class ArticleSpec:
    slug: str
    title: str
    dek: str
    section: str
    topic: str
    layout: str
    authors: tuple[Author, ...]
    published: datetime
    modified: datetime
    tags: tuple[str, ...]
    free: bool
    tracking: bool
    story_group: str | None
    syndicated_of: str | None
    wp_id: int
    comment_system: str
    comment_feed: str
    wp_rest: bool
    disqus_ident: str | None
    figure: Figure
    related: tuple[str, ...]
    actors: tuple[str, ...]
    paragraphs: tuple[str, ...]
    comments: tuple[CommentSpec, ...]

    @property
    def path(self) -> str:
        return f"/articles/{self.slug}.html"

    @property
    def html_comments(self) -> tuple[CommentSpec, ...]:
        return tuple(c for c in self.comments if c.in_html)


def plain_text(fragment: str) -> str:
    """Text of a trusted, hand-written HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(_TAG_RE.sub("", fragment))


def to_utc_iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_content(content_dir: Path) -> tuple[SiteSpec, list[ArticleSpec]]:
    """Read ``site.toml`` and every ``articles/*.toml`` under ``content_dir``."""
    site = _load_site(tomllib.loads((content_dir / "site.toml").read_text("utf-8")))
    articles = [
        _load_article(tomllib.loads(path.read_text("utf-8")), site)
        for path in sorted((content_dir / "articles").glob("*.toml"))
    ]
    articles.sort(key=lambda a: a.published)
    return site, articles


def _pairs(raw: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((a, b) for a, b in raw)


def _load_site(raw: dict[str, Any]) -> SiteSpec:
    authors = {key: Author(key=key, **value) for key, value in raw["authors"].items()}
    return SiteSpec(
        name=raw["name"],
        tagline=raw["tagline"],
        copyright=raw["copyright"],
        disqus_forum=raw["disqus_forum"],
        nav=_pairs(raw["nav"]),
        trending=_pairs(raw["trending"]),
        most_read=_pairs(raw["most_read"]),
        newsletter=dict(raw["newsletter"]),
        donation=dict(raw["donation"]),
        commenting_help=raw["commenting_help"],
        authors=authors,
    )


def _load_article(raw: dict[str, Any], site: SiteSpec) -> ArticleSpec:
    try:
        authors = tuple(site.authors[key] for key in raw["authors"])
    except KeyError as exc:
        raise ContentError(f"{raw['slug']}: unknown author {exc}") from exc
    published = datetime.fromisoformat(raw["published"])
    spec = ArticleSpec(
        slug=raw["slug"],
        title=raw["title"],
        dek=raw["dek"],
        section=raw["section"],
        topic=raw["topic"],
        layout=raw["layout"],
        authors=authors,
        published=published,
        modified=datetime.fromisoformat(raw.get("modified", raw["published"])),
        tags=tuple(raw["tags"]),
        free=raw.get("free", True),
        tracking=raw.get("tracking", False),
        story_group=raw.get("story_group"),
        syndicated_of=raw.get("syndicated_of"),
        wp_id=raw["wp_id"],
        comment_system=raw["comment_system"],
        comment_feed=raw.get("comment_feed", "none"),
        wp_rest=raw.get("wp_rest", False),
        disqus_ident=raw.get("disqus_ident"),
        figure=Figure(**raw["figure"]),
        related=tuple(raw["related"]),
        actors=tuple(raw["actors"]),
        paragraphs=tuple(p.strip() for p in raw["body"].strip().split("\n\n")),
        comments=_load_comments(raw.get("comments", []), raw.get("comment_base", 0), published),
    )
    _validate(spec)
    return spec


def _load_comments(raw: list[dict[str, Any]], base: int, published: datetime) -> tuple[CommentSpec, ...]:
    ids: dict[str, int] = {}
    depths: dict[int, int] = {}
    out = []
    for index, item in enumerate(raw, start=1):
        cid = base + index
        ids[item["key"]] = cid
        parent = ids[item["parent"]] if item.get("parent") else None
        depths[cid] = depths[parent] + 1 if parent else 1
        when = datetime.fromisoformat(item["at"])
        if when <= published:
            raise ContentError(f"comment {cid} predates its article")
        out.append(CommentSpec(
            id=cid, parent=parent, depth=depths[cid], author=item["author"], url=item.get("url", ""),
            at=when, text=item["text"].strip(), in_html=item.get("html", True),
        ))
    return tuple(out)


def _validate(spec: ArticleSpec) -> None:
    if spec.layout not in LAYOUTS:
        raise ContentError(f"{spec.slug}: unknown layout {spec.layout!r}")
    if spec.comment_system not in COMMENT_SYSTEMS or spec.comment_feed not in COMMENT_FEEDS:
        raise ContentError(f"{spec.slug}: unknown comment system or feed kind")
    if not 5 <= len(spec.paragraphs) <= 12:
        raise ContentError(f"{spec.slug}: {len(spec.paragraphs)} paragraphs, want 5-12")
    words = sum(len(plain_text(p).split()) for p in spec.paragraphs)
    if not 150 <= words <= 700:
        raise ContentError(f"{spec.slug}: {words} words, want 150-700")
    text = " ".join(plain_text(p) for p in spec.paragraphs)
    missing = [actor for actor in spec.actors if actor not in text]
    if missing:
        raise ContentError(f"{spec.slug}: actors not in body: {missing}")
