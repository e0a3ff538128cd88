"""Before the Beam job: poll every feed once, conditionally, from the driver.

Feeds are few and cheap; articles are many and costly. Polling the feeds first lets a run whose
feeds all answer 304 end right there, without starting the Beam job (the cron case: an unchanged
feed costs one request and the run a second or two), and lets the job parse the changed feeds from
the bodies kept here instead of requesting them again: every feed costs one request per run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from apache_beam.io.filesystems import FileSystems

from pipeline.config import FetchConfig
from schemas.records import Failure, FeedSpec
from transforms.errors import IngestError
from transforms.failures import failure_from_error
from transforms.feeds import FeedPoll, PrefetchedFeed, Validators, get_feed
from transforms.http import HttpClient
from transforms.politeness import host_key
from transforms.urls import stable_id
from transforms.warc import WarcRecorder

__all__ = ["Preflight", "preflight_feeds"]


@dataclass
class Preflight:
    """The feeds' answers: unchanged (304), changed (body kept for the job), or failed."""

    unchanged: list[FeedPoll] = field(default_factory=list)
    changed: dict[str, PrefetchedFeed] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)


def _poll_host(client: HttpClient, specs: list[FeedSpec], validators: Mapping[str, Validators], stash_dir: str,
               result: Preflight) -> None:
    for spec in sorted(specs, key=lambda s: s.url):
        previous = validators.get(spec.url, Validators(spec.url))
        started = time.monotonic()
        try:
            response = get_feed(client, spec, previous)
        except IngestError as exc:
            result.failures.append(failure_from_error(spec.url, "feed", exc, feed_url=spec.url))
            continue
        seconds = time.monotonic() - started
        if response.status == 304:
            result.unchanged.append(FeedPoll(previous, not_modified=True, entries=0, seconds=seconds))
            continue
        path = FileSystems.join(stash_dir, f"{stable_id(spec.url)}.feed")
        with FileSystems.create(path) as handle:
            handle.write(response.content)
        validators_now = Validators(spec.url, response.headers.get("etag"), response.headers.get("last-modified"))
        result.changed[spec.url] = PrefetchedFeed(path, response.headers.get("content-type"), validators_now, seconds)


def preflight_feeds(feeds: tuple[FeedSpec, ...], validators: Mapping[str, Validators], config: FetchConfig, *,
                    stash_dir: str, hosts_at_once: int = 8) -> Preflight:
    """Poll every feed with a conditional GET, hosts in parallel, each host at its polite pace."""
    by_host: defaultdict[str, list[FeedSpec]] = defaultdict(list)
    for spec in feeds:
        by_host[host_key(spec.url)].append(spec)
    result = Preflight()
    warc = WarcRecorder(config.warc_dir) if config.warc_dir else None
    with HttpClient(config, on_response=warc.record if warc else None) as client:
        with ThreadPoolExecutor(max_workers=hosts_at_once, thread_name_prefix="feeds") as pool:
            for future in [pool.submit(_poll_host, client, specs, validators, stash_dir, result)
                           for specs in by_host.values()]:
                future.result()
    if warc is not None:
        warc.commit()
    return result
