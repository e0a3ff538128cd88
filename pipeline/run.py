"""The newsingest pipeline: ``build_pipeline`` wires the stages, ``run_ingest`` runs one batch run.

A batch run polls the feeds from the driver, then runs one Beam job per group of changed feeds
(``pipeline.jobs``: about ``--batch-articles`` new articles each), one after another.

    feeds ─ ReadFeeds ─ DropKnownEntries ─ FetchPages (+ comment threads) ─ ExtractArticles ─ RemoveSourceBoilerplate
                 └ stored but young: refresh comments ┘       └── threads by article id ── AttachCommentThreads
    AttachCommentThreads ─ articles ─ TagArticles ─ AssignStories ─ WriteArticles, WriteStories (+ WriteMentions)
                         └ comments ─ DropKnownComments ─ TagComments ─ WriteComments (+ WriteMentions)
    failures of every stage ─ WriteFailures
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.ingest_config import IngestConfig
from pipeline.jobs import FeedSizes, job_id, plan_jobs, size_feeds
from pipeline.preflight import Preflight, preflight_feeds
from pipeline.report import RunReport, event_of, summarize, write_report
from pipeline.runstate import RunLock, load_listings, load_validators, save_listings, save_validators
from schemas.arrow import ARTICLES, COMMENTS, FAILURES, MENTIONS, STORIES, to_row, utc_date
from schemas.records import Article, Comment, FeedEntry, Failure, RawPage
from transforms.boilerplate import RemoveSourceBoilerplate
from transforms.comments.stage import AttachCommentThreads, thread_of_page
from transforms.feeds import FeedPoll, PrefetchedFeed, ReadFeeds, Validators
from transforms.extract import ExtractArticles
from transforms.fetch import FetchPages
from transforms.sink import WriteParquetPartitions, commit_file, temp_dir, write_rows
from transforms.state import KEYED_TABLES, DropKnown, ReadKnownKeys, refresh_key_index
from transforms.stories import AssignStories, commit_story_state, compact_story_state
from transforms.tagging.transform import TagActorsAndTopics

__all__ = ["build_pipeline", "run_ingest"]

LOGGER = logging.getLogger(__name__)


def _key_entry(entry: FeedEntry) -> tuple[str, FeedEntry]:
    return entry.article_id, entry


def _article_id(article: Article) -> str:
    return article.article_id


def _is_new_article(page: RawPage) -> bool:
    return not page.entry.refresh_comments


def _key_comment(comment: Comment) -> tuple[str, Comment]:
    return comment.comment_id, comment


def _for_comment_refresh(entry: FeedEntry) -> FeedEntry:
    return replace(entry, refresh_comments=True)


def _stamp_failure(failure: Failure, run_id: str) -> Failure:
    return replace(failure, run_id=run_id, date=utc_date(failure.at))


def build_pipeline(p: beam.Pipeline, config: IngestConfig, validators: Mapping[str, Validators], *,
                   prefetched: Mapping[str, PrefetchedFeed] | None = None, job: str | None = None) -> None:
    """Add the whole ingest to ``p``: feeds in, Parquet tables and report events out.

    Args:
        prefetched: feeds the driver already fetched (``pipeline.preflight``): parsed, not requested again.
        job: the id this job's files, temporary directory and stories state go under, when the run is
            split into several jobs (``pipeline.jobs.job_id``); default the run id. Failures keep the run id.
    """
    out, run_id = config.sink.out, config.sink.run_id
    sink = replace(config.sink, run_id=job or run_id)
    feeds = (
        p
        | "FeedSpecs" >> beam.Create(config.feeds)
        | "ReadFeeds" >> ReadFeeds(config.fetch, validators, prefetched)
    )
    window = timedelta(days=config.comments_window_days)
    keyed_entries = feeds.entries | "KeyEntries" >> beam.Map(_key_entry)
    known_entries = keyed_entries | "EntryKeys" >> beam.Keys() | "ReadKnownEntries" >> ReadKnownKeys(
        out, "articles", recent_window=window)
    entries = keyed_entries | "DropKnownEntries" >> DropKnown(known_entries)
    refresh = entries.known_recent | "MarkCommentRefresh" >> beam.Map(_for_comment_refresh)
    intervals = {f.url: f.min_interval_s for f in config.feeds if f.min_interval_s is not None}
    comments_config = config.comments if config.comments.enabled else None
    fetched = (
        (entries.unknown, refresh)
        | "FlattenEntries" >> beam.Flatten()
        | "FetchPages" >> FetchPages(config.fetch, feed_intervals=intervals, comments=comments_config,
                                     feed_limits={f.url: f.max_in_flight for f in config.feeds if f.max_in_flight})
    )
    new_pages = fetched.pages | "SkipRefreshOnly" >> beam.Filter(_is_new_article)
    extracted = new_pages | "ExtractArticles" >> ExtractArticles(config.extract)
    cleaned = extracted.articles | "RemoveSourceBoilerplate" >> RemoveSourceBoilerplate(config.extract, out)
    threads = fetched.pages | "ThreadOfPage" >> beam.Map(thread_of_page)
    known_pages = (
        (cleaned | "ArticleIds" >> beam.Map(_article_id), threads | "ThreadIds" >> beam.Keys())
        | "FlattenPageIds" >> beam.Flatten()
        | "ReadKnownPages" >> ReadKnownKeys(out, "articles", recent_window=window)
    )
    articles = (cleaned, threads) | "AttachCommentThreads" >> AttachCommentThreads(known_pages)
    keyed_comments = articles.comments | "KeyComments" >> beam.Map(_key_comment)
    known_comments = keyed_comments | "CommentIds" >> beam.Keys() | "ReadKnownComments" >> ReadKnownKeys(
        out, "comments")
    comments = keyed_comments | "DropKnownComments" >> DropKnown(known_comments)
    tagged_articles = articles.articles | "TagArticles" >> TagActorsAndTopics(config.tagging)
    tagged_comments = comments.unknown | "TagComments" >> TagActorsAndTopics(config.tagging)
    stories = tagged_articles.documents | "AssignStories" >> AssignStories(config.stories, out=out,
                                                                          run_id=sink.run_id)
    written = (
        stories.articles | "WriteArticles" >> WriteParquetPartitions(ARTICLES, sink),
        stories.stories | "WriteStories" >> WriteParquetPartitions(STORIES, sink),
        tagged_comments.documents | "WriteComments" >> WriteParquetPartitions(COMMENTS, sink),
        (tagged_articles.mentions, tagged_comments.mentions)
        | "FlattenMentions" >> beam.Flatten()
        | "WriteMentions" >> WriteParquetPartitions(MENTIONS, sink, batched=True),
    )
    failures = (
        (feeds.failures, fetched.failures, extracted.failures)
        | "FlattenFailures" >> beam.Flatten()
        | "StampFailures" >> beam.Map(_stamp_failure, run_id)
    )
    failures_written = failures | "WriteFailures" >> WriteParquetPartitions(FAILURES, sink)
    (
        (feeds.feed_state, fetched.host_time, *written, failures, failures_written)
        | "FlattenReport" >> beam.Flatten()
        | "ToReportEvent" >> beam.Map(event_of)
        | "WriteReportEvents" >> beam.io.WriteToText(
            FileSystems.join(temp_dir(out, sink.run_id), "report", "events"), file_name_suffix=".jsonl"
        )
    )


def _read_events(out: str, run_id: str) -> list[dict[str, Any]]:
    pattern = FileSystems.join(temp_dir(out, run_id), "report", "events*.jsonl")
    events = []
    for match in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(match.path) as handle:
            events.extend(json.loads(line) for line in handle.read().decode("utf-8").splitlines() if line)
    return [e for e in events if not (e["event"] == "file" and e["table"] == "failures")]


def _delete_tree(path: str) -> None:
    if FileSystems.exists(path):
        FileSystems.delete([path])


def _remove_stale_temp(out: str) -> None:
    """Drop what killed runs left under ``_tmp/``: never committed, so never visible, and now garbage."""
    _delete_tree(FileSystems.join(out, "_tmp"))


def _names_a_runner(beam_args: Sequence[str]) -> bool:
    return any(a == "--runner" or a.startswith("--runner=") for a in beam_args)


def _pipeline_options(beam_args: Sequence[str]) -> tuple[PipelineOptions, Any]:
    options = PipelineOptions(list(beam_args))
    # Beam 2.77's DirectRunner first tries to download Prism; the in-process engine needs no network.
    runner = None if _names_a_runner(beam_args) else FnApiRunner()
    return options, runner


def _write_driver_failures(config: IngestConfig, failures: Sequence[Failure]) -> list[dict[str, Any]]:
    """Write the failures found before the job (feeds that could not be polled); their report events."""
    by_date: dict[str, list[dict[str, Any]]] = {}
    stamped = [_stamp_failure(f, config.sink.run_id) for f in failures]
    for failure in stamped:
        by_date.setdefault(failure.date, []).append(to_row(failure))
    for date, rows in by_date.items():
        commit_file(write_rows(rows, FAILURES, config.sink, (date,)))
    return [json.loads(event_of(failure)) for failure in stamped]


def _save_feed_state(out: str, events: list[dict[str, Any]]) -> None:
    polls = [
        FeedPoll(Validators(e["feed_url"], e.get("etag"), e.get("last_modified")), e["not_modified"], e["entries"])
        for e in events if e["event"] == "poll" and not e["not_modified"]
    ]
    save_validators(out, polls)


def _run_job(config: IngestConfig, job: str, validators: Mapping[str, Validators],
             prefetched: Mapping[str, PrefetchedFeed], beam_args: Sequence[str]) -> list[dict[str, Any]]:
    """Run one Beam job over ``config.feeds`` and commit its stories state; returns its report events."""
    options, runner = _pipeline_options(beam_args)
    for table in KEYED_TABLES:  # the earlier jobs' (and runs') files, so this job opens a few index files
        indexed = refresh_key_index(config.sink.out, table)
        LOGGER.debug("key cache: %d %s file(s) indexed", indexed, table)
    with beam.Pipeline(runner=runner, options=options) as p:
        build_pipeline(p, config, validators, prefetched=prefetched, job=job)
    events = _read_events(config.sink.out, job)
    # Driver-side state follows the data it describes: committed only once the data is, and before
    # the next job, whose stories stage must see this job's articles.
    commit_story_state(config.sink.out, job)
    merged = compact_story_state(config.sink.out)
    LOGGER.debug("stories state: %d small file(s) merged", merged)
    return events


def _run_jobs(config: IngestConfig, polled: Preflight, validators: Mapping[str, Validators],
              beam_args: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
    """Run the changed feeds as bounded jobs, one after another; returns their events and the job count."""
    out, run_id = config.sink.out, config.sink.run_id
    per_job = config.articles_per_job(in_process=not _names_a_runner(beam_args))
    if per_job:
        sizes = size_feeds(polled.changed, load_listings(out))
        jobs = plan_jobs(sizes.new_entries, per_job)
        LOGGER.info("%d changed feed(s), about %d new article(s): %d job(s)", len(polled.changed),
                    sum(sizes.new_entries.values()), len(jobs))
    else:  # one job: not worth parsing every changed feed in the driver (tens of ms each) to size it
        sizes, jobs = FeedSizes({}, {}), [tuple(polled.changed)]
    events: list[dict[str, Any]] = []
    for number, feed_urls in enumerate(jobs, start=1):
        job = job_id(run_id, number, len(jobs))
        job_config = replace(config, feeds=tuple(f for f in config.feeds if f.url in feed_urls))
        events += _run_job(job_config, job, validators, {url: polled.changed[url] for url in feed_urls}, beam_args)
        # Only sizes later jobs and runs, so it may go before the validators: a crash now re-polls these
        # feeds, and their committed entries no longer count as new.
        save_listings(out, {url: sizes.listed[url] for url in feed_urls if url in sizes.listed})
        if job != run_id:
            _delete_tree(temp_dir(out, job))
    return events, len(jobs)


def run_ingest(config: IngestConfig, beam_args: Sequence[str] = ()) -> RunReport:
    """Run one batch ingest into ``config.sink.out`` and return its report.

    Holds the output directory's lock for the whole run; commits the feeds' validators only after
    the data of every job is committed, so a crash never loses entries behind a 304. A crash in a
    later job leaves the earlier jobs committed; the next run re-polls the feeds and fetches the rest.
    """
    out, run_id = config.sink.out, config.sink.run_id
    report = RunReport(run_id=run_id, out=out, started_at=datetime.now(timezone.utc).isoformat())
    started = time.monotonic()
    with RunLock(out, run_id):
        _remove_stale_temp(out)
        validators = load_validators(out)
        polled = preflight_feeds(config.feeds, validators, config.fetch,
                                 stash_dir=FileSystems.join(temp_dir(out, run_id), "feeds"))
        events = [json.loads(event_of(poll)) for poll in polled.unchanged]
        events += _write_driver_failures(config, polled.failures)
        if polled.changed:  # otherwise every feed answered 304 or failed: nothing for a job to do
            job_events, report.jobs = _run_jobs(config, polled, validators, beam_args)
            events += job_events
        _save_feed_state(out, events)
        summarize(report, events)
        report.status = "completed"
        report.seconds = time.monotonic() - started
        report.finished_at = datetime.now(timezone.utc).isoformat()
        write_report(out, report)
        _delete_tree(temp_dir(out, run_id))
    return report
