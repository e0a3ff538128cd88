"""The demo site's main RSS 2.0 and Atom 1.0 feeds, with WordPress-style comment hints."""

# HTML/XML template lines are kept whole so the markup stays readable.
# ruff: noqa: E501

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC
from email.utils import format_datetime

from pipeline.demo._content import ArticleSpec, SiteSpec

__all__ = ["TRACKING_QUERY", "feed_link", "render_atom", "render_rss"]

B = "{{BASE_URL}}"
# Tracking parameters some feed links carry, so URL canonicalisation has work to do.
TRACKING_QUERY = "?utm_source=rss&utm_medium=feed&utm_campaign=ledger"


def e(text: str) -> str:
    return html.escape(text, quote=False)


def feed_link(art: ArticleSpec) -> str:
    """The article link as the feeds print it (with tracking parameters for some articles)."""
    return B + art.path + (TRACKING_QUERY if art.tracking else "")


def _has_thread(art: ArticleSpec) -> bool:
    return art.comment_system in {"wp", "generic", "jsonld", "disqus"}


def _rss_item(art: ArticleSpec) -> str:
    lines = [
        "<item>",
        f"<title>{e(art.title)}</title>",
        f"<link>{e(feed_link(art))}</link>",
        f"<dc:creator><![CDATA[{', '.join(a.name for a in art.authors)}]]></dc:creator>",
        f"<pubDate>{format_datetime(art.published.astimezone(UTC), usegmt=True)}</pubDate>",
        *(f"<category><![CDATA[{term}]]></category>" for term in dict.fromkeys((art.section, *art.tags))),
        f'<guid isPermaLink="false">{B}/?p={art.wp_id}</guid>',
        f"<description><![CDATA[{art.dek}]]></description>",
    ]
    if _has_thread(art):
        lines.append(f"<comments>{B}{art.path}#comments</comments>")
    if art.comment_feed != "none":
        lines.append(f"<wfw:commentRss>{B}/comments/{art.slug}.xml</wfw:commentRss>")
        lines.append(f"<slash:comments>{len(art.comments)}</slash:comments>")
    lines.append("</item>")
    return "\n".join(lines)


def render_rss(site: SiteSpec, articles: Sequence[ArticleSpec]) -> str:
    newest = sorted(articles, key=lambda a: a.published, reverse=True)
    items = "\n".join(_rss_item(a) for a in newest)
    built = format_datetime(newest[0].modified.astimezone(UTC), usegmt=True)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
<title>{e(site.name)}</title>
<atom:link href="{B}/feed.xml" rel="self" type="application/rss+xml"/>
<link>{B}/</link>
<description>{e(site.tagline)}</description>
<lastBuildDate>{built}</lastBuildDate>
<language>en-GB</language>
<sy:updatePeriod>hourly</sy:updatePeriod>
<sy:updateFrequency>1</sy:updateFrequency>
<generator>https://wordpress.org/?v=6.7.2</generator>
{items}
</channel>
</rss>
"""


def _atom_entry(art: ArticleSpec) -> str:
    authors = "".join(f"<author><name>{e(a.name)}</name><uri>{B}/author/{a.key}/</uri></author>"
                      for a in art.authors)
    replies = ""
    if art.comment_feed != "none":
        replies = (f'\n<link rel="replies" type="application/rss+xml" href="{B}/comments/{art.slug}.xml" '
                   f'thr:count="{len(art.comments)}"/>')
    elif _has_thread(art):
        replies = f'\n<link rel="replies" type="text/html" href="{B}{art.path}#comments"/>'
    tags = "".join(f'<category term="{html.escape(t)}"/>' for t in dict.fromkeys((art.section, *art.tags)))
    return f"""<entry>
<title type="html">{e(art.title)}</title>
<link rel="alternate" type="text/html" href="{html.escape(feed_link(art))}"/>{replies}
<id>{B}/?p={art.wp_id}</id>
<published>{art.published.isoformat()}</published>
<updated>{art.modified.isoformat()}</updated>
{authors}
{tags}
<summary type="html">{e(art.dek)}</summary>
</entry>"""


def render_atom(site: SiteSpec, articles: Sequence[ArticleSpec]) -> str:
    newest = sorted(articles, key=lambda a: a.published, reverse=True)
    entries = "\n".join(_atom_entry(a) for a in newest)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0" xml:lang="en">
<title type="text">{e(site.name)}</title>
<subtitle type="text">{e(site.tagline)}</subtitle>
<updated>{newest[0].modified.isoformat()}</updated>
<link rel="alternate" type="text/html" href="{B}/"/>
<link rel="self" type="application/atom+xml" href="{B}/atom.xml"/>
<id>{B}/atom.xml</id>
<generator uri="https://wordpress.org/" version="6.7.2">WordPress</generator>
{entries}
</feed>
"""
