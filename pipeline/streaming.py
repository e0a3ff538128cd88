"""The unbounded form of the ingest, for runners that stream (Flink, Dataflow): ``newsingest run --streaming``.

    PeriodicImpulse ─ feed specs ─ PollFeed (stateful per feed: validators + ids seen) ─ DropSeen
      ─ FixedWindows ─ FetchPages ─ ExtractArticles ─ WriteWindowedParquet (articles, failures)

The stages are the batch pipeline's (``poll_feed``, ``FetchPages``, ``ExtractArticles``,
``write_rows``/``commit_file``); what differs is where state lives. Conditional-GET validators and
the ids a feed listed last time are per-feed user state instead of ``DIR/_state/feeds.json``; ids
already stored when the job starts are read once; files are written per window, each committed by
rename as in batch. Comment threads and tagging are not part of the streaming form yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms import window
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from pipeline.config import SinkConfig
from pipeline.ingest_config import IngestConfig
from schemas.arrow import ARTICLES, FAILURES, TableSpec, to_row, utc_date
from schemas.records import FeedEntry, FeedSpec, Failure
from transforms.errors import ConfigError, IngestError
from transforms.extract import ExtractArticles
from transforms.failures import FAILURES as FAILURES_TAG
from transforms.failures import failure_from_error
from transforms.feeds import Validators, poll_feed
from transforms.fetch import FetchPages
from transforms.http import HttpClient
from transforms.sink import PendingFile, commit_file, write_rows
from transforms.state import stored_keys

__all__ = ["PollFeedsContinuously", "WriteWindowedParquet", "build_streaming_pipeline", "run_streaming"]

LOGGER = logging.getLogger(__name__)


def stored_article_ids(out: str) -> frozenset[str]:
    """Ids of the articles already stored under ``out`` (read once, when the job is built)."""
    return frozenset(key for key, _ in stored_keys(out, "articles"))


class _PollFeedFn(beam.DoFn):
    """Polls one feed per element, keeping its validators and the ids it listed as per-feed state."""

    VALIDATORS = ReadModifyWriteStateSpec("validators", PickleCoder())
    SEEN = ReadModifyWriteStateSpec("seen", PickleCoder())

    def __init__(self, config: IngestConfig, stored: frozenset[str]) -> None:
        self._config = config
        self._stored = stored
        self._client: HttpClient | None = None

    def setup(self) -> None:
        self._client = HttpClient(self._config.fetch)

    def teardown(self) -> None:
        if self._client is not None:
            self._client.close()

    def process(self, element: tuple[str, FeedSpec], validators: Any = beam.DoFn.StateParam(VALIDATORS),
                seen: Any = beam.DoFn.StateParam(SEEN)) -> Iterator[Any]:
        assert self._client is not None
        _, spec = element
        try:
            poll, entries = poll_feed(self._client, spec, validators.read() or Validators(spec.url))
        except IngestError as exc:
            yield beam.pvalue.TaggedOutput(FAILURES_TAG, failure_from_error(spec.url, "feed", exc, feed_url=spec.url))
            return
        if poll.not_modified:
            return
        validators.write(poll.validators)
        previous: frozenset[str] = seen.read() or frozenset()
        # Only the ids of the latest document are kept: state stays as small as the feed itself.
        seen.write(frozenset(e.article_id for e in entries))
        yield from (e for e in entries if e.article_id not in previous and e.article_id not in self._stored)


def _specs_of_tick(_: Any, feeds: Sequence[FeedSpec]) -> Iterator[tuple[str, FeedSpec]]:
    for spec in feeds:
        yield spec.url, spec


class PollFeedsContinuously(beam.PTransform):  # type: ignore[misc]
    """Ticks in, new feed entries out (and feed failures), with per-feed state between polls.

    Input: a ``PCollection`` of ticks (``PeriodicImpulse``, or ``TestStream`` in tests).
    Outputs: main ``FeedEntry``, ``failures``.
    """

    def __init__(self, config: IngestConfig, stored: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._config = config
        self._stored = stored

    def expand(self, ticks: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            ticks
            | "FeedSpecsPerTick" >> beam.FlatMap(_specs_of_tick, self._config.feeds)
            | "PollFeed" >> beam.ParDo(_PollFeedFn(self._config, self._stored)).with_outputs(
                FAILURES_TAG, main="entries")
        )


def _partition_key(record: Any, spec: TableSpec) -> tuple[tuple[str, ...], dict[str, Any]]:
    row = to_row(record)
    return tuple(str(row[name]) for name in spec.partition_by), row


def _write_partition(group: tuple[tuple[str, ...], Iterable[dict[str, Any]]], spec: TableSpec,
                     config: SinkConfig) -> Iterator[PendingFile]:
    partition, rows = group
    ordered = sorted(rows, key=lambda row: tuple(str(row[k]) for k in spec.key))
    for start in range(0, len(ordered), config.max_rows_per_file):
        yield commit_file(write_rows(ordered[start:start + config.max_rows_per_file], spec, config, partition))


class WriteWindowedParquet(beam.PTransform):  # type: ignore[misc]
    """Per window and partition: a GroupByKey (fires when the window closes), files written, then renamed.

    File names hash the rows' keys, so a retried window rewrites the same names instead of adding.
    """

    def __init__(self, spec: TableSpec, config: SinkConfig) -> None:
        super().__init__()
        self._spec = spec
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "KeyByPartition" >> beam.Map(_partition_key, self._spec)
            | "GroupPerWindow" >> beam.GroupByKey()
            | "WriteAndCommit" >> beam.FlatMap(_write_partition, self._spec, self._config)
        )


def _key_entry(entry: FeedEntry) -> tuple[str, FeedEntry]:
    return entry.article_id, entry


def _first_of_key(group: tuple[str, Iterable[Any]]) -> Any:
    return min(group[1], key=repr)


def _stamp_failure(failure: Failure, run_id: str) -> Failure:
    return replace(failure, run_id=run_id, date=utc_date(failure.at))


def build_streaming_pipeline(p: beam.Pipeline, config: IngestConfig, *, window_s: float, poll_interval_s: float = 900,
                             ticks: beam.PCollection | None = None) -> dict[str, beam.PCollection]:
    """Add the unbounded ingest to ``p``; returns the committed files per table.

    Args:
        window_s: length of the fixed windows that bound each Parquet write.
        poll_interval_s: time between polls of every feed (ignored when ``ticks`` is given).
        ticks: the polling clock; ``PeriodicImpulse`` by default, a ``TestStream`` in tests.
    """
    if ticks is None:
        ticks = p | "PollClock" >> PeriodicImpulse(fire_interval=poll_interval_s)
    polled = ticks | "PollFeeds" >> PollFeedsContinuously(config, stored_article_ids(config.sink.out))
    intervals = {f.url: f.min_interval_s for f in config.feeds if f.min_interval_s is not None}
    limits = {f.url: f.max_in_flight for f in config.feeds if f.max_in_flight}
    entries = (
        polled.entries
        | "Window" >> beam.WindowInto(window.FixedWindows(window_s))
        | "KeyEntries" >> beam.Map(_key_entry)
        | "GroupDuplicates" >> beam.GroupByKey()
        | "OnePerArticle" >> beam.Map(_first_of_key)
    )
    fetched = entries | "FetchPages" >> FetchPages(config.fetch, feed_intervals=intervals, feed_limits=limits)
    extracted = fetched.pages | "ExtractArticles" >> ExtractArticles(config.extract)
    failures = (
        (polled.failures | "WindowFeedFailures" >> beam.WindowInto(window.FixedWindows(window_s)),
         fetched.failures, extracted.failures)
        | "FlattenFailures" >> beam.Flatten()
        | "StampFailures" >> beam.Map(_stamp_failure, config.sink.run_id)
    )
    return {
        "articles": extracted.articles | "WriteArticles" >> WriteWindowedParquet(ARTICLES, config.sink),
        "failures": failures | "WriteFailures" >> WriteWindowedParquet(FAILURES, config.sink),
    }


def run_streaming(config: IngestConfig, beam_args: Sequence[str], *, poll_interval_s: float, window_s: float) -> None:
    """Submit the streaming job to the runner named in ``beam_args`` (it runs until cancelled)."""
    if not any(a == "--runner" or a.startswith("--runner=") for a in beam_args):
        raise ConfigError("--streaming needs a streaming runner: add e.g. --runner=FlinkRunner or "
                          "--runner=DataflowRunner (the local runners do not stream); for local polling use "
                          "`newsingest follow`")
    options = PipelineOptions(list(beam_args))
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(options=options) as p:
        build_streaming_pipeline(p, config, window_s=window_s, poll_interval_s=poll_interval_s)
