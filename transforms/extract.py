"""Extract articles: cleaned trafilatura text, never the comments, plus metadata with provenance.

``extract_article`` is the plain function (RawPage in, Article or Rejection out); ``ExtractArticles``
wires it and routes rejections and errors to the failures output. One page is parsed once:

    parse -> read metadata (transforms.metadata) -> is it an article? -> remember a lead set beside
    the body (transforms.lead) -> prune comments and widgets (transforms.cleanup) -> note the link
    density of blocks with links -> trafilatura bare_extraction -> drop leftover chrome blocks ->
    text, one paragraph per line, the lead on top when trafilatura left it out -> detect language
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
import lxml.html

with warnings.catch_warnings():
    # trafilatura probes urllib3's optional SOCKS support at import, which warns when PySocks is absent.
    warnings.filterwarnings("ignore", message="SOCKS support in urllib3")
    import trafilatura
from trafilatura.settings import Extractor
from trafilatura.xml import xmltotxt

from pipeline.config import ExtractConfig
from schemas.arrow import SCHEMA_VERSION, utc_date
from schemas.records import Article, RawPage, Rejection
from transforms.cleanup import clean_blocks, dedupe_lines, link_shares, normalize_line, prune_page
from transforms.htmltree import parse_page
from transforms.lead import find_lead
from transforms.failures import FAILURES, failure_from_rejection
from transforms.metadata import ARTICLE_TYPES, PageMetadata, add_htmldate, detect_language, read_page_metadata
from transforms.urls import canonical_url_of, source_of, stable_id

__all__ = ["ExtractArticles", "extract_article", "make_extractor", "not_article_reason", "text_stats"]

LOGGER = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"[ \t\u00a0]+")
_LISTING_PATH = re.compile(
    r"/(?:tags?|topics?|themen|thema|category|categories|kategorie|rubrik|section|sections|author|authors|autor"
    r"|archive|archives|search|suche)(?:/|$)", re.IGNORECASE,
)
_GALLERY_PATH = re.compile(r"/(?:gallery|galleries|photos|fotos|slideshow|bildergalerie|photo-?gallery|pictures)\b",
                           re.IGNORECASE)
_TEASERS = lxml.etree.XPath("count(//article) + count(//h2[a] | //h3[a] | //h4[a])")
_PROSE = lxml.etree.XPath("count(//p[string-length(normalize-space()) > 300])")
_COLLECTION_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage"})
# Pages about the site, not news: the whole last path segment names one (file extension allowed).
_SITE_PAGE_PATH = re.compile(
    r"/(?:about(?:-?us)?|who-?we-?are|our-?team|team|contact(?:-?us)?|kontakt|privacy(?:-?policy|-?notice)?|"
    r"cookies?(?:-?policy)?|data-?protection|datenschutz(?:erklaerung|erklärung)?|terms(?:-?of-?(?:use|service))?|"
    r"terms-?and-?conditions|tos|legal(?:-?notice)?|imprint|impressum|disclaimer|accessibility|sitemap|"
    r"advertise|advertising|careers|jobs|ueber-?uns|über-?uns|a-?propos|qui-?sommes-?nous|mentions-?legales|"
    r"contacto|sobre(?:-?nosotros|-?nos)?|aviso-?legal|privacidad|chi-?siamo|contatti|note-?legali)"
    r"(?:\.\w{2,5})?/?$", re.IGNORECASE,
)
_SITE_PAGE_TYPES = frozenset({"AboutPage", "ContactPage"})
_GALLERY_TYPES = frozenset({"ImageGallery", "MediaGallery"})


def make_extractor(config: ExtractConfig) -> Extractor:
    """The one trafilatura options object, built once per DoFn.

    Metadata is read by ``transforms.metadata`` instead, with provenance.
    """
    return Extractor(
        output_format="python", comments=False, tables=config.include_tables, precision=config.favor_precision,
        with_metadata=False, dedup=False, fast=not config.backup_extractors,
    )


def not_article_reason(tree: lxml.html.HtmlElement, url: str, meta: PageMetadata) -> str | None:
    """``index``, ``tag``, ``gallery`` or ``site_page`` when the page's evidence says it is not one article.

    Structured data (JSON-LD type, og:type), the URL's shape and the number of teaser blocks
    (headline links, <article> cards) are weighed together; a page typed as an article is only
    ever rejected as a gallery, and only when it also has little prose. ``site_page`` is a page
    about the site (about, contact, privacy, terms, imprint): JSON-LD ``AboutPage``/``ContactPage``,
    or a URL whose last segment names one on a page with no article type and no stated date.
    """
    typed = bool(meta.jsonld_types & ARTICLE_TYPES) or (meta.og_type or "").lower() == "article"
    path = urlsplit(url).path if url else None
    teasers = int(_TEASERS(tree))
    if meta.jsonld_types & _GALLERY_TYPES or (path and _GALLERY_PATH.search(path)):
        words = len(" ".join(tree.xpath("//p//text()")).split())
        if len(tree.xpath("//img")) >= 5 and words < 150:
            return "gallery"
    if meta.jsonld_types & _SITE_PAGE_TYPES and not typed:
        return "site_page"
    if typed:
        return None
    if path and _SITE_PAGE_PATH.search(path) and not _dated(meta, path):
        return "site_page"  # about/contact/privacy/terms/imprint: untyped, undated, named so by its URL
    if _PROSE(tree) > 3:
        return None  # several long paragraphs: one article, whatever the sidebars hold
    if path is not None and _LISTING_PATH.search(path) and teasers >= 5:
        return "tag"
    if path in ("", "/") and teasers >= 3 or meta.jsonld_types & _COLLECTION_TYPES:
        return "index"
    return "index" if teasers >= 12 and path is not None and _section_path(path) else None


def _dated(meta: PageMetadata, path: str) -> bool:
    """Whether the page states a publication date (structured data, meta tags or a dated URL): news does."""
    place = meta.sources.get("published_at", "")
    return place not in ("", "htmldate", "time") or bool(re.search(r"/(?:19|20)\d{2}/", path))


def _section_path(path: str) -> bool:
    """A short, slug-free, id-free path ("/world", "/sport/football/"): the shape of a section front."""
    segments = [s for s in path.split("/") if s]
    return len(segments) <= 2 and not any(ch.isdigit() for ch in path) and all(s.count("-") <= 1 for s in segments)


def _parse(html: str) -> lxml.html.HtmlElement:
    """The page tree, parsed once the way trafilatura parses (its parser options and repairs)."""
    tree = parse_page(html)
    if tree is None:
        raise ValueError("not HTML")
    return tree


def _clean_text(text: str) -> str:
    lines = (_WHITESPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _body_text(document: Any, title: str | None, shares: dict[str, float] | None) -> str:
    if shares is not None and document.body is not None:
        clean_blocks(document.body, title=title, shares=shares)
        text = _clean_text(xmltotxt(document.body, False))
        return "\n".join(dedupe_lines(text.split("\n")))
    return _clean_text(document.text or "")


def text_stats(text: str) -> tuple[int, str]:
    """(word count, content hash) of an article text: recomputed whenever the text changes."""
    return len(text.split()), hashlib.sha256(text.encode("utf-8")).hexdigest()


def _drop_title_line(text: str, title: str | None) -> str:
    first, _, rest = text.partition("\n")
    return rest if title and normalize_line(first) == normalize_line(title) else text


def _with_lead(text: str, lead: str | None) -> str:
    """The text with the page's lead on top when trafilatura left it out (it sat beside the body)."""
    if not lead or not text.strip() or normalize_line(lead) in normalize_line(text):
        return text
    return f"{lead}\n{text}"


def _fill_from_feed(meta: PageMetadata, page: RawPage) -> None:
    meta.set("published_at", page.entry.published_at, "feed")
    meta.set("authors", page.entry.authors, "feed")
    meta.set("title", page.entry.title, "feed")


def extract_article(
    page: RawPage, config: ExtractConfig, extractor: Extractor | None = None, *, now: datetime | None = None
) -> Article | Rejection:
    """Extract the article of one fetched page.

    Returns:
        The ``Article`` row, or a ``Rejection`` with a reason code (``unparsable``, ``no_body``,
        ``too_short``, ``not_article:index``, ``not_article:tag``, ``not_article:gallery``,
        ``not_article:site_page``) when the
        page holds no usable article.
    """
    try:
        tree = _parse(page.html)
    except ValueError as exc:
        return Rejection(page.final_url, "unparsable", f"HTML could not be parsed: {exc}")
    canonical, canonical_place = canonical_url_of(tree, page.final_url)  # before trafilatura, which prunes
    meta = read_page_metadata(tree, page.final_url, now=now, use_htmldate=False)
    _fill_from_feed(meta, page)
    if meta.published_at is None:
        add_htmldate(tree, page.final_url, meta, now)  # the slow last resort
    reason = not_article_reason(tree, page.final_url, meta) if config.reject_non_articles else None
    if reason:
        kind = "page about the site (about, contact, legal)" if reason == "site_page" else f"{reason} page"
        return Rejection(page.final_url, f"not_article:{reason}", f"the page looks like a {kind}")
    shares = lead = None
    if config.clean:
        lead = find_lead(tree, meta.description)
        prune_page(tree)
        shares = link_shares(tree)
    options = extractor or make_extractor(config)
    options.url = page.final_url  # bare_extraction reads the URL from the options object when given one
    document = trafilatura.bare_extraction(tree, options=options)
    text = _drop_title_line(_body_text(document, meta.title, shares), meta.title) if document else ""
    text = _with_lead(text, lead)
    if not text.strip():
        return Rejection(page.final_url, "no_body", "no article body found in the page")
    word_count, content_hash = text_stats(text)
    if word_count < config.min_words:
        return Rejection(page.final_url, "too_short", f"{word_count} words, fewer than {config.min_words}")
    return _article(page, meta, canonical, canonical_place, text)


def _article(page: RawPage, meta: PageMetadata, canonical: str, canonical_place: str, text: str) -> Article:
    language, language_place = detect_language(text, meta.declared_language)
    sources = {**meta.sources, "canonical_url": canonical_place}
    if language:
        sources["language"] = language_place
    word_count, content_hash = text_stats(text)
    return Article(
        article_id=stable_id(canonical), url=page.entry.url, canonical_url=canonical, feed_url=page.entry.feed_url,
        title=meta.title, authors=meta.authors, published_at=meta.published_at, fetched_at=page.fetched_at,
        language=language, text=text, word_count=word_count, content_hash=content_hash,
        schema_version=SCHEMA_VERSION, date=utc_date(meta.published_at or page.fetched_at),
        source=source_of(canonical), modified_at=meta.modified_at, description=meta.description,
        section=meta.section, tags=meta.tags, image_url=meta.image_url, is_paywalled=meta.is_paywalled,
        metadata_sources=tuple(sorted((k, v) for k, v in sources.items() if k not in ("site_name",))),
    )


class _ExtractArticleFn(beam.DoFn):
    def __init__(self, config: ExtractConfig) -> None:
        self._config = config
        self._extractor: Extractor | None = None
        self._articles = beam.metrics.Metrics.counter("extract", "articles")
        self._rejected = beam.metrics.Metrics.counter("extract", "rejected")

    def setup(self) -> None:
        self._extractor = make_extractor(self._config)
        detect_language("warm up the language model once per worker, not on the first page")

    def process(self, page: RawPage) -> Iterator[Any]:
        result = extract_article(page, self._config, self._extractor)
        if isinstance(result, Rejection):
            self._rejected.inc()
            beam.metrics.Metrics.counter("extract", f"rejected_{result.reason.replace(':', '_')}").inc()
            yield beam.pvalue.TaggedOutput(
                FAILURES, failure_from_rejection(result, stage="extract", feed_url=page.entry.feed_url)
            )
            return
        self._articles.inc()
        yield result


class ExtractArticles(beam.PTransform):  # type: ignore[misc]
    """Turns fetched pages into article rows.

    Input: ``PCollection[RawPage]``. Outputs: main ``Article``, ``failures`` (rejections as
    ``rejected:<reason>``).

    Args:
        config: the extract stage's options.
    """

    def __init__(self, config: ExtractConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, pages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return pages | "ExtractArticle" >> beam.ParDo(_ExtractArticleFn(self._config)).with_outputs(
            FAILURES, main="articles"
        )
