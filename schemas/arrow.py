"""Arrow schemas of the output tables, and the conversion of records to Arrow rows.

Each table is a ``TableSpec``: its full schema (the record's fields, in order) and the columns it is
Hive-partitioned by. Partition columns live in the directory names (``date=.../source=...``), not
inside the files, so DuckDB, Polars, pandas and Spark see one column of each and never a clash.

Schema evolution: columns are only ever appended, as nullable, and ``SCHEMA_VERSION`` is bumped;
files written before stay readable (``union_by_name=true`` in DuckDB, ``unify_schemas`` in pyarrow).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from schemas import records

__all__ = [
    "ARTICLES",
    "COMMENTS",
    "FAILURES",
    "MENTIONS",
    "SCHEMA_VERSION",
    "STORIES",
    "TABLES",
    "TableSpec",
    "to_row",
    "to_table",
    "utc_date",
]

SCHEMA_VERSION = 1

_UTC_TIME = pa.timestamp("us", tz="UTC")

ACTOR = pa.struct([
    pa.field("id", pa.string()),
    pa.field("name", pa.string()),
    pa.field("type", pa.string()),
    pa.field("country", pa.string()),
    pa.field("code", pa.string()),
    pa.field("mentions", pa.int32()),
    pa.field("linked", pa.bool_()),
])
TOPIC = pa.struct([pa.field("id", pa.string()), pa.field("label", pa.string()), pa.field("score", pa.float32())])


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An output table: name, record type, full Arrow schema, Hive partition columns and row key.

    ``key`` names the columns that identify a row; the writer derives file names from them.
    """

    name: str
    record_type: type
    schema: pa.Schema
    partition_by: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def file_schema(self) -> pa.Schema:
        """The schema of the Parquet files: the full schema less the partition columns."""
        return pa.schema([f for f in self.schema if f.name not in self.partition_by])


ARTICLES = TableSpec(
    name="articles",
    record_type=records.Article,
    partition_by=("date", "source"),
    key=("article_id",),
    schema=pa.schema(
        [
            pa.field("article_id", pa.string(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("canonical_url", pa.string(), nullable=False),
            pa.field("feed_url", pa.string()),
            pa.field("title", pa.string()),
            pa.field("authors", pa.list_(pa.string())),
            pa.field("published_at", _UTC_TIME),
            pa.field("fetched_at", _UTC_TIME, nullable=False),
            pa.field("language", pa.string()),
            pa.field("text", pa.string(), nullable=False),
            pa.field("word_count", pa.int32(), nullable=False),
            pa.field("content_hash", pa.string(), nullable=False),
            pa.field("schema_version", pa.int16(), nullable=False),
            pa.field("date", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("modified_at", _UTC_TIME),
            pa.field("description", pa.string()),
            pa.field("section", pa.string()),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("image_url", pa.string()),
            pa.field("is_paywalled", pa.bool_()),
            pa.field("metadata_sources", pa.map_(pa.string(), pa.string())),
            pa.field("comment_count", pa.int32()),
            pa.field("comments_status", pa.string()),
            pa.field("actors", pa.list_(ACTOR)),
            pa.field("topics", pa.list_(TOPIC)),
            pa.field("duplicate_of", pa.string()),
            pa.field("similarity", pa.float32()),
            pa.field("story_id", pa.string()),
            pa.field("cites", pa.list_(pa.string())),
        ]
    ),
)

COMMENTS = TableSpec(
    name="comments",
    record_type=records.Comment,
    partition_by=("date", "source"),
    key=("comment_id",),
    schema=pa.schema(
        [
            pa.field("comment_id", pa.string(), nullable=False),
            pa.field("article_id", pa.string(), nullable=False),
            pa.field("article_url", pa.string(), nullable=False),
            pa.field("parent_id", pa.string()),
            pa.field("depth", pa.int16(), nullable=False),
            pa.field("author", pa.string()),
            pa.field("author_url", pa.string()),
            pa.field("published_at", _UTC_TIME),
            pa.field("text", pa.string(), nullable=False),
            pa.field("origin", pa.string(), nullable=False),
            pa.field("fetched_at", _UTC_TIME, nullable=False),
            pa.field("schema_version", pa.int16(), nullable=False),
            pa.field("date", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("actors", pa.list_(ACTOR)),
        ]
    ),
)

MENTIONS = TableSpec(
    name="mentions",
    record_type=records.Mention,
    partition_by=("date", "source"),
    key=("doc_id", "actor_id", "start"),
    schema=pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("doc_kind", pa.string(), nullable=False),
            pa.field("actor_id", pa.string(), nullable=False),
            pa.field("surface", pa.string(), nullable=False),
            pa.field("start", pa.int32(), nullable=False),
            pa.field("end", pa.int32(), nullable=False),
            pa.field("date", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("schema_version", pa.int16(), nullable=False),
        ]
    ),
)

FAILURES = TableSpec(
    name="failures",
    record_type=records.Failure,
    partition_by=("date",),
    key=("url", "stage", "at"),
    schema=pa.schema(
        [
            pa.field("url", pa.string(), nullable=False),
            pa.field("stage", pa.string(), nullable=False),
            pa.field("error_kind", pa.string(), nullable=False),
            pa.field("message", pa.string(), nullable=False),
            pa.field("http_status", pa.int16()),
            pa.field("attempts", pa.int16(), nullable=False),
            pa.field("at", _UTC_TIME, nullable=False),
            pa.field("feed_url", pa.string()),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("schema_version", pa.int16(), nullable=False),
            pa.field("date", pa.string(), nullable=False),
        ]
    ),
)

STORY_TAG = pa.struct([
    pa.field("id", pa.string()),
    pa.field("name", pa.string()),
    pa.field("articles", pa.int32()),
])

STORIES = TableSpec(
    name="stories",
    record_type=records.StoryRow,
    partition_by=("date",),
    key=("story_id", "run_id"),
    schema=pa.schema(
        [
            pa.field("story_id", pa.string(), nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("updated_at", _UTC_TIME, nullable=False),
            pa.field("first_seen", _UTC_TIME, nullable=False),
            pa.field("last_seen", _UTC_TIME, nullable=False),
            pa.field("article_count", pa.int32(), nullable=False),
            pa.field("duplicate_count", pa.int32(), nullable=False),
            pa.field("source_count", pa.int32(), nullable=False),
            pa.field("sources", pa.list_(pa.string())),
            pa.field("top_actors", pa.list_(STORY_TAG)),
            pa.field("top_topics", pa.list_(STORY_TAG)),
            pa.field("title", pa.string()),
            pa.field("representative_id", pa.string(), nullable=False),
            pa.field("schema_version", pa.int16(), nullable=False),
            pa.field("date", pa.string(), nullable=False),
        ]
    ),
)

TABLES: Mapping[str, TableSpec] = {t.name: t for t in (ARTICLES, COMMENTS, MENTIONS, FAILURES, STORIES)}


def _to_arrow_value(value: Any) -> Any:
    """Turn nested records and tuples into the dicts and lists pyarrow builds structs and lists from."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_arrow_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_to_arrow_value(v) for v in value]
    return value


def to_row(record: Any) -> dict[str, Any]:
    """Convert a record (a dataclass of ``schemas.records``) to an Arrow-ready dict."""
    row = _to_arrow_value(record)
    if not isinstance(row, dict):
        raise TypeError(f"not a record: {type(record).__name__}")
    return row


def _map_entries(value: Any) -> list[tuple[Any, Any]] | None:
    if value is None:
        return None
    items = value.items() if isinstance(value, Mapping) else value
    return [tuple(pair) for pair in items]


def to_table(rows: Iterable[Mapping[str, Any]], spec: TableSpec) -> pa.Table:
    """Build the file-level Arrow table (partition columns dropped) from rows of ``spec``."""
    map_columns = [f.name for f in spec.schema if pa.types.is_map(f.type)]
    if map_columns:  # pyarrow builds map entries from (key, value) tuples, not lists
        rows = [{**row, **{c: _map_entries(row.get(c)) for c in map_columns}} for row in rows]
    table = pa.Table.from_pylist(list(rows), schema=spec.schema)
    return table.drop_columns(list(spec.partition_by))


def utc_date(moment: datetime) -> str:
    """The UTC calendar date of an aware datetime, as the ``date=`` partition value."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp in newsingest is UTC-aware")
    return moment.astimezone(timezone.utc).date().isoformat()
