"""What a run already has: keys of stored articles, read from the committed data itself.

The articles table is the source of truth for "already ingested": a file is either committed
(renamed into place) or invisible, so deriving the known keys from committed files can never
disagree with the data, whatever moment a previous run was killed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.urls import canonicalize_url, stable_id

__all__ = ["DropKnown", "ReadKnownArticleKeys", "known_keys_of_file"]


def known_keys_of_file(path: str) -> Iterator[str]:
    """The article ids and URL keys stored in one committed articles file."""
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle, columns=["article_id", "url"])
    for article_id, url in zip(table.column("article_id").to_pylist(), table.column("url").to_pylist(), strict=True):
        yield article_id
        yield stable_id(canonicalize_url(url))


def _keys_of_match(metadata: FileMetadata) -> Iterator[str]:
    yield from known_keys_of_file(metadata.path)


class ReadKnownArticleKeys(beam.PTransform):  # type: ignore[misc]
    """Reads the keys (article ids and canonical-URL ids) of every article already stored under ``out``.

    Args:
        out: the output root.
    """

    def __init__(self, out: str) -> None:
        super().__init__()
        self._pattern = FileSystems.join(out, "articles", "**", "*.parquet")

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "MatchArticleFiles" >> fileio.MatchFiles(self._pattern, fileio.EmptyMatchTreatment.ALLOW)
            | "ReadKeys" >> beam.FlatMap(_keys_of_match)
            | "DistinctKeys" >> beam.Distinct()
        )


def _first_unknown(grouped: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
    _, sides = grouped
    if any(True for _ in sides["known"]):
        return
    # Deterministic choice among duplicates within the run: the smallest by repr of its sort key.
    candidates = sorted(sides["new"], key=lambda element: (getattr(element, "feed_url", ""), repr(element)))
    if candidates:
        yield candidates[0]


class DropKnown(beam.PTransform):  # type: ignore[misc]
    """Keeps one element per key, and none for keys already known.

    Input: ``PCollection[tuple[key, element]]``. Output: ``PCollection[element]``.

    Args:
        known_keys: ``PCollection[str]`` of keys already stored.
    """

    def __init__(self, known_keys: beam.PCollection) -> None:
        super().__init__()
        self._known_keys = known_keys

    def expand(self, keyed: beam.PCollection) -> beam.PCollection:
        known = self._known_keys | "KeyKnown" >> beam.Map(lambda key: (key, True))
        return (
            {"new": keyed, "known": known}
            | "JoinWithKnown" >> beam.CoGroupByKey()
            | "KeepFirstUnknown" >> beam.FlatMap(_first_unknown)
        )
