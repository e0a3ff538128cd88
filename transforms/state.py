"""What a run already has: keys of stored rows, read from the committed data itself.

The tables are the source of truth for "already ingested": a file is either committed (renamed
into place) or invisible, so deriving the known keys from committed files can never disagree with
the data, whatever moment a previous run was killed at.

Opening every stored file in every job costs about 1.5 ms a file, and a store grows by hundreds of
small files a run (one per date and source partition): after a year of hourly runs that is minutes
per job. So the keys of the files already seen are cached in a few index files under
``DIR/_state/keys/<table>/``, one row per (data file, key). The index is only a cache of the
tables: a data file is taken from it only while it exists with the size it had when indexed, files
it does not cover are read directly, and deleting ``_state/keys`` is always safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.sink import list_files, read_parquet, relative_path
from transforms.urls import canonicalize_url, stable_id

__all__ = [
    "KEYED_TABLES", "KEY_INDEX_SCHEMA", "KNOWN_RECENT", "DropKnown", "KeySources", "ReadKnownKeys",
    "key_sources", "known_keys_of_file", "refresh_key_index", "stored_keys",
]

KNOWN_RECENT = "known_recent"
KEYED_TABLES = ("articles", "comments")

_UTC_TIME = pa.timestamp("us", tz="UTC")
KEY_INDEX_SCHEMA = pa.schema([
    pa.field("file", pa.string(), nullable=False),  # relative to DIR/<table>/
    pa.field("size", pa.int64(), nullable=False),
    pa.field("key", pa.string(), nullable=False),
    pa.field("moment", _UTC_TIME),  # articles: published, else fetched; comments: null
])
# Index files before the run merges them into one: each job adds one, and each file is one open per job.
MAX_INDEX_FILES = 16


def _keys_of_file(path: str, table: str) -> pa.Table:
    """The distinct keys of one committed data file of ``table``, with their moment (``key``, ``moment``)."""
    if table == "comments":
        ids = read_parquet(path, ["comment_id"]).column("comment_id").combine_chunks()
        return pa.table({"key": ids, "moment": pa.nulls(len(ids), _UTC_TIME)})
    rows = read_parquet(path, ["article_id", "url", "published_at", "fetched_at"])
    moments = pc.coalesce(rows.column("published_at"), rows.column("fetched_at")).cast(_UTC_TIME).to_pylist()
    # An article's id and URL key are often the same: one row per key, recent if any of its rows is.
    latest: dict[str, datetime | None] = {}
    for url_key, article_id, moment in zip(
            (stable_id(canonicalize_url(url)) for url in rows.column("url").to_pylist()),
            rows.column("article_id").to_pylist(), moments, strict=True):
        for key in (article_id, url_key):
            before = latest.get(key)
            latest[key] = moment if before is None or (moment is not None and moment > before) else before
    return pa.table({"key": pa.array(list(latest), pa.string()), "moment": pa.array(list(latest.values()), _UTC_TIME)})


def _recent_flags(moments: pa.ChunkedArray | pa.Array, recent_after: datetime | None) -> list[bool]:
    if recent_after is None:
        return [False] * len(moments)
    return pc.fill_null(pc.greater(moments, pa.scalar(recent_after, _UTC_TIME)), False).to_pylist()


def _key_flags(table: pa.Table, recent_after: datetime | None) -> Iterator[tuple[str, bool]]:
    return zip(table.column("key").to_pylist(), _recent_flags(table.column("moment"), recent_after), strict=True)


def known_keys_of_file(path: str, *, recent_after: datetime | None = None) -> Iterator[tuple[str, bool]]:
    """The article ids and URL keys stored in one committed articles file, each with "is recent".

    An article is recent when published (else fetched) after ``recent_after``: its comments are
    still refreshed.
    """
    return _key_flags(_keys_of_file(path, "articles"), recent_after)


def _index_dir(out: str, table: str) -> str:
    return FileSystems.join(out, "_state", "keys", table)


@dataclass(frozen=True, slots=True)
class KeySources:
    """Where one table's stored keys are read from: valid index files, and the data files none covers.

    ``stale_index_files`` cover a data file that is gone or changed size: not read, and their
    other files count as uncovered, until ``refresh_key_index`` rewrites the index.
    """

    index_files: tuple[str, ...]
    data_files: tuple[tuple[str, int], ...]
    stale_index_files: tuple[str, ...]


def key_sources(out: str, table: str) -> KeySources:
    """List ``table``'s committed files and index files, and say which to read keys from."""
    if table not in KEYED_TABLES:
        raise ValueError(f"no known keys for table {table!r}")
    root = FileSystems.join(out, table)
    listed = list_files(FileSystems.join(root, "**", "*.parquet"))
    data = {relative_path(path, root): size for path, size in listed.items()}
    valid, stale, covered = [], [], set()
    for index_file in sorted(list_files(FileSystems.join(_index_dir(out, table), "*.parquet"))):
        files = read_parquet(index_file, ["file", "size"]).group_by(["file", "size"]).aggregate([])
        pairs = list(zip(files.column("file").to_pylist(), files.column("size").to_pylist(), strict=True))
        if all(data.get(name) == size for name, size in pairs):
            valid.append(index_file)
            covered.update(name for name, _ in pairs)
        else:
            stale.append(index_file)
    uncovered = tuple((FileSystems.join(root, name), size) for name, size in sorted(data.items())
                      if name not in covered)
    return KeySources(tuple(valid), uncovered, tuple(stale))


def _write_index(out: str, table: str, index: pa.Table) -> str:
    """Write an index file under a temporary name, then rename it in: readers see all of it or nothing."""
    name = f"keys-{uuid.uuid4().hex}.parquet"
    final = FileSystems.join(_index_dir(out, table), name)
    temp = FileSystems.join(_index_dir(out, table), f".{name}.tmp")
    with FileSystems.create(temp) as handle:
        pq.write_table(index, handle, compression="zstd")
    FileSystems.rename([temp], [final])
    return final


def _index_rows(root: str, table: str, files: Sequence[tuple[str, int]], threads: int) -> pa.Table:
    def rows_of(path_size: tuple[str, int]) -> pa.Table:
        path, size = path_size
        keys = _keys_of_file(path, table)
        rows = len(keys)
        return pa.table({"file": pa.array([relative_path(path, root)] * rows, pa.string()),
                         "size": pa.array([size] * rows, pa.int64()), "key": keys.column("key"),
                         "moment": keys.column("moment")}, schema=KEY_INDEX_SCHEMA)
    # Each file is one small read: on an object store mostly waiting, so a few run at once.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        tables = list(pool.map(rows_of, files))
    return pa.concat_tables(tables) if tables else KEY_INDEX_SCHEMA.empty_table()


def refresh_key_index(out: str, table: str, *, max_files: int = MAX_INDEX_FILES, threads: int = 8) -> int:
    """Index the committed files of ``table`` that no valid index file covers; merge the index when it has
    grown past ``max_files`` files or holds stale ones. Driver side, under the run lock, between jobs.

    Returns how many data files it indexed.
    """
    leftovers = list(list_files(FileSystems.join(_index_dir(out, table), ".keys-*.tmp")))
    if leftovers:  # from a driver killed while writing one; never read, as the names do not match
        FileSystems.delete(leftovers)
    sources = key_sources(out, table)
    if not sources.data_files and not sources.stale_index_files and len(sources.index_files) <= max_files:
        return 0
    root = FileSystems.join(out, table)
    fresh = _index_rows(root, table, sources.data_files, threads)
    if sources.stale_index_files or len(sources.index_files) + 1 > max_files:
        parts = [read_parquet(index_file, KEY_INDEX_SCHEMA.names) for index_file in sources.index_files]
        _write_index(out, table, pa.concat_tables([*parts, fresh]))
        # After the merged file is in: a crash in between leaves duplicate rows, which are harmless.
        FileSystems.delete([*sources.index_files, *sources.stale_index_files])
    elif fresh.num_rows:
        _write_index(out, table, fresh)
    return len(sources.data_files)


def _read_source(source: tuple[str, str], table: str, recent_after: datetime | None,
                 wanted: Sequence[str] | None = None) -> Iterator[tuple[str, bool]]:
    kind, path = source
    keys = read_parquet(path, ["key", "moment"]) if kind == "index" else _keys_of_file(path, table)
    if wanted is not None:  # in Arrow: a store's keys are many, a job's few
        keys = keys.filter(pc.is_in(keys.column("key"), value_set=pa.array(wanted, pa.string())))
    yield from _key_flags(keys, recent_after)


def _sources_to_read(sources: KeySources) -> list[tuple[str, str]]:
    return [("index", path) for path in sources.index_files] + [("data", path) for path, _ in sources.data_files]


def stored_keys(out: str, table: str = "articles", *,
                recent_after: datetime | None = None) -> Iterator[tuple[str, bool]]:
    """Every stored key of ``table`` with "is recent", read in this process (a key may come twice)."""
    for source in _sources_to_read(key_sources(out, table)):
        yield from _read_source(source, table, recent_after)


class ReadKnownKeys(beam.PTransform):  # type: ignore[misc]
    """Of the keys a job asks about, the ones already stored in one table under ``out``, as ``(key, is_recent)``.

    Input: ``PCollection[str]`` of the job's keys. For ``articles`` the stored keys are article ids
    and canonical-URL ids; for ``comments``, comment ids. Which files to read (the key index, and the
    committed files it does not cover) is decided when the pipeline is built; the reading runs in the
    job, one file per element, and keeps only the job's keys (a side input), so what crosses the
    joins grows with the job, not with the store. A key stored in two files comes twice: ``DropKnown``
    and the comments join take any number.

    Args:
        out: the output root.
        table: ``articles`` or ``comments``.
        recent_window: how old an article may be and still count as recent (comments refresh).
    """

    def __init__(self, out: str, table: str = "articles", *, recent_window: timedelta | None = None) -> None:
        super().__init__()
        if table not in KEYED_TABLES:
            raise ValueError(f"no known keys for table {table!r}")
        self._out = out
        self._table = table
        self._recent_window = recent_window

    def expand(self, wanted: beam.PCollection) -> beam.PCollection:
        recent_after = None
        if self._recent_window is not None:
            recent_after = datetime.now(timezone.utc) - self._recent_window
        return (
            wanted.pipeline
            | "ListKeySources" >> beam.Create(_sources_to_read(key_sources(self._out, self._table)))
            | "Reshuffle" >> beam.Reshuffle()
            | "ReadKeys" >> beam.FlatMap(_read_source, self._table, recent_after, beam.pvalue.AsList(wanted))
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
