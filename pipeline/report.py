"""The run report: per-source counts gathered from the pipeline's report events.

The pipeline emits small JSON events (feed polled, file committed, URL failed) to a text sink in
the run's temporary directory; the driver sums them into a ``RunReport``, prints it as a table and
keeps it as JSON under ``DIR/_runs/``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from schemas.records import Failure
from transforms.feeds import FeedPoll
from transforms.sink import PendingFile
from transforms.urls import source_of

__all__ = ["RunReport", "SourceCounts", "event_of", "summarize"]


@dataclass
class SourceCounts:
    """What one run did for one source (host)."""

    feeds_polled: int = 0
    not_modified: int = 0
    entries: int = 0
    articles: int = 0
    comments: int = 0
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class RunReport:
    """The whole run: identity, timing and per-source counts."""

    run_id: str
    out: str
    started_at: str
    finished_at: str = ""
    seconds: float = 0.0
    status: str = "running"
    sources: dict[str, SourceCounts] = field(default_factory=dict)

    def totals(self) -> SourceCounts:
        total = SourceCounts()
        failures: Counter[str] = Counter()
        for counts in self.sources.values():
            for name in ("feeds_polled", "not_modified", "entries", "articles", "comments"):
                setattr(total, name, getattr(total, name) + getattr(counts, name))
            failures.update(counts.failures)
        total.failures = dict(failures)
        return total

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    def render(self) -> str:
        rows = [("source", "feeds", "304", "entries", "articles", "comments", "failures")]
        for name, c in sorted(self.sources.items()) + [("TOTAL", self.totals())]:
            failed = ", ".join(f"{kind}={n}" for kind, n in sorted(c.failures.items())) or "0"
            rows.append((name, str(c.feeds_polled), str(c.not_modified), str(c.entries), str(c.articles),
                         str(c.comments), failed))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines) + f"\nrun {self.run_id}: {self.status} in {self.seconds:.1f} s"


def event_of(element: Any) -> str:
    """One JSON line for the report from a pipeline element (poll, committed file or failure)."""
    if isinstance(element, FeedPoll):
        event: dict[str, Any] = {"event": "poll", "source": source_of(element.validators.feed_url),
                                 "not_modified": element.not_modified, "entries": element.entries,
                                 "feed_url": element.validators.feed_url, "etag": element.validators.etag,
                                 "last_modified": element.validators.last_modified}
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
        counts = sources[event.get("source") or "(none)"]
        if event["event"] == "poll":
            counts.feeds_polled += 1
            counts.not_modified += int(event["not_modified"])
            counts.entries += event["entries"]
        elif event["event"] == "file" and event["table"] in ("articles", "comments"):
            setattr(counts, event["table"], getattr(counts, event["table"]) + event["rows"])
        elif event["event"] == "failure":
            counts.failures[event["kind"]] = counts.failures.get(event["kind"], 0) + 1
    report.sources = dict(sources)
    return report
