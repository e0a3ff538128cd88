"""Read feeds: fetch each feed (conditionally), parse RSS/Atom/RDF/JSON Feed, emit one FeedEntry per item.

``parse_feed`` and ``poll_feed`` are the plain functions; ``ReadFeeds`` keys the feeds by host (so
one client, and one host gate, polls all feeds of a host on any number of workers) and routes every
failure (unreachable feed, malformed XML, unsafe entities) to the failures output.
"""

from __future__ import annotations

import calendar
import json
import logging
import time
import xml.sax
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import apache_beam as beam
import defusedxml.sax
from apache_beam.io.filesystems import FileSystems
import feedparser
from defusedxml import DefusedXmlException

from pipeline.config import FetchConfig
from schemas.records import FeedEntry, FeedSpec
from transforms.errors import IngestError, ParseError
from transforms.failures import FAILURES, failure_from_error
from transforms.http import FEED_TYPES, HttpClient, HttpResponse
from transforms.politeness import host_key
from transforms.urls import canonicalize_url, stable_id
from transforms.warc import WarcRecorder

__all__ = [
    "FeedPoll", "PrefetchedFeed", "ReadFeeds", "Validators", "check_xml_safety", "get_feed", "parse_feed", "poll_feed",
    "read_prefetched",
]

LOGGER = logging.getLogger(__name__)
FEED_STATE = "feed_state"

_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, */*;q=0.5"
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
    seconds: float = 0.0


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


class _PrologDone(Exception):
    """Raised at the root element: everything that can declare entities has been read."""


class _StopAtRoot(xml.sax.ContentHandler):
    def startElement(self, name: str, attrs: object) -> None:
        raise _PrologDone

    def startElementNS(self, name: object, qname: object, attrs: object) -> None:
        raise _PrologDone


def check_xml_safety(content: bytes) -> None:
    """Refuse documents that declare entities or reference external ones (entity bombs, XXE).

    defusedxml's expat reader raises on any entity declaration; reading stops at the root element,
    so the cost is the prolog only. A prolog too broken for expat is left to feedparser's lenient
    parser, which never expands declared entities.

    Raises:
        ParseError: kind ``unsafe_xml``.
    """
    try:
        # forbid_external=False keeps RSS 0.91's external DTD acceptable: the stdlib reader never
        # loads external entities (feature_external_ges is off), and every declaration is refused.
        defusedxml.sax.parseString(content, _StopAtRoot(), forbid_dtd=False, forbid_entities=True,
                                   forbid_external=False)
    except _PrologDone:
        return
    except DefusedXmlException as exc:
        raise ParseError(f"the feed declares XML entities, which are refused (entity bombs, XXE): {exc}",
                         kind="unsafe_xml") from exc
    except xml.sax.SAXException:
        return


def _parse_xml_feed(content: bytes, feed_url: str, content_type: str | None) -> list[FeedEntry]:
    check_xml_safety(content)
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


def _conditional_headers(previous: Validators) -> dict[str, str]:
    headers = {"Accept": _FEED_ACCEPT}
    if previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    return headers


def get_feed(client: HttpClient, spec: FeedSpec, previous: Validators | None = None) -> HttpResponse:
    """One conditional GET of a feed: 304 when it is unchanged since ``previous``.

    Raises:
        FetchError: the feed could not be fetched.
    """
    return client.get(spec.url, accept=FEED_TYPES, headers=_conditional_headers(previous or Validators(spec.url)),
                      min_interval_s=spec.min_interval_s, max_in_flight=spec.max_in_flight)


def poll_feed(client: HttpClient, spec: FeedSpec,
              previous: Validators | None = None) -> tuple[FeedPoll, list[FeedEntry]]:
    """Poll one feed with a conditional GET: an unchanged feed costs one 304 and yields no entries.

    Raises:
        IngestError: the feed could not be fetched or parsed.
    """
    previous = previous or Validators(spec.url)
    started = time.monotonic()
    response = get_feed(client, spec, previous)
    if response.status == 304:
        return FeedPoll(previous, not_modified=True, entries=0, seconds=time.monotonic() - started), []
    entries = parse_feed(response.content, feed_url=spec.url, content_type=response.headers.get("content-type"))
    validators = Validators(spec.url, response.headers.get("etag"), response.headers.get("last-modified"))
    return FeedPoll(validators, not_modified=False, entries=len(entries), seconds=time.monotonic() - started), entries


@dataclass(frozen=True, slots=True)
class PrefetchedFeed:
    """A feed body the driver already fetched (``pipeline.preflight``), kept for the pipeline to parse."""

    path: str
    content_type: str | None
    validators: Validators
    seconds: float


def read_prefetched(prefetched: PrefetchedFeed) -> tuple[FeedPoll, list[FeedEntry]]:
    """Parse a prefetched feed body: the same result ``poll_feed`` gives, without a second request.

    Raises:
        ParseError: the feed is malformed, unsafe or not a feed.
    """
    with FileSystems.open(prefetched.path) as handle:
        content = handle.read()
    feed_url = prefetched.validators.feed_url
    entries = parse_feed(content, feed_url=feed_url, content_type=prefetched.content_type)
    return FeedPoll(prefetched.validators, not_modified=False, entries=len(entries), seconds=prefetched.seconds), entries


class _ReadHostFeedsFn(beam.DoFn):
    """Polls the feeds of one host, one after another; failures and feed state are tagged outputs."""

    def __init__(self, fetch_config: FetchConfig, validators: Mapping[str, Validators],
                 prefetched: Mapping[str, PrefetchedFeed]) -> None:
        self._fetch_config = fetch_config
        self._validators = dict(validators)
        self._prefetched = dict(prefetched)
        self._client: HttpClient | None = None
        self._warc: WarcRecorder | None = None

    def setup(self) -> None:
        config = self._fetch_config
        self._warc = WarcRecorder(config.warc_dir) if config.warc_dir else None
        self._client = HttpClient(config, on_response=self._warc.record if self._warc else None)

    def teardown(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._warc is not None:
            self._warc.commit()

    def finish_bundle(self) -> None:
        if self._warc is not None:
            self._warc.commit()

    def process(self, host_specs: tuple[str, Iterable[FeedSpec]]) -> Iterator[Any]:
        assert self._client is not None
        for spec in sorted(host_specs[1], key=lambda s: s.url):
            try:
                if spec.url in self._prefetched:
                    poll, entries = read_prefetched(self._prefetched[spec.url])
                else:
                    poll, entries = poll_feed(self._client, spec, self._validators.get(spec.url))
            except IngestError as exc:
                LOGGER.warning("feed %s failed: %s", spec.url, exc)
                yield beam.pvalue.TaggedOutput(FAILURES, failure_from_error(spec.url, "feed", exc, feed_url=spec.url))
                continue
            yield beam.pvalue.TaggedOutput(FEED_STATE, poll)
            yield from entries


def _host_of_spec(spec: FeedSpec) -> tuple[str, FeedSpec]:
    return host_key(spec.url), spec


class ReadFeeds(beam.PTransform):  # type: ignore[misc]
    """Polls feeds and emits their entries.

    Input: ``PCollection[FeedSpec]``. Outputs (``DoOutputsTuple``): main ``FeedEntry``,
    ``failures`` (``Failure``) and ``feed_state`` (``FeedPoll``, the validators to keep).

    Args:
        fetch_config: the fetch stage's options.
        validators: conditional-GET validators from the previous run, by feed URL.
        prefetched: feeds the driver already fetched, by feed URL: parsed from their stored
            body instead of being requested again.
    """

    def __init__(self, fetch_config: FetchConfig, validators: Mapping[str, Validators] | None = None,
                 prefetched: Mapping[str, PrefetchedFeed] | None = None) -> None:
        super().__init__()
        self._fetch_config = fetch_config
        self._validators = dict(validators or {})
        self._prefetched = dict(prefetched or {})

    def expand(self, specs: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            specs
            | "KeyFeedsByHost" >> beam.Map(_host_of_spec)
            | "GroupFeedsByHost" >> beam.GroupByKey()
            | "PollFeed" >> beam.ParDo(_ReadHostFeedsFn(self._fetch_config, self._validators, self._prefetched)).with_outputs(
                FAILURES, FEED_STATE, main="entries")
        )
