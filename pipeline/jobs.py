"""Bounded jobs: a big batch run is split into several Beam jobs over whole feeds, run one after another.

On the in-process runner every shuffle keeps its whole input in memory, so one job over every
changed feed peaks at a memory that grows with the articles of the run. A run therefore gives each
job the feeds of about ``N`` new articles (``--batch-articles``). Each job commits its data and its
stories state before the next starts, and the next reads what is committed, as a new run would:
dedup, boilerplate learning and stories carry over from job to job.

Jobs are sized by the entries a feed lists that are plausibly new: not listed by any feed when its
entries were last committed (``_state/feed_listings.json``), and not counted already for an earlier
feed. In the cron case a changed feed lists mostly stored articles, and sizing by raw entries would
start many jobs for a few new articles; remembering what each feed listed is exact for that case,
bounded by the feeds' own size (reading every stored id would grow with the store), and needs no
Beam job. The count only sizes jobs: ``DropKnown`` in each job still decides what is new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby

from transforms.errors import IngestError
from transforms.feeds import PrefetchedFeed, read_prefetched
from transforms.urls import source_of

__all__ = ["FeedSizes", "job_id", "plan_jobs", "size_feeds"]


@dataclass(frozen=True, slots=True)
class FeedSizes:
    """The changed feeds in job order: new entries each (plausibly), and the article ids each lists now."""

    new_entries: dict[str, int]
    listed: dict[str, tuple[str, ...]]


def _job_order(feed_url: str) -> tuple[str, str]:
    # A source's feeds side by side: they share boilerplate learning and most cross-feed duplicates.
    return source_of(feed_url), feed_url


def size_feeds(changed: Mapping[str, PrefetchedFeed], listed_before: Mapping[str, frozenset[str]]) -> FeedSizes:
    """Parse the changed feeds' stashed bodies and count, per feed, the entries that are plausibly new."""
    seen: set[str] = set().union(*listed_before.values())
    new_entries: dict[str, int] = {}
    listed: dict[str, tuple[str, ...]] = {}
    for url in sorted(changed, key=_job_order):
        try:
            _, entries = read_prefetched(changed[url])
        except IngestError:
            new_entries[url] = 0  # the job parses it again and records the failure
            continue
        listed[url] = tuple(dict.fromkeys(entry.article_id for entry in entries))
        fresh = [article_id for article_id in listed[url] if article_id not in seen]
        seen.update(fresh)
        new_entries[url] = len(fresh)
    return FeedSizes(new_entries, listed)


def plan_jobs(new_entries: Mapping[str, int], max_articles: int) -> list[tuple[str, ...]]:
    """Group feeds, in the order given, into jobs of at most ``max_articles`` new entries each.

    Whole feeds only, and a source's (contiguous) feeds share a job unless the source alone is
    bigger than a job: a job learns a source's boilerplate from the pages it has. A feed with more
    new entries than ``max_articles`` is a job of its own. ``max_articles`` 0 makes one job.
    """
    if max_articles < 0:
        raise ValueError("max_articles must not be negative")
    if max_articles == 0:
        return [tuple(new_entries)] if new_entries else []
    jobs: list[list[str]] = [[]]
    size = 0
    for _, group in groupby(new_entries.items(), key=lambda item: source_of(item[0])):
        feeds = list(group)
        units = [feeds] if sum(n for _, n in feeds) <= max_articles else [[feed] for feed in feeds]
        for unit in units:
            count = sum(n for _, n in unit)
            if jobs[-1] and size + count > max_articles:
                jobs.append([])
                size = 0
            jobs[-1] += [url for url, _ in unit]
            size += count
    return [tuple(job) for job in jobs if job]


def job_id(run_id: str, number: int, jobs: int) -> str:
    """The id job ``number`` (from 1) writes its files, temporary directory and stories state under.

    A run of one job uses its run id. Several jobs get ``<run_id>-<number>``: the stories stage
    tells committed state by the id in a data file's name, so each job needs its own, or a job
    killed between its data and its stories commit would pass for committed under an earlier job's
    marker (and a story grown by two jobs would get two rows with one key).
    """
    return run_id if jobs == 1 else f"{run_id}-{number}"
