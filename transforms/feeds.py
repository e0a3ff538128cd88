"""Read feeds: fetch each feed (conditionally), parse RSS/Atom/RDF/JSON Feed, emit one FeedEntry per item.

``parse_feed`` is the plain function; ``ReadFeeds`` wires it with the HTTP client and routes every
failure (unreachable feed, malformed XML, unsafe entities) to the failures output.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import xml.sax
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import apache_beam as beam
import feedparser

from pipeline.config import FetchConfig
from schemas.records import FeedEntry, FeedSpec
from transforms.errors import FetchError, IngestError, ParseError
from transforms.failures import FAILURES, failure_from_error
from transforms.http import FEED_TYPES, HttpClient
from transforms.urls import canonicalize_url, stable_id

__all__ = ["FeedPoll", "ReadFeeds", "Validators", "parse_feed"]

LOGGER = logging.getLogger(__name__)
FEED_STATE = "feed_state"

# Entity declarations are how XML bombs and external-entity attacks start; no real feed needs them.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_COMMENT_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")


@dataclass(frozen=True, slots=True)
class Validators:
    """Conditional-GET validators of one feed, kept between runs."""

    feed_url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """What polling one feed gave: its new validators and whether it was unchanged (304)."""

    validators: Validators
    not_modified: bool
    entries: int


def _to_utc(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)


def _http_url(candidate: str | None, base: str) -> str | None:
    if not candidate:
        return None
    absolute = urljoin(base, candidate.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _entry_authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    names = [a.get("name", "").strip() for a in entry.get("authors") or [] if isinstance(a, Mapping)]
    if not any(names) and entry.get("author"):
        names = [str(entry["author"]).strip()]
    return tuple(dict.fromkeys(n for n in names if n))


def _comment_hints(entry: Mapping[str, Any], base: str) -> tuple[str | None, str | None]:
    feed_url = _http_url(entry.get("wfw_commentrss"), base)
    page_url = _http_url(entry.get("comments"), base)
    for link in entry.get("links") or []:
        if link.get("rel") == "replies":
            if link.get("type", "") in _COMMENT_FEED_TYPES:
                feed_url = feed_url or _http_url(link.get("href"), base)
            else:
                page_url = page_url or _http_url(link.get("href"), base)
    return feed_url, page_url


def _make_entry(feed_url: str, link: str, **fields: Any) -> FeedEntry:
    canonical = canonicalize_url(link)
    return FeedEntry(feed_url=feed_url, url=link, canonical_url=canonical, article_id=stable_id(canonical), **fields)


def _parse_xml_feed(content: bytes, feed_url: str, content_type: str | None) -> list[FeedEntry]:
    if _ENTITY_DECLARATION.search(content[:65536]):
        raise ParseError("the feed declares XML entities, which are refused (entity bombs, XXE)", kind="unsafe_xml")
    # Without a content type feedparser flags every document as bozo; XML is what we were given.
    headers = {"content-location": feed_url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    if not parsed.version and not parsed.entries:
        raise ParseError("not a feed (no RSS, Atom, RDF or JSON Feed found)", kind="not_a_feed")
    entries = []
    for item in parsed.entries:
        link = _http_url(item.get("link"), feed_url) or _http_url(item.get("id"), feed_url)
        if link is None:
            continue
        comments_feed, comments_page = _comment_hints(item, feed_url)
        entries.append(_make_entry(
            feed_url, link, title=item.get("title") or None, authors=_entry_authors(item),
            published_at=_to_utc(item.get("published_parsed") or item.get("updated_parsed")),
            summary=item.get("summary") or None, comments_feed_url=comments_feed, comments_page_url=comments_page,
        ))
    # feedparser is lenient (bozo) by design; a broken feed that still yields linked entries is kept.
    if parsed.bozo and not entries and isinstance(parsed.bozo_exception, xml.sax.SAXException):
        raise ParseError(f"malformed feed: {parsed.bozo_exception}", kind="malformed_feed")
    return entries


def _parse_json_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _parse_json_feed(content: bytes, feed_url: str) -> list[FeedEntry]:
    # feedparser 6 does not read JSON Feed (jsonfeed.org); its format is small enough to map by hand.
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"malformed JSON feed: {exc}", kind="malformed_feed") from exc
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise ParseError("JSON document is not a JSON Feed", kind="not_a_feed")
    entries = []
    for item in document.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = _http_url(item.get("url") or item.get("external_url"), feed_url)
        if link is None:
            continue
        people = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        authors = tuple(p["name"].strip() for p in people if isinstance(p, dict) and p.get("name"))
        entries.append(_make_entry(
            feed_url, link, title=item.get("title") or None, authors=authors,
            published_at=_parse_json_datetime(item.get("date_published") or item.get("date_modified")),
            summary=item.get("summary") or item.get("content_text") or None,
        ))
    return entries


def parse_feed(content: bytes, *, feed_url: str, content_type: str | None = None) -> list[FeedEntry]:
    """Parse one feed document into entries with canonical URLs and stable article ids.

    Raises:
        ParseError: the document is malformed, unsafe, or not a feed at all.
    """
    if content.lstrip()[:1] == b"{":
        return _parse_json_feed(content, feed_url)
    return _parse_xml_feed(content, feed_url, content_type)


class _ReadFeedFn(beam.DoFn):
    """Polls one feed: conditional GET, parse, one output per entry; failures and state are tagged."""

    def __init__(self, fetch_config: FetchConfig, validators: Mapping[str, Validators]) -> None:
        self._fetch_config = fetch_config
        self._validators = dict(validators)
        self._client: HttpClient | None = None

    def setup(self) -> None:
        self._client = HttpClient(self._fetch_config)

    def teardown(self) -> None:
        if self._client is not None:
            self._client.close()

    def process(self, spec: FeedSpec) -> Iterator[Any]:
        assert self._client is not None
        previous = self._validators.get(spec.url, Validators(spec.url))
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/feed+json, */*;q=0.5"}
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        try:
            response = self._client.get(spec.url, accept=FEED_TYPES, headers=headers,
                                        min_interval_s=spec.min_interval_s)
            if response.status == 304:
                yield beam.pvalue.TaggedOutput(FEED_STATE, FeedPoll(previous, not_modified=True, entries=0))
                return
            entries = parse_feed(response.content, feed_url=spec.url, content_type=response.headers.get("content-type"))
        except IngestError as exc:
            LOGGER.warning("feed %s failed: %s", spec.url, exc)
            yield beam.pvalue.TaggedOutput(FAILURES, failure_from_error(spec.url, "feed", exc, feed_url=spec.url))
            return
        validators = Validators(spec.url, response.headers.get("etag"), response.headers.get("last-modified"))
        yield beam.pvalue.TaggedOutput(FEED_STATE, FeedPoll(validators, not_modified=False, entries=len(entries)))
        yield from entries


class ReadFeeds(beam.PTransform):  # type: ignore[misc]
    """Polls feeds and emits their entries.

    Input: ``PCollection[FeedSpec]``. Outputs (``DoOutputsTuple``): main ``FeedEntry``,
    ``failures`` (``Failure``) and ``feed_state`` (``FeedPoll``, the validators to keep).

    Args:
        fetch_config: the fetch stage's options.
        validators: conditional-GET validators from the previous run, by feed URL.
    """

    def __init__(self, fetch_config: FetchConfig, validators: Mapping[str, Validators] | None = None) -> None:
        super().__init__()
        self._fetch_config = fetch_config
        self._validators = dict(validators or {})

    def expand(self, specs: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return specs | "PollFeed" >> beam.ParDo(_ReadFeedFn(self._fetch_config, self._validators)).with_outputs(
            FAILURES, FEED_STATE, main="entries"
        )
