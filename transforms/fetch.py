"""Fetch article pages politely: keyed by host, hosts fetched concurrently, each host at its own pace.

Entries are grouped by host so that one DoFn instance owns all requests to a host; the per-host
interval and in-flight limit therefore hold on any number of workers. Inside a worker, hosts are
fetched by a bounded thread pool so that one slow site does not hold up the others, and results are
handed back through a bounded queue so memory stays flat however many pages a host has.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.config import FetchConfig
from schemas.records import FeedEntry, RawPage
from transforms.errors import IngestError
from transforms.failures import FAILURES, failure_from_error
from transforms.http import HTML_TYPES, HttpClient
from transforms.politeness import host_key

__all__ = ["FetchPages", "fetch_page"]

LOGGER = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """The fetch stage's config plus the per-feed politeness overrides."""

    config: FetchConfig
    feed_intervals: Mapping[str, float]
    host_workers: int = 8


def fetch_page(client: HttpClient, entry: FeedEntry, *, min_interval_s: float | None = None) -> RawPage:
    """Fetch one article page and decode it.

    Raises:
        FetchError: the page could not be fetched or is not HTML.
    """
    response = client.get(entry.url, accept=HTML_TYPES, min_interval_s=min_interval_s,
                          headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"})
    return RawPage(
        entry=entry, final_url=response.url, status=response.status, html=response.text,
        fetched_at=response.fetched_at, content_type=response.content_type,
    )


class _FetchHostFn(beam.DoFn):
    """Fetches the entries of one host per element, several hosts at a time on a thread pool."""

    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._client: HttpClient | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._requests = beam.metrics.Metrics.counter("fetch", "requests")
        self._failures = beam.metrics.Metrics.counter("fetch", "failures")

    def setup(self) -> None:
        self._client = HttpClient(self._settings.config)
        self._pool = ThreadPoolExecutor(max_workers=self._settings.host_workers, thread_name_prefix="fetch")

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()

    def start_bundle(self) -> None:
        # Bounded: fetch threads block when the consumer falls behind, so memory stays flat.
        self._results: queue.Queue[Any] = queue.Queue(maxsize=4 * self._settings.host_workers)
        self._pending: list[Future[None]] = []
        self._running = 0  # host jobs submitted whose end marker has not been read yet

    def _fetch_host(self, entries: Iterable[FeedEntry]) -> None:
        assert self._client is not None
        try:
            for entry in entries:
                interval = self._settings.feed_intervals.get(entry.feed_url)
                try:
                    self._results.put(fetch_page(self._client, entry, min_interval_s=interval))
                except IngestError as exc:
                    self._results.put(failure_from_error(entry.url, "fetch", exc, feed_url=entry.feed_url))
        finally:
            self._results.put(_DONE)

    def _drain(self, *, until_running: int) -> Iterator[Any]:
        # Counting end markers, not futures, avoids racing a thread that has queued its last item.
        while self._running > until_running or not self._results.empty():
            item = self._results.get()
            if item is _DONE:
                self._running -= 1
                continue
            self._requests.inc()
            if isinstance(item, RawPage):
                yield item
            else:
                self._failures.inc()
                yield beam.pvalue.TaggedOutput(FAILURES, item)
        for future in [f for f in self._pending if f.done()]:
            future.result()  # re-raise a bug in a fetch thread instead of losing its URLs silently
            self._pending.remove(future)
        if until_running == 0:
            for future in self._pending:
                future.result()
            self._pending.clear()

    def process(self, host_entries: tuple[str, Iterable[FeedEntry]]) -> Iterator[Any]:
        assert self._pool is not None
        _, entries = host_entries
        # The grouped iterable may be lazy and tied to this call, so materialise only the URLs.
        self._running += 1
        self._pending.append(self._pool.submit(self._fetch_host, list(entries)))
        yield from self._drain(until_running=self._settings.host_workers - 1)

    def finish_bundle(self) -> Iterator[Any]:
        for item in self._drain(until_running=0):
            if isinstance(item, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(item.tag, WindowedValue(item.value, MIN_TIMESTAMP, [GlobalWindow()]))
            else:
                yield WindowedValue(item, MIN_TIMESTAMP, [GlobalWindow()])


def _host_of(entry: FeedEntry) -> tuple[str, FeedEntry]:
    return host_key(entry.url), entry


class FetchPages(beam.PTransform):  # type: ignore[misc]
    """Fetches the page of every entry, politely per host.

    Input: ``PCollection[FeedEntry]``. Outputs: main ``RawPage``, ``failures`` (``Failure``).

    Args:
        config: the fetch stage's options.
        feed_intervals: per-feed minimum request interval overrides, by feed URL.
        host_workers: hosts fetched at once by one worker.
    """

    def __init__(self, config: FetchConfig, *, feed_intervals: Mapping[str, float] | None = None,
                 host_workers: int = 8) -> None:
        super().__init__()
        if host_workers < 1:
            raise ValueError("host_workers must be at least 1")
        self._settings = FetchSettings(config, dict(feed_intervals or {}), host_workers)

    def expand(self, entries: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            entries
            | "KeyByHost" >> beam.Map(_host_of)
            | "GroupByHost" >> beam.GroupByKey()
            | "FetchHost" >> beam.ParDo(_FetchHostFn(self._settings)).with_outputs(FAILURES, main="pages")
        )
