"""Small fixture news sites for tests: article pages with real-looking chrome, and their feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

__all__ = ["FixtureArticle", "article_html", "rss_feed", "atom_feed", "PARAGRAPHS"]

PARAGRAPHS = [
    "The city council voted on Tuesday to expand the riverside tram line by four stations, ending a debate "
    "that had run for more than two years and divided residents of the old harbour district.",
    "Supporters said the extension would cut commuting times for thousands of workers in the new business "
    "park, while opponents warned that construction would close the market square for most of next summer.",
    "The project is expected to cost about 180 million euros, two thirds of which will come from a regional "
    "transport fund that was created after the floods of the previous decade damaged the old rail bridge.",
    "Engineers told the council that the first trams could run on the new section within three years if "
    "the tender for the tracks is published before the end of the year and no legal challenge is filed.",
    "Residents who attended the meeting asked for a noise study and for the night works to be limited, and "
    "the mayor promised that both requests would be written into the contract with the builders.",
]


@dataclass(frozen=True)
class FixtureArticle:
    slug: str
    title: str
    author: str = "Ana Lima"
    published: str = "2025-03-04T09:30:00+01:00"
    paragraphs: Sequence[str] = field(default_factory=lambda: PARAGRAPHS)
    comments: Sequence[tuple[str, str]] = ()


def article_html(article: FixtureArticle, base_url: str) -> str:
    body = "\n".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    comments = "".join(
        f'<li id="comment-{i}" class="comment"><article class="comment-body"><footer class="comment-meta">'
        f'<div class="comment-author vcard"><b class="fn">{escape(name)}</b> <span class="says">says:</span>'
        f'</div></footer><div class="comment-content"><p>{escape(text)}</p></div></article></li>'
        for i, (name, text) in enumerate(article.comments, start=1)
    )
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(article.title)} | The Fixture Times</title>
<link rel="canonical" href="{base_url}/news/{article.slug}">
<meta property="og:title" content="{escape(article.title)}">
<meta name="author" content="{escape(article.author)}">
<meta property="article:published_time" content="{article.published}">
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li>
</ul></nav></header>
<main><article><h1>{escape(article.title)}</h1>
<p class="byline">By <a href="/authors/x">{escape(article.author)}</a>
<time datetime="{article.published}">4 March 2025</time></p>
{body}
</article>
<section id="comments"><h2>Comments</h2><ol class="comment-list">{comments}</ol></section>
</main>
<aside><h3>Most read</h3><ul><li><a href="/a">Ten things about trams</a></li><li><a href="/b">Bridge reopens</a></li></ul></aside>
<footer><p>Copyright 2025 The Fixture Times. All rights reserved.</p></footer>
</body></html>"""


def rss_feed(items: Sequence[tuple[str, str, str]], title: str = "The Fixture Times") -> str:
    """RSS 2.0 from (link, title, pubDate) triples."""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{pub}</pubDate><dc:creator>Ana Lima</dc:creator></item>"
        for link, t, pub in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>http://example.invalid/</link>"
        f"<description>Fixture</description>{entries}</channel></rss>"
    )


def atom_feed(items: Sequence[tuple[str, str, str]]) -> str:
    """Atom 1.0 from (link, title, updated) triples."""
    entries = "".join(
        f'<entry><title>{escape(t)}</title><link href="{escape(link)}"/><id>{escape(link)}</id>'
        f"<updated>{updated}</updated><author><name>Ana Lima</name></author></entry>"
        for link, t, updated in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Fixture Atom</title><id>urn:fixture</id><updated>2025-03-04T10:00:00Z</updated>{entries}</feed>"
    )
