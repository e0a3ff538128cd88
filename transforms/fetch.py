"""Fetch article pages politely: keyed by host, hosts fetched concurrently, each host at its own pace.

Entries are grouped by host so that one DoFn instance owns all requests to a host; the per-host
interval and in-flight limit therefore hold on any number of workers. Inside a worker, hosts are
fetched by a bounded thread pool so that one slow site does not hold up the others; a host whose
limit allows N requests in flight gets N lanes. Results are handed back through a bounded queue so
memory stays flat however many pages a host has.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.config import FetchConfig
from schemas.records import FeedEntry, RawPage
from transforms.comments.collect import CommentsConfig
from transforms.comments.stage import attach_comments
from transforms.errors import IngestError
from transforms.failures import FAILURES, failure_from_error
from transforms.http import HTML_TYPES, HttpClient
from transforms.politeness import host_key
from transforms.urls import source_of
from transforms.warc import WarcRecorder

__all__ = ["FetchPages", "HOST_TIME", "HostTime", "fetch_page"]

HOST_TIME = "host_time"

LOGGER = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """The fetch stage's config plus the per-feed politeness overrides."""

    config: FetchConfig
    feed_intervals: Mapping[str, float]
    host_workers: int = 8
    comments: CommentsConfig | None = None
    feed_limits: Mapping[str, int] = field(default_factory=dict)

    def host_limit(self, entries: Iterable[FeedEntry]) -> int:
        """Requests in flight for a host: the smallest per-feed limit among its entries' feeds."""
        limits = [self.feed_limits[e.feed_url] for e in entries if e.feed_url in self.feed_limits]
        return min(limits, default=self.config.max_in_flight_per_host)


@dataclass(frozen=True, slots=True)
class HostTime:
    """Wall time spent fetching one host's pages in one worker (for the run report)."""

    source: str
    pages: int
    seconds: float


def fetch_page(client: HttpClient, entry: FeedEntry, *, min_interval_s: float | None = None,
               max_in_flight: int | None = None) -> RawPage:
    """Fetch one article page and decode it.

    Raises:
        FetchError: the page could not be fetched or is not HTML.
    """
    response = client.get(entry.url, accept=HTML_TYPES, min_interval_s=min_interval_s, max_in_flight=max_in_flight,
                          headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"})
    return RawPage(
        entry=entry, final_url=response.url, status=response.status, html=response.text,
        fetched_at=response.fetched_at, content_type=response.content_type,
    )


class _BundleAbandoned(Exception):
    """Raised in a fetch thread whose bundle was abandoned (a later step failed, or teardown)."""


@dataclass(frozen=True, slots=True)
class _Bundle:
    """One bundle's bounded result queue and its stop flag, shared with the fetch threads."""

    results: queue.Queue[Any]
    stop: threading.Event

    def put(self, item: Any) -> None:
        # Bounded, so memory stays flat when the consumer falls behind; but never blocked for good.
        while not self.stop.is_set():
            try:
                self.results.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise _BundleAbandoned()

    def put_end(self) -> None:
        try:
            self.put(_DONE)
        except _BundleAbandoned:
            pass


class _FetchHostFn(beam.DoFn):
    """Fetches the entries of one host per element, several hosts at a time on a thread pool."""

    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._client: HttpClient | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._bundle: _Bundle | None = None
        self._warc: WarcRecorder | None = None
        self._requests = beam.metrics.Metrics.counter("fetch", "requests")
        self._failures = beam.metrics.Metrics.counter("fetch", "failures")

    def setup(self) -> None:
        config = self._settings.config
        self._warc = WarcRecorder(config.warc_dir) if config.warc_dir else None
        self._client = HttpClient(config, on_response=self._warc.record if self._warc else None)
        self._pool = ThreadPoolExecutor(max_workers=self._settings.host_workers, thread_name_prefix="fetch")

    def teardown(self) -> None:
        # A later step may have failed mid-bundle: nothing drains the queue any more, so tell the
        # fetch threads to stop instead of waiting for them to put their results.
        if self._bundle is not None:
            self._bundle.stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._warc is not None:
            self._warc.commit()

    def start_bundle(self) -> None:
        if self._bundle is not None:
            self._bundle.stop.set()  # threads of an abandoned bundle must not feed this one
        self._bundle = _Bundle(queue.Queue(maxsize=4 * self._settings.host_workers), threading.Event())
        self._pending: list[Future[None]] = []
        self._running = 0  # host jobs submitted whose end marker has not been read yet

    def _fetch_one(self, entry: FeedEntry, limit: int, put: Callable[[Any], None]) -> None:
        assert self._client is not None
        interval = self._settings.feed_intervals.get(entry.feed_url)
        try:
            page = fetch_page(self._client, entry, min_interval_s=interval, max_in_flight=limit)
        except IngestError as exc:
            put(failure_from_error(entry.url, "fetch", exc, feed_url=entry.feed_url))
            return
        if self._settings.comments is not None:
            page, failures = attach_comments(self._client, page, self._settings.comments)
            for failure in failures:
                put(failure)
        put(page)

    def _lane(self, entries: Iterator[FeedEntry], lock: threading.Lock, limit: int, put: Callable[[Any], None]) -> None:
        while True:
            with lock:
                entry = next(entries, None)
            if entry is None:
                return
            self._fetch_one(entry, limit, put)

    def _fetch_host(self, key: str, entries: list[FeedEntry], stamp: tuple[Any, Any]) -> None:
        started = time.monotonic()
        bundle = self._bundle  # this job's bundle, even if the DoFn moves on to another one

        def put(item: Any) -> None:
            bundle.put((item, stamp))  # results keep the window of the host group they came from

        limit = self._settings.host_limit(entries)
        try:
            # The host gate enforces the limit; lanes only make that many requests possible at once.
            lanes = min(limit, len(entries))
            if lanes <= 1:
                for entry in entries:
                    self._fetch_one(entry, limit, put)
            else:
                shared, lock = iter(entries), threading.Lock()
                with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="fetch-lane") as pool:
                    for future in [pool.submit(self._lane, shared, lock, limit, put) for _ in range(lanes)]:
                        future.result()
            elapsed = time.monotonic() - started
            put(beam.pvalue.TaggedOutput(HOST_TIME, HostTime(source_of(key), len(entries), elapsed)))
        except _BundleAbandoned:
            return
        finally:
            bundle.put_end()

    def _drain(self, *, until_running: int) -> Iterator[Any]:
        # Counting end markers, not futures, avoids racing a thread that has queued its last item.
        assert self._bundle is not None
        results = self._bundle.results
        while self._running > until_running or not results.empty():
            item = results.get()
            if item is _DONE:
                self._running -= 1
                continue
            value, (timestamp, window) = item
            if isinstance(value, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(value.tag, WindowedValue(value.value, timestamp, [window]))
                continue
            self._requests.inc()
            if isinstance(value, RawPage):
                yield WindowedValue(value, timestamp, [window])
            else:
                self._failures.inc()
                yield beam.pvalue.TaggedOutput(FAILURES, WindowedValue(value, timestamp, [window]))
        for future in [f for f in self._pending if f.done()]:
            future.result()  # re-raise a bug in a fetch thread instead of losing its URLs silently
            self._pending.remove(future)
        if until_running == 0:
            for future in self._pending:
                future.result()
            self._pending.clear()

    def process(self, host_entries: tuple[str, Iterable[FeedEntry]], timestamp: Any = beam.DoFn.TimestampParam,
                window: Any = beam.DoFn.WindowParam) -> Iterator[Any]:
        assert self._pool is not None
        key, entries = host_entries
        # The grouped iterable may be lazy and tied to this call, so materialise only the URLs.
        self._running += 1
        self._pending.append(self._pool.submit(self._fetch_host, key, list(entries), (timestamp, window)))
        yield from self._drain(until_running=self._settings.host_workers - 1)

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._drain(until_running=0)
        if self._warc is not None:
            self._warc.commit()  # the bundle's captures become visible with its results


def _host_of(entry: FeedEntry) -> tuple[str, FeedEntry]:
    return host_key(entry.url), entry


class FetchPages(beam.PTransform):  # type: ignore[misc]
    """Fetches the page of every entry, politely per host.

    Input: ``PCollection[FeedEntry]``. Outputs: main ``RawPage`` (with its comment thread),
    ``failures`` (``Failure``) and ``host_time`` (``HostTime``, for the run report).

    Args:
        config: the fetch stage's options.
        feed_intervals: per-feed minimum request interval overrides, by feed URL.
        host_workers: hosts fetched at once by one worker.
        feed_limits: per-feed requests-in-flight overrides, by feed URL (a host takes the smallest).
        comments: the comments stage's options; when given, each page's comment thread is
            collected right after the page, with the same client and host limits.
    """

    def __init__(self, config: FetchConfig, *, feed_intervals: Mapping[str, float] | None = None,
                 host_workers: int = 8, comments: CommentsConfig | None = None,
                 feed_limits: Mapping[str, int] | None = None) -> None:
        super().__init__()
        if host_workers < 1:
            raise ValueError("host_workers must be at least 1")
        self._settings = FetchSettings(config, dict(feed_intervals or {}), host_workers, comments,
                                       dict(feed_limits or {}))

    def expand(self, entries: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            entries
            | "KeyByHost" >> beam.Map(_host_of)
            | "GroupByHost" >> beam.GroupByKey()
            | "FetchHost" >> beam.ParDo(_FetchHostFn(self._settings)).with_outputs(FAILURES, HOST_TIME, main="pages")
        )
