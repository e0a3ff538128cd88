"""The run report: per-source counts gathered from the pipeline's report events.

The pipeline emits small JSON events (feed polled, file committed, URL failed) to a text sink in
the run's temporary directory; the driver sums them into a ``RunReport``, prints it as a table and
keeps it as JSON under ``DIR/_runs/``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

from apache_beam.io.filesystems import FileSystems

from schemas.records import Failure
from transforms.feeds import FeedPoll
from transforms.fetch import HostTime
from transforms.http import requests_sent
from transforms.sink import PendingFile
from transforms.urls import source_of

__all__ = ["ProgressLine", "RunReport", "SourceCounts", "event_of", "summarize", "write_report"]


@dataclass
class SourceCounts:
    """What one run did for one source (host)."""

    feeds_polled: int = 0
    not_modified: int = 0
    entries: int = 0
    articles: int = 0
    comments: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    # Wall seconds spent fetching this source's feeds and pages (summed over workers).
    seconds: float = 0.0


@dataclass
class RunReport:
    """The whole run: identity, timing and per-source counts."""

    run_id: str
    out: str
    started_at: str
    finished_at: str = ""
    seconds: float = 0.0
    status: str = "running"
    # Beam jobs the run was split into (pipeline.jobs); 0 when no feed had changed.
    jobs: int = 0
    sources: dict[str, SourceCounts] = field(default_factory=dict)

    def totals(self) -> SourceCounts:
        total = SourceCounts()
        failures: Counter[str] = Counter()
        for counts in self.sources.values():
            for name in ("feeds_polled", "not_modified", "entries", "articles", "comments", "seconds"):
                setattr(total, name, getattr(total, name) + getattr(counts, name))
            failures.update(counts.failures)
        total.failures = dict(failures)
        return total

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    def render(self) -> str:
        rows = [("source", "feeds", "304", "entries", "articles", "comments", "time", "failures")]
        for name, c in sorted(self.sources.items()) + [("TOTAL", self.totals())]:
            failed = ", ".join(f"{kind}={n}" for kind, n in sorted(c.failures.items())) or "0"
            rows.append((name, str(c.feeds_polled), str(c.not_modified), str(c.entries), str(c.articles),
                         str(c.comments), f"{c.seconds:.1f}s", failed))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        jobs = f" ({self.jobs} Beam jobs)" if self.jobs > 1 else ""
        return "\n".join(lines) + f"\nrun {self.run_id}: {self.status} in {self.seconds:.1f} s{jobs}"


def event_of(element: Any) -> str:
    """One JSON line for the report from a pipeline element (poll, committed file or failure)."""
    if isinstance(element, FeedPoll):
        event: dict[str, Any] = {"event": "poll", "source": source_of(element.validators.feed_url),
                                 "not_modified": element.not_modified, "entries": element.entries,
                                 "feed_url": element.validators.feed_url, "etag": element.validators.etag,
                                 "last_modified": element.validators.last_modified, "seconds": element.seconds}
    elif isinstance(element, HostTime):
        event = {"event": "host_time", "source": element.source, "pages": element.pages, "seconds": element.seconds}
    elif isinstance(element, PendingFile):
        source = next((p[len("source="):] for p in element.final_path.split("/") if p.startswith("source=")), "")
        event = {"event": "file", "table": element.table, "rows": element.rows, "source": source}
    elif isinstance(element, Failure):
        event = {"event": "failure", "source": source_of(element.url) if urlsplit(element.url).hostname else "",
                 "kind": element.error_kind, "stage": element.stage}
    else:
        raise TypeError(f"no report event for {type(element).__name__}")
    return json.dumps(event, sort_keys=True)


def summarize(report: RunReport, events: Iterable[Mapping[str, Any]]) -> RunReport:
    """Add the events' counts to the report, per source."""
    sources: defaultdict[str, SourceCounts] = defaultdict(SourceCounts)
    for event in events:
        if event["event"] == "file" and event["table"] not in ("articles", "comments"):
            continue  # mentions, stories and failures files have no per-source row of their own
        counts = sources[event.get("source") or "(none)"]
        if event["event"] == "poll":
            counts.feeds_polled += 1
            counts.not_modified += int(event["not_modified"])
            counts.entries += event["entries"]
            counts.seconds += event.get("seconds", 0.0)
        elif event["event"] == "host_time":
            counts.seconds += event["seconds"]
        elif event["event"] == "file":
            setattr(counts, event["table"], getattr(counts, event["table"]) + event["rows"])
        elif event["event"] == "failure":
            counts.failures[event["kind"]] = counts.failures.get(event["kind"], 0) + 1
    report.sources = dict(sources)
    return report


def write_report(out: str, report: RunReport) -> str:
    """Keep the report as ``DIR/_runs/<run_id>.json``, written under a temporary name and renamed."""
    final = FileSystems.join(out, "_runs", f"{report.run_id}.json")
    temp = FileSystems.join(out, "_runs", f".{report.run_id}.json.tmp")
    with FileSystems.create(temp) as handle:
        handle.write(report.to_json().encode("utf-8"))
    FileSystems.rename([temp], [final])
    return final


class ProgressLine:
    """A live one-line status on an interactive terminal: requests sent so far and elapsed time.

    It counts the requests of this process, so it shows the in-process runner's progress (the
    default); with a remote runner the line stays at the driver's own requests. Off when the stream
    is not a terminal (cron, pipes), where it would only fill logs.
    """

    def __init__(self, stream: IO[str] | None = None, *, every_s: float = 0.5) -> None:
        self._stream = stream or sys.stderr
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._base = requests_sent()

    def _line(self) -> str:
        return f"\r  {requests_sent() - self._base} requests, {time.monotonic() - self._started:.0f} s elapsed "

    def _loop(self) -> None:
        while not self._stop.wait(self._every_s):
            self._stream.write(self._line())
            self._stream.flush()

    def __enter__(self) -> ProgressLine:
        if self._stream.isatty():
            self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._stream.write("\r" + " " * 60 + "\r")
            self._stream.flush()
