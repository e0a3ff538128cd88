"""Which comment systems a page uses, and where their comments can be read.

Third-party widgets (Disqus, Facebook, Viafoura, OpenWeb/Spot.IM, Coral, Livefyre, Hyvor, Commento,
Giscus, utterances, ...) load comments with JavaScript, so the HTML holds only a hook. The marker
table below is data, not code: one row per system, most specific markers first. The module also
reads the hooks the collector can follow: the WordPress REST root and post id, the page's own
comment feed link and the Disqus shortname/identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

__all__ = ["DisqusHook", "EMBED_MARKERS", "WordPressHook", "detect_embeds", "disqus_hook", "page_comment_feeds",
           "wordpress_hook"]

# (system, literal needles, regex over the raw HTML). Order is priority when a page carries several
# widgets. Matching runs on the lower-cased page with lower-cased patterns, and a regex only around
# the occurrences of its needles: re.IGNORECASE over a 200 kB page costs about 2 ms a pattern (and
# any alternation of the needles as much), a substring test 0.1 ms. Each regex match holds a needle.
EMBED_MARKERS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (name, needles, re.compile(pattern.lower()))
    for name, needles, pattern in (
        ("disqus", ("disqus",), r"disqus_thread|\.disqus\.com/(?:embed|count)\.js|disqus_shortname|"
                               r"disqus_config|data-disqus-identifier"),
        ("coral", ("coral",), r"coral_thread|Coral\.createStreamEmbed|coral-comments|coralproject|coral-talk"),
        ("viafoura", ("viafoura", "vf-"), r"\bviafoura\b|<vf-conversations|\bvf-comments\b"),
        ("openweb", ("spot.im", "spotim", "spot-im", "openweb", "data-spot-id"),
         r"launcher\.spot\.im|data-spotim-module|\bspot-im\b|\bspotim\b|\bopenweb\b|data-spot-id"),
        ("livefyre", ("livefyre",), r"livefyre"),
        ("facebook", ("fb-comments", "plugins/comments", "fb:comments"),
         r"\bfb-comments\b|facebook\.com/plugins/comments|<fb:comments"),
        ("hyvor", ("hyvor",), r"talk\.hyvor\.com|<hyvor-talk"),
        ("commento", ("commento",), r"cdn\.commento\.io|commento\.js|id=[\"']commento[\"']"),
        ("giscus", ("giscus",), r"giscus\.app"),
        ("utterances", ("utteranc",), r"utteranc\.es"),
        ("intensedebate", ("intensedebate",), r"intensedebate\.com"),
        ("remark42", ("remark42",), r"remark42"),
        ("isso", ("isso",), r"data-isso|/isso/js/embed"),
        ("cusdis", ("cusdis",), r"cusdis\.com|data-cusdis"),
        ("graphcomment", ("graphcomment",), r"graphcomment\.com"),
        ("vuukle", ("vuukle",), r"cdn\.vuukle\.com|vuukle_"),
        ("talkyard", ("talkyard",), r"talkyard"),
    )
)
_SHORTNAME_RES = (
    re.compile(r"disqus_shortname\s*=\s*[\"']([\w-]+)[\"']"),
    re.compile(r"//([\w-]+)\.disqus\.com/(?:embed|count)\.js"),
    re.compile(r"[\"']?shortname[\"']?\s*[:=]\s*[\"']([\w-]+)[\"']"),
)
_IDENT_RES = (
    re.compile(r"disqus_identifier\s*=\s*[\"']([^\"']+)[\"']"),
    re.compile(r"page\.identifier\s*=\s*[\"']([^\"']+)[\"']"),
    re.compile(r"data-disqus-identifier=[\"']([^\"']+)[\"']"),
)
_DISQUS_URL_RES = (
    re.compile(r"disqus_url\s*=\s*[\"']([^\"']+)[\"']"),
    re.compile(r"page\.url\s*=\s*[\"']([^\"']+)[\"']"),
    re.compile(r"data-disqus-url=[\"']([^\"']+)[\"']"),
)
_POST_ID_XPATHS = (
    ("//link[@rel='alternate' and contains(@href,'/wp/v2/posts/')]/@href", re.compile(r"/wp/v2/posts/(\d+)")),
    ("//link[@rel='shortlink']/@href", re.compile(r"[?&]p=(\d+)")),
    ("//body/@class", re.compile(r"\bpostid-(\d+)\b")),
    ("//input[@name='comment_post_ID']/@value", re.compile(r"^(\d+)$")),
    ("//*[@data-postid]/@data-postid", re.compile(r"^(\d+)$")),
    ("//article/@id", re.compile(r"^post-(\d+)$")),
)
_COMMENT_TITLE_RE = re.compile(r"comment|kommentar|commentaire|comentario|commenti|reactie|reacties|opmerking", re.I)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml")


@dataclass(frozen=True, slots=True)
class WordPressHook:
    """Where a WordPress page's REST API lives and which post the page is."""

    api_root: str
    post_id: int


@dataclass(frozen=True, slots=True)
class DisqusHook:
    """The Disqus forum and thread a page embeds."""

    shortname: str | None
    identifier: str | None
    url: str | None


def detect_embeds(html: str) -> tuple[str, ...]:
    """The third-party comment systems a page embeds, in priority order."""
    # The markers are ASCII: lower-casing through ASCII bytes (other characters become "?", so
    # positions hold) costs a quarter of str.lower() on a page with any non-ASCII character.
    lowered = html.encode("ascii", "replace").lower().decode("ascii")
    return tuple(name for name, needles, pattern in EMBED_MARKERS if _has_marker(lowered, needles, pattern))


# Every marker regex matches a span that holds one of its needles and is shorter than this.
_MARKER_SPAN = 64


def _has_marker(lowered: str, needles: tuple[str, ...], pattern: re.Pattern[str]) -> bool:
    """``pattern.search(lowered)``, run only around the needles' occurrences.

    A regex opening with ``\\b`` gets no literal-prefix scan from ``re``: over a 200 kB page it takes
    ~15 ms, and short needles such as "vf-" occur on many pages that embed nothing.
    """
    for needle in needles:
        at = lowered.find(needle)
        while at != -1:
            near = pattern.search(lowered, max(0, at - _MARKER_SPAN), at + len(needle) + _MARKER_SPAN)
            if near and pattern.match(lowered, near.start()):  # the window end may fake a \b: recheck
                return True
            at = lowered.find(needle, at + 1)
    return False


def _first_match(patterns: tuple[re.Pattern[str], ...], html: str) -> str | None:
    for pattern in patterns:
        match = pattern.search(html)
        if match:
            return match.group(1)
    return None


def disqus_hook(html: str, page_url: str) -> DisqusHook:
    """The Disqus shortname, identifier and canonical thread URL a page configures."""
    url = _first_match(_DISQUS_URL_RES, html)
    return DisqusHook(
        shortname=_first_match(_SHORTNAME_RES, html),
        identifier=_first_match(_IDENT_RES, html),
        url=urljoin(page_url, url) if url else None,
    )


def wordpress_hook(root: lxml.html.HtmlElement, page_url: str) -> WordPressHook | None:
    """The REST root (``<link rel="https://api.w.org/">``) and post id of a WordPress page, if both are known."""
    roots = root.xpath("//link[@rel='https://api.w.org/']/@href")
    if not roots:
        return None
    for xpath, pattern in _POST_ID_XPATHS:
        for value in root.xpath(xpath):
            match = pattern.search(str(value))
            if match:
                return WordPressHook(api_root=urljoin(page_url, str(roots[0])), post_id=int(match.group(1)))
    return None


def page_comment_feeds(root: lxml.html.HtmlElement, page_url: str) -> list[str]:
    """The page's own comment feed links (``<link rel="alternate" ... title="... Comments Feed">``).

    A site-wide comments feed (``/comments/feed/``) is not this article's thread and is skipped.
    """
    page = urlsplit(page_url)
    page_path = page.path.rstrip("/")
    feeds: list[str] = []
    for link in root.xpath("//link[contains(concat(' ',@rel,' '),' alternate ')][@href]"):
        if (link.get("type") or "").lower() not in _FEED_TYPES:
            continue
        href = urljoin(page_url, link.get("href"))
        target = urlsplit(href)
        under_page = bool(page_path) and target.path.rstrip("/").startswith(page_path + "/")
        same_query = bool(page.query) and page.query in target.query
        titled = bool(_COMMENT_TITLE_RE.search(link.get("title") or ""))
        if (under_page or (titled and same_query)) and href not in feeds:
            feeds.append(href)
    return feeds
