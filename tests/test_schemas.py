"""Contract tests: the record types and the Arrow schemas agree, and records survive Beam's coders."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import datetime, timezone

import pyarrow as pa
import pytest
from apache_beam.coders import registry

from schemas import TABLES, ActorTag, Article, Comment, Failure, Mention, TopicTag, to_row, to_table
from schemas.records import StoryRow, StoryTag, record

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)
ACTOR = ActorTag("Q3446", "Qasem Soleimani", "person", "IRN", "IRNMIL", 3, True)


def _samples() -> dict[str, object]:
    article = Article(
        article_id="a1", url="https://e.org/a?utm_source=x", canonical_url="https://e.org/a", feed_url="https://e.org/f",
        title="T", authors=("A", "B"), published_at=NOW, fetched_at=NOW, language="en", text="one\ntwo",
        word_count=2, content_hash="h", schema_version=1, date="2025-03-04", source="e.org", tags=("x",),
        metadata_sources=(("title", "og:title"),), actors=(ACTOR,), topics=(TopicTag("medtop:1", "x", 0.5),),
        cites=("a0",),
    )
    comment = Comment("c1", "a1", "https://e.org/a", None, 0, "Mara", None, NOW, "Hi", "html", NOW, 1,
                      "2025-03-04", "e.org", actors=(ACTOR,))
    mention = Mention("a1", "article", "Q3446", "Soleimani", 10, 19, "2025-03-04", "e.org")
    failure = Failure("https://e.org/x", "fetch", "http_404", "HTTP 404", 404, 1, NOW, run_id="r", date="2025-03-04")
    story = StoryRow("s1", "r", NOW, NOW, NOW, 2, 1, 2, ("e.org", "f.net"), (StoryTag("Q3446", "Qasem Soleimani", 2),),
                     (StoryTag("medtop:1", "x", 1),), "T", "a1", 1, "2025-03-04")
    return {"articles": article, "comments": comment, "mentions": mention, "failures": failure, "stories": story}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_record_fields_match_schema(name: str) -> None:
    spec = TABLES[name]
    assert [f.name for f in dataclasses.fields(spec.record_type)] == spec.schema.names
    assert set(spec.partition_by) <= set(spec.schema.names)
    assert set(spec.key) <= set(spec.file_schema.names)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rows_build_the_file_table(name: str) -> None:
    spec = TABLES[name]
    record = _samples()[name]
    table = to_table([to_row(record)], spec)
    assert table.schema == spec.file_schema
    assert table.num_rows == 1


@pytest.mark.parametrize("name", sorted(TABLES))
def test_records_survive_pickle_and_beam_coders(name: str) -> None:
    sample = _samples()[name]
    assert pickle.loads(pickle.dumps(sample)) == sample
    coder = registry.get_coder(type(sample))
    assert coder.decode(coder.encode(sample)) == sample


@record
class _OneField:
    value: str


def test_records_pickle_as_their_field_values() -> None:
    mention = _samples()["mentions"]
    assert mention.__reduce__() == (Mention, tuple(getattr(mention, f.name) for f in dataclasses.fields(Mention)))
    assert pickle.loads(pickle.dumps(_OneField("x"))) == _OneField("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        mention.start = 0  # type: ignore[misc]


def test_non_conforming_row_is_refused() -> None:
    row = to_row(_samples()["articles"])
    row["word_count"] = "many"
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        to_table([row], TABLES["articles"])


def test_old_files_stay_readable_after_a_column_is_added(tmp_path) -> None:
    """Appending a nullable column: files written before still read together with new ones."""
    import duckdb
    import pyarrow.parquet as pq

    spec = TABLES["failures"]
    new = to_table([to_row(_samples()["failures"])], spec)
    old = new.drop_columns(["feed_url", "run_id"])
    (tmp_path / "date=2025-03-04").mkdir()
    pq.write_table(old, tmp_path / "date=2025-03-04" / "part-old.parquet")
    pq.write_table(new, tmp_path / "date=2025-03-04" / "part-new.parquet")
    rows = duckdb.sql(
        f"SELECT run_id FROM read_parquet('{tmp_path}/**/*.parquet', hive_partitioning=true, union_by_name=true) "
        "ORDER BY run_id NULLS FIRST"
    ).fetchall()
    assert rows == [(None,), ("r",)]
