"""What a run already has: keys of stored rows, read from the committed data itself.

The tables are the source of truth for "already ingested": a file is either committed (renamed
into place) or invisible, so deriving the known keys from committed files can never disagree with
the data, whatever moment a previous run was killed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.urls import canonicalize_url, stable_id

__all__ = ["KNOWN_RECENT", "DropKnown", "ReadKnownKeys", "comment_ids_of_file", "known_keys_of_file"]

KNOWN_RECENT = "known_recent"


def known_keys_of_file(path: str, *, recent_after: datetime | None = None) -> Iterator[tuple[str, bool]]:
    """The article ids and URL keys stored in one committed articles file, each with "is recent".

    An article is recent when published (else fetched) after ``recent_after``: its comments are
    still refreshed.
    """
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle, columns=["article_id", "url", "published_at", "fetched_at"])
    columns = [table.column(name).to_pylist() for name in ("article_id", "url", "published_at", "fetched_at")]
    for article_id, url, published_at, fetched_at in zip(*columns, strict=True):
        moment = published_at or fetched_at
        recent = recent_after is not None and moment is not None and moment > recent_after
        yield article_id, recent
        yield stable_id(canonicalize_url(url)), recent


def comment_ids_of_file(path: str) -> Iterator[tuple[str, bool]]:
    """The comment ids stored in one committed comments file."""
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle, columns=["comment_id"])
    for comment_id in table.column("comment_id").to_pylist():
        yield comment_id, False


def _article_keys_of_match(metadata: FileMetadata, recent_after: datetime | None) -> Iterator[tuple[str, bool]]:
    yield from known_keys_of_file(metadata.path, recent_after=recent_after)


def _comment_ids_of_match(metadata: FileMetadata) -> Iterator[tuple[str, bool]]:
    yield from comment_ids_of_file(metadata.path)


def _any_recent(key_flags: tuple[str, Iterable[bool]]) -> tuple[str, bool]:
    key, flags = key_flags
    return key, any(flags)


class ReadKnownKeys(beam.PTransform):  # type: ignore[misc]
    """Reads the keys of every row already stored in one table under ``out``, as ``(key, is_recent)``.

    For ``articles`` the keys are article ids and canonical-URL ids; for ``comments``, comment ids.

    Args:
        out: the output root.
        table: ``articles`` or ``comments``.
        recent_window: how old an article may be and still count as recent (comments refresh).
    """

    def __init__(self, out: str, table: str = "articles", *, recent_window: timedelta | None = None) -> None:
        super().__init__()
        if table not in ("articles", "comments"):
            raise ValueError(f"no known keys for table {table!r}")
        self._pattern = FileSystems.join(out, table, "**", "*.parquet")
        self._table = table
        self._recent_window = recent_window

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        if self._table == "articles":
            recent_after = None
            if self._recent_window is not None:
                recent_after = datetime.now(timezone.utc) - self._recent_window
            read = beam.FlatMap(_article_keys_of_match, recent_after)
        else:
            read = beam.FlatMap(_comment_ids_of_match)
        return (
            pbegin
            | "MatchFiles" >> fileio.MatchFiles(self._pattern, fileio.EmptyMatchTreatment.ALLOW)
            | "ReadKeys" >> read
            | "GroupKeys" >> beam.GroupByKey()
            | "AnyRecent" >> beam.Map(_any_recent)
        )


def _sort_key(element: Any) -> tuple[str, str]:
    return getattr(element, "feed_url", ""), repr(element)


def _first_unknown(grouped: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
    _, sides = grouped
    candidates = sorted(sides["new"], key=_sort_key)  # deterministic choice among duplicates
    if not candidates:
        return
    known = list(sides["known"])
    if not known:
        yield candidates[0]
    elif any(known):
        yield beam.pvalue.TaggedOutput(KNOWN_RECENT, candidates[0])


class DropKnown(beam.PTransform):  # type: ignore[misc]
    """Keeps one element per key, and none for keys already known.

    Input: ``PCollection[tuple[key, element]]``. Outputs: main (elements with unknown keys) and
    ``known_recent`` (elements whose key is known and recent: their comments are refreshed).

    Args:
        known_keys: ``PCollection[tuple[str, bool]]`` of keys already stored, with "is recent".
    """

    def __init__(self, known_keys: beam.PCollection) -> None:
        super().__init__()
        self._known_keys = known_keys

    def expand(self, keyed: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            {"new": keyed, "known": self._known_keys}
            | "JoinWithKnown" >> beam.CoGroupByKey()
            | "KeepFirstUnknown" >> beam.FlatMap(_first_unknown).with_outputs(KNOWN_RECENT, main="unknown")
        )
