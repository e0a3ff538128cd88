"""The stage's state under ``DIR/_state/stories/``: article profiles and story aggregates.

Layout (all through Beam's ``FileSystems``, so it works on object stores)::

    _state/stories/profiles/date=<latest seen>/part-<run_id>-<token>.parquet       one row per article
    _state/stories/summaries/date=<latest last seen>/part-<run_id>-<token>.parquet one row per story per run
    _state/stories/runs/<run_id>.json              commit marker, written last
    _state/stories/runs/<run_id>.recovered.json    articles files whose state this run rebuilt
    _state/stories/runs/compact<id>.json           a compaction's marker (its merged files are part-compact<id>-*)
    _state/stories/runs/compact<id>.replaces.json  the files it replaces, until they are deleted

A file sits in the partition of its latest row's date and may hold earlier dates: readers ask for
partitions ``date >= since`` and drop the rows dated before ``since``.

A run writes its files under ``DIR/_tmp/<run_id>/`` and ``commit_story_state`` renames them into
place after the data is committed, then writes the marker. Files of runs without a marker are
ignored; articles files of such runs are *orphans* (a run killed between its data and its state
commit) and the next run rebuilds their state from the committed rows. So the state is a cache
that can always be re-derived from the articles table, never a second truth.
"""

from __future__ import annotations

import io
import posixpath
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.arrow import TableSpec
from schemas.records import ActorTag, Article, TopicTag
from transforms.sink import (PendingFile, commit_file, list_files, read_json, read_parquet, relative_path,
                             temp_dir, write_json)
from transforms.stories.records import Needs, Profile, StorySnapshot
from transforms.urls import stable_id

__all__ = [
    "LINKED_URL",
    "POSTING",
    "PROFILE",
    "PROFILES_STATE",
    "SUMMARIES_STATE",
    "CommittedState",
    "article_from_row",
    "commit_story_state",
    "compact_story_state",
    "committed_state",
    "day_start",
    "orphan_article_files",
    "pending_manifest_path",
    "profile_row",
    "read_candidates",
    "read_orphan_articles",
    "read_snapshots",
    "recovered_note",
    "snapshot_row",
    "state_files",
    "write_pending_manifest",
]

STATE_ROOT = "_state/stories"
# Small state files (below SMALL_STATE_FILE_BYTES) are merged once there are MERGE_AT_FILES of them,
# at most MERGE_INPUT_BYTES into one file (see compact_story_state).
SMALL_STATE_FILE_BYTES = 256 * 1024
MERGE_AT_FILES = 4
MERGE_INPUT_BYTES = 32 * 1024 * 1024
_REPLACES = ".replaces.json"
# What read_candidates yields, by kind; AssignStories uses them as its output tags.
POSTING, PROFILE, LINKED_URL = "postings", "profiles", "urls"
# Rows turned into Python objects at a time: the read can match hundreds of thousands of rows
# (below) and holds only a slice of them in Python.
_HITS_PER_SLICE = 16_384
_PROFILES_PER_SLICE = 512
_PAIR = lambda a, b: pa.list_(pa.struct([pa.field(a, pa.string()), pa.field(b, pa.string())]))  # noqa: E731
_COUNTED = pa.list_(pa.struct([pa.field("id", pa.string()), pa.field("name", pa.string()),
                               pa.field("n", pa.int32())]))

PROFILES_STATE = TableSpec(
    name=f"{STATE_ROOT}/profiles", record_type=Profile, partition_by=("date",), key=("article_id",),
    schema=pa.schema([
        pa.field("article_id", pa.string(), nullable=False), pa.field("url_key", pa.string()),
        pa.field("source", pa.string()), pa.field("seen_at", pa.float64()), pa.field("title", pa.string()),
        pa.field("minhash", pa.binary()), pa.field("shingles", pa.int32()),
        pa.field("terms", pa.list_(pa.struct([pa.field("w", pa.string()), pa.field("x", pa.float32())]))),
        pa.field("actors", _PAIR("id", "name")), pa.field("topics", _PAIR("id", "label")),
        pa.field("content_hash", pa.string()), pa.field("story_id", pa.string()),
        pa.field("duplicate_of", pa.string()), pa.field("similarity", pa.float32()),
        pa.field("key_actors", pa.list_(pa.string())), pa.field("keys", pa.list_(pa.string())),
        pa.field("date", pa.string(), nullable=False),
    ]),
)

SUMMARIES_STATE = TableSpec(
    name=f"{STATE_ROOT}/summaries", record_type=StorySnapshot, partition_by=("date",), key=("story_id", "run_id"),
    schema=pa.schema([
        pa.field("story_id", pa.string(), nullable=False), pa.field("first_seen", pa.float64()),
        pa.field("last_seen", pa.float64()), pa.field("article_count", pa.int32()),
        pa.field("duplicate_count", pa.int32()),
        pa.field("sources", pa.list_(pa.struct([pa.field("source", pa.string()), pa.field("n", pa.int32())]))),
        pa.field("actors", _COUNTED), pa.field("topics", _COUNTED), pa.field("title", pa.string()),
        pa.field("representative_id", pa.string()), pa.field("updated_at", pa.float64()),
        pa.field("run_id", pa.string()), pa.field("date", pa.string(), nullable=False),
    ]),
)


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date().isoformat()


def profile_row(p: Profile, keys: Sequence[str]) -> dict[str, Any]:
    """The state row of a profile (dated by the UTC day it was seen) with its candidate keys.

    The keys are stored so that a later run finds its candidates with one vectorised look-up per
    file instead of re-deriving the keys of every stored article in Python.
    """
    return {
        "article_id": p.article_id, "url_key": p.url_key, "source": p.source, "seen_at": p.seen_at,
        "title": p.title, "minhash": bytes(p.minhash), "shingles": p.shingles,
        "terms": [{"w": w, "x": x} for w, x in p.terms], "actors": [{"id": i, "name": n} for i, n in p.actors],
        "topics": [{"id": i, "label": n} for i, n in p.topics], "content_hash": p.content_hash,
        "story_id": p.story_id, "duplicate_of": p.duplicate_of, "similarity": p.similarity,
        "key_actors": list(p.key_actors), "keys": list(dict.fromkeys(keys)), "date": _day(p.seen_at),
    }


def _profile_from_row(row: dict[str, Any]) -> Profile:
    return Profile(
        article_id=row["article_id"], url_key=row["url_key"], source=row["source"], seen_at=row["seen_at"],
        title=row["title"], minhash=row["minhash"], shingles=row["shingles"],
        terms=tuple((t["w"], t["x"]) for t in row["terms"] or ()),
        actors=tuple((a["id"], a["name"]) for a in row["actors"] or ()),
        topics=tuple((t["id"], t["label"]) for t in row["topics"] or ()),
        content_hash=row["content_hash"] or "", origin="stored", story_id=row["story_id"],
        duplicate_of=row["duplicate_of"], similarity=row["similarity"], key_actors=tuple(row["key_actors"] or ()),
    )


def snapshot_row(s: StorySnapshot) -> dict[str, Any]:
    """The state row of a story aggregate (dated by the UTC day of its last article)."""
    return {
        "story_id": s.story_id, "first_seen": s.first_seen, "last_seen": s.last_seen,
        "article_count": s.article_count, "duplicate_count": s.duplicate_count,
        "sources": [{"source": k, "n": n} for k, n in s.sources],
        "actors": [{"id": i, "name": name, "n": n} for i, name, n in s.actors],
        "topics": [{"id": i, "name": name, "n": n} for i, name, n in s.topics],
        "title": s.title, "representative_id": s.representative_id, "updated_at": s.updated_at,
        "run_id": s.run_id, "date": _day(s.last_seen),
    }


def _snapshot_from_row(row: dict[str, Any]) -> StorySnapshot:
    return StorySnapshot(
        story_id=row["story_id"], first_seen=row["first_seen"], last_seen=row["last_seen"],
        article_count=row["article_count"], duplicate_count=row["duplicate_count"],
        sources=tuple((s["source"], s["n"]) for s in row["sources"] or ()),
        actors=tuple((a["id"], a["name"], a["n"]) for a in row["actors"] or ()),
        topics=tuple((t["id"], t["name"], t["n"]) for t in row["topics"] or ()),
        title=row["title"], representative_id=row["representative_id"] or "",
        updated_at=row["updated_at"], run_id=row["run_id"],
    )


def day_start(day: str) -> float:
    """The first second (UTC, epoch seconds) of an ISO date."""
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()


def _read_tables(paths: Sequence[str], date_column: str, since: str | None) -> pa.Table | None:
    """The rows of several state files as one table (files of older layouts promoted to the newest),
    without rows dated before ``since``: a merged file sits in its latest row's partition and may
    also hold earlier dates, which a read of partitions ``>= since`` would not have seen."""
    tables = [table for table in map(read_parquet, paths) if table.num_rows]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    if since is not None:
        table = table.filter(pc.greater_equal(table[date_column], day_start(since)))
    return table if table.num_rows else None


def _stored_keys(table: pa.Table, keys_of: Callable[[Profile], list[str]]) -> pa.Array:
    if "keys" in table.column_names:
        keys = table["keys"].combine_chunks()
        if keys.null_count == 0:
            return keys
        stored = keys.to_pylist()
    else:
        stored = [None] * table.num_rows
    # Rows written before keys were stored (null once promoted): derive theirs once, in Python.
    derived = [k if k is not None else keys_of(_profile_from_row(row)) for k, row in zip(stored, table.to_pylist())]
    return pa.array(derived, pa.list_(pa.string()))


def read_candidates(paths: Sequence[str], needs: Needs, keys_of: Callable[[Profile], list[str]],
                    window_of: Callable[[str], float], max_postings: int, *,
                    since: str | None = None) -> Iterator[tuple[str, Any]]:
    """What some committed profiles files hold for this run's new articles, and nothing more.

    Yields ``(kind, item)``: a ``POSTING`` ``(key, (order, "stored"))`` per stored member a new
    article can pair with, the ``PROFILE`` of each article those postings name, and a ``LINKED_URL``
    ``(url_key, article_id)`` per stored article a new one links to (``needs.url_keys``).

    Only rows sharing a candidate key with a new article (``needs.keys``) leave the files; the match,
    the time window and the sort are vectorised (Arrow), so the rest of the rows cost a scan in C,
    not Python objects. Per key and new article, only the latest ``max_postings`` members before it
    within the key's window are kept: a superset of what ``pair_candidates`` takes, so the result
    equals reading everything, and a key brings at most ``max_postings`` stored members per new
    article having it, however many the store holds. A store holding many copies of the new pages
    (syndication; the bench repeats its pages) still matches every copy under each of its ~50
    keys, so the matches go through Python a slice at a time and the results are streamed. Files
    are read several at a time because a store holds many small files, and matching them one by one
    cost a set of the run's keys per file. Rows seen before the day ``since`` are left out, as
    their partitions would be.
    """
    table = _read_tables(paths, "seen_at", since)
    if table is None:
        return
    if needs.url_keys:
        linked = table.filter(pc.is_in(table["url_key"], value_set=pa.array(sorted(needs.url_keys), pa.string())))
        for url in zip(linked["url_key"].to_pylist(), linked["article_id"].to_pylist()):
            yield LINKED_URL, url
    if not needs.keys:
        return
    kept: set[int] = set()
    for key, found in _members_by_key(table, needs, keys_of, window_of):
        for order, row in _latest_before(found, needs.keys[key], window_of(key), max_postings):
            yield POSTING, (key, (order, "stored"))
            kept.add(row)
    rows = sorted(kept)
    profiles = table.drop_columns(["keys"]) if "keys" in table.column_names else table  # not a Profile field
    for start in range(0, len(rows), _PROFILES_PER_SLICE):
        for row in profiles.take(rows[start:start + _PROFILES_PER_SLICE]).to_pylist():
            yield PROFILE, _profile_from_row(row)


def _members_by_key(table: pa.Table, needs: Needs, keys_of: Callable[[Profile], list[str]],
                    window_of: Callable[[str], float]) -> Iterator[tuple[str, list[tuple[tuple[float, str], int]]]]:
    """Each needed key found in ``table`` with its members ``((seen_at, article_id), row)``, sorted,
    seen no earlier than the key's earliest new article less its window."""
    needed = list(needs.keys)
    earliest = pa.array([needs.keys[key][0][0] - window_of(key) for key in needed], pa.float64())
    keys = _stored_keys(table, keys_of)
    position = pc.index_in(pc.list_flatten(keys), value_set=pa.array(needed, pa.string()))
    hits = pa.table({"key": position, "row": pc.list_parent_indices(keys)}).filter(pc.is_valid(position))
    hits = hits.append_column("seen", pc.take(table["seen_at"], hits["row"]))
    hits = hits.filter(pc.greater_equal(hits["seen"], pc.take(earliest, hits["key"])))
    hits = hits.append_column("id", pc.take(table["article_id"], hits["row"]))
    hits = hits.sort_by([("key", "ascending"), ("seen", "ascending"), ("id", "ascending"), ("row", "ascending")])
    current, found = None, []
    for batch in hits.to_batches(max_chunksize=_HITS_PER_SLICE):
        for key, seen, article_id, row in zip(*(batch[name].to_pylist() for name in ("key", "seen", "id", "row"))):
            if key != current:
                if found:
                    yield needed[current], found
                current, found = key, []
            found.append(((seen, article_id), row))
    if found:
        yield needed[current], found


def _latest_before(found: list[tuple[tuple[float, str], int]], new_orders: Sequence[tuple[float, str]],
                   window: float, max_postings: int) -> list[tuple[tuple[float, str], int]]:
    """Of a key's stored members (sorted), those ``pair_candidates`` can pair with one of the new orders:
    for each, the latest ``max_postings`` members before it (another article) within ``window``."""
    orders = [order for order, _ in found]
    taken: set[int] = set()
    for new in new_orders:
        earlier = 0
        for index in range(bisect_left(orders, new) - 1, -1, -1):
            if new[0] - orders[index][0] > window or earlier == max_postings:
                break
            if orders[index][1] != new[1]:
                earlier += 1
                taken.add(index)
    return [found[index] for index in sorted(taken)]


def read_snapshots(paths: Sequence[str], story_ids: frozenset[str], *,
                   since: str | None = None) -> Iterator[StorySnapshot]:
    """The aggregates of ``story_ids`` stored in some committed state files (filtered in Arrow), last
    seen on the day ``since`` or later."""
    table = _read_tables(paths, "last_seen", since) if story_ids else None
    if table is not None:
        wanted = table.filter(pc.is_in(table["story_id"], value_set=pa.array(sorted(story_ids), pa.string())))
        yield from map(_snapshot_from_row, wanted.to_pylist())


@dataclass(frozen=True, slots=True)
class CommittedState:
    """Which runs committed their stories state, which articles files were rebuilt by one, and which
    state files a committed compaction replaced but has not deleted yet (only after a crash)."""

    runs: frozenset[str]
    recovered: frozenset[str]
    replaced: frozenset[str] = frozenset()

    def covers(self, path: str) -> bool:
        """Whether the state of a data/state file (named ``part-<run_id>-<token>.parquet``) is committed."""
        return (_run_of(path) in self.runs or path in self.recovered) and path not in self.replaced


def _run_of(path: str) -> str:
    name = posixpath.basename(path)
    return name[len("part-"):-len(".parquet")].rsplit("-", 1)[0] if name.startswith("part-") else ""


def _match(pattern: str) -> list[str]:
    return sorted(list_files(pattern))


def _runs_dir(out: str) -> str:
    return FileSystems.join(out, STATE_ROOT, "runs")


def _compactions(paths: Sequence[str]) -> dict[str, str]:
    """The compaction lists among the runs dir's files, by compaction id."""
    return {posixpath.basename(path)[:-len(_REPLACES)]: path for path in paths if path.endswith(_REPLACES)}


def committed_state(out: str) -> CommittedState:
    """Read the commit markers (one listing, plus the rare recovery and unfinished compaction lists)."""
    runs, recovered, replaced = set(), set(), set()
    paths = _match(FileSystems.join(_runs_dir(out), "*.json"))
    compactions = _compactions(paths)
    for path in paths:
        name = posixpath.basename(path)
        if name.endswith(".recovered.json"):
            recovered.update(read_json(path))
        elif not name.endswith(_REPLACES):
            runs.add(name[:-len(".json")])
    for compaction, path in compactions.items():
        if compaction in runs:  # committed, crashed before deleting the files it replaced
            replaced.update(FileSystems.join(out, name) for name in read_json(path)["replaces"])
    return CommittedState(frozenset(runs), frozenset(recovered), frozenset(replaced))


def state_files(out: str, spec: TableSpec, since: str, committed: CommittedState) -> list[str]:
    """Committed state files of ``spec`` in partitions ``date >= since`` (ISO dates sort as strings)."""
    files = _match(FileSystems.join(out, spec.name, "date=*", "*.parquet"))
    return [f for f in files if posixpath.basename(posixpath.dirname(f))[5:] >= since and committed.covers(f)]


def orphan_article_files(out: str, committed: CommittedState, run_id: str) -> list[str]:
    """Committed articles files whose stories state was never committed (killed or pre-stories runs)."""
    files = _match(FileSystems.join(out, "articles", "**", "*.parquet"))
    return [f for f in files if _run_of(f) != run_id and not committed.covers(f)]


def _partition_value(path: str, column: str) -> str:
    for part in path.split("/"):
        if part.startswith(f"{column}="):
            return part[len(column) + 1:]
    return ""


_ARTICLE_COLUMNS = ["article_id", "url", "canonical_url", "feed_url", "title", "published_at", "fetched_at",
                    "language", "text", "word_count", "content_hash", "actors", "topics", "story_id",
                    "duplicate_of", "similarity", "cites"]


def article_from_row(row: dict[str, Any], *, date: str, source: str) -> Article:
    """An ``Article`` with the fields the stories stage reads, from a committed articles row."""
    return Article(
        article_id=row["article_id"], url=row["url"], canonical_url=row["canonical_url"],
        feed_url=row["feed_url"] or "", title=row["title"], authors=(), published_at=row["published_at"],
        fetched_at=row["fetched_at"], language=row["language"], text=row["text"], word_count=row["word_count"],
        content_hash=row["content_hash"], schema_version=1, date=date, source=source,
        actors=tuple(ActorTag(**a) for a in row.get("actors") or ()),
        topics=tuple(TopicTag(**t) for t in row.get("topics") or ()),
        story_id=row.get("story_id"), duplicate_of=row.get("duplicate_of"), similarity=row.get("similarity"),
        cites=tuple(row.get("cites") or ()),
    )


def read_orphan_articles(path: str) -> Iterator[Article]:
    """The articles of one orphan file (partition values from its path)."""
    with FileSystems.open(path) as handle:
        parquet = pq.ParquetFile(io.BytesIO(handle.read()))
    columns = [c for c in _ARTICLE_COLUMNS if c in parquet.schema_arrow.names]
    date, source = _partition_value(path, "date"), _partition_value(path, "source")
    for row in parquet.read(columns=columns).to_pylist():
        yield article_from_row(row, date=date, source=source)


def pending_manifest_path(out: str, run_id: str, pending: PendingFile) -> str:
    """Where the note of one written-but-uncommitted state file goes."""
    name = stable_id(pending.table, pending.temp_path, pending.final_path)
    return FileSystems.join(temp_dir(out, run_id), "stories-pending", f"{name}.json")


def write_pending_manifest(out: str, run_id: str, pending: PendingFile) -> PendingFile:
    """Record a state file written to the run's temp dir, for ``commit_story_state`` to move."""
    note = {"table": pending.table, "temp_path": pending.temp_path, "final_path": pending.final_path,
            "rows": pending.rows}
    write_json(pending_manifest_path(out, run_id, pending), note)
    return pending


def commit_story_state(out: str, run_id: str) -> int:
    """Promote the state a finished run wrote under ``DIR/_tmp/<run_id>/``; returns the files moved.

    Call it after the run's data is committed (after the pipeline), before ``_tmp`` is deleted.
    Safe to call again: a file already moved is skipped; the marker is written last.
    """
    notes = _match(FileSystems.join(temp_dir(out, run_id), "stories-pending", "*.json"))
    recovered: set[str] = set()
    for path in notes:
        note = read_json(path)
        if note["table"] == "recovered":
            recovered.add(note["final_path"])
        else:
            commit_file(PendingFile(note["table"], note["temp_path"], note["final_path"], note["rows"]))
    if recovered:
        write_json(FileSystems.join(_runs_dir(out), f"{run_id}.recovered.json"), sorted(recovered))
    write_json(FileSystems.join(_runs_dir(out), f"{run_id}.json"),
               {"run_id": run_id, "committed_at": datetime.now(timezone.utc).isoformat(), "files": len(notes)})
    return len(notes)


def _merge_groups(small: dict[str, int]) -> list[list[str]]:
    """Small files in date order, cut where a group would read more than ``MERGE_INPUT_BYTES``."""
    groups: list[list[str]] = [[]]
    size = 0
    for path in sorted(small, key=lambda p: (posixpath.basename(posixpath.dirname(p)), p)):
        if groups[-1] and size + small[path] > MERGE_INPUT_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(path)
        size += small[path]
    return [group for group in groups if len(group) > 1]


def _merge(paths: Sequence[str], target: str, pool: ThreadPoolExecutor) -> None:
    # Files of older layouts are promoted to the newest (profiles without stored keys get null keys).
    table = pa.concat_tables(list(pool.map(read_parquet, paths)), promote_options="default")
    with FileSystems.create(target) as handle:
        pq.write_table(table, handle, compression="zstd")


def _drop(out: str, compaction: str, names: Sequence[str]) -> None:
    """Delete files of a compaction, then its list: while the list exists, readers skip what it replaced."""
    if names:
        FileSystems.delete([FileSystems.join(out, name) for name in names])
    FileSystems.delete([FileSystems.join(_runs_dir(out), f"{compaction}{_REPLACES}")])


def _finish_compactions(out: str) -> None:
    """Complete what a killed compaction left: delete what it replaced if committed, else what it wrote."""
    runs = _runs_dir(out)
    temp_lists = _match(FileSystems.join(runs, f"*{_REPLACES}.tmp-*"))
    if temp_lists:  # killed while writing its list, before writing anything else
        FileSystems.delete(temp_lists)
    paths = _match(FileSystems.join(runs, "*.json"))
    for compaction, path in _compactions(paths).items():
        listed = read_json(path)
        committed = FileSystems.join(runs, f"{compaction}.json") in paths
        names = listed["replaces"] if committed else listed["writes"]
        _drop(out, compaction, [name for name in names if FileSystems.exists(FileSystems.join(out, name))])


def compact_story_state(out: str, *, small_bytes: int = SMALL_STATE_FILE_BYTES, min_files: int = MERGE_AT_FILES,
                        threads: int = 4) -> int:
    """Merge the small committed state files of each table once there are ``min_files`` of them;
    returns how many files were replaced.

    A job leaves a file per table and bundle (an hourly cron run: one small file a run), and
    opening a Parquet file costs far more than its few rows, so every later run paid for the
    store's history of jobs. Small files of all dates are merged together, in date order, into the
    partition of their latest date (readers drop rows dated before the partitions they ask for).
    Files of ``small_bytes`` or more are left alone: their rows, not the opening, are the cost.

    Driver side, under the run lock, between jobs. Crash-safe the way runs are: the merged files
    belong to a compaction id whose marker is written after them; a list written first names the
    files they replace, which readers skip once the marker exists, until they are deleted.
    """
    _finish_compactions(out)
    committed = committed_state(out)
    groups: list[list[str]] = []
    for spec in (PROFILES_STATE, SUMMARIES_STATE):
        listed = list_files(FileSystems.join(out, spec.name, "date=*", "*.parquet"))
        small = {path: size for path, size in listed.items() if size < small_bytes and committed.covers(path)}
        if len(small) >= max(min_files, 2):
            groups += _merge_groups(small)
    if not groups:
        return 0
    compaction = f"compact{uuid.uuid4().hex[:16]}"
    targets = [FileSystems.join(posixpath.dirname(paths[-1]), f"part-{compaction}-{stable_id(*paths)[:20]}.parquet")
               for paths in groups]
    listing = {"replaces": [relative_path(p, out) for paths in groups for p in paths],
               "writes": [relative_path(t, out) for t in targets]}
    runs = _runs_dir(out)
    write_json(FileSystems.join(runs, f"{compaction}{_REPLACES}"), listing)
    # Each file is one small read: on an object store mostly waiting, so a few run at once.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for paths, target in zip(groups, targets, strict=True):
            _merge(paths, target, pool)
    write_json(FileSystems.join(runs, f"{compaction}.json"),
               {"run_id": compaction, "committed_at": datetime.now(timezone.utc).isoformat(),
                "files": len(targets), "replaced": len(listing["replaces"])})
    _drop(out, compaction, listing["replaces"])
    return len(listing["replaces"])


def recovered_note(path: str) -> PendingFile:
    """The pending-note form of an orphan articles file this run rebuilt the state of."""
    return PendingFile("recovered", "", path, 0)
