"""URL canonicalisation, stable ids and path-safe names."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urldefrag, urlsplit

import courlan
import lxml.html

__all__ = ["canonical_url_of", "canonicalize_url", "path_safe", "source_of", "stable_id"]

_UNSAFE_PATH_CHARS = re.compile(r"[^a-z0-9._-]+")


def canonicalize_url(url: str) -> str:
    """Normalise a URL so that spellings of one page compare equal.

    courlan lower-cases scheme and host, drops default ports, tracking parameters (utm_*, fbclid,
    ...) and sorts the query; we also drop the fragment, which never names a different article.
    """
    url = url.strip()
    try:
        normalized = courlan.normalize_url(url)
    except ValueError:
        normalized = url
    return urldefrag(normalized)[0]


def stable_id(*parts: str) -> str:
    """A short, stable hex id of the given strings (blake2b, 128 bits)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def path_safe(value: str, *, default: str = "unknown") -> str:
    """A string safe as one directory name on every filesystem and object store."""
    cleaned = _UNSAFE_PATH_CHARS.sub("_", value.lower()).strip("._")
    return cleaned[:120] or default


def source_of(url: str) -> str:
    """The ``source`` value of an article: its host name (no port, no ``www.``), path-safe."""
    host = urlsplit(url).hostname or ""
    if host.startswith("www."):
        host = host[4:]
    return path_safe(host)


_CANONICAL_PLACES = (('//link[@rel="canonical"]/@href', "link-canonical"), ('//meta[@property="og:url"]/@content', "og:url"))


def canonical_url_of(tree: lxml.html.HtmlElement, page_url: str) -> tuple[str, str]:
    """A page's canonical URL and where it came from: ``rel=canonical``, else ``og:url``, else its own URL.

    A canonical on another host is not trusted: a page must not be able to claim another site's id.
    """
    for xpath, place in _CANONICAL_PLACES:
        for href in tree.xpath(xpath)[:1]:
            candidate = canonicalize_url(lxml.html.urljoin(page_url, href.strip()))
            if source_of(candidate) == source_of(page_url):
                return candidate, place
    return canonicalize_url(page_url), "fetched-url"
