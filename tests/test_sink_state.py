"""The Parquet sink (temp file, then rename) and the dedup against committed data, as Beam transforms."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import SinkConfig
from schemas import ARTICLES, COMMENTS, Article, Comment
from transforms.sink import PendingFile, WriteParquetPartitions, commit_file, write_rows
from transforms.state import (DropKnown, ReadKnownKeys, key_sources, known_keys_of_file, refresh_key_index,
                              stored_keys)
from transforms.urls import canonicalize_url, stable_id
from schemas.arrow import to_row

NOW = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)


def _article(n: int, source: str = "e.org", date: str = "2025-03-04") -> Article:
    url = f"https://{source}/a{n}?utm_source=rss"
    return Article(
        article_id=stable_id(canonicalize_url(url)), url=url, canonical_url=canonicalize_url(url),
        feed_url=f"https://{source}/feed", title=f"A{n}", authors=(), published_at=NOW, fetched_at=NOW,
        language="en", text="word " * 60, word_count=60, content_hash=str(n), schema_version=1, date=date,
        source=source,
    )


def _read(out: Path) -> list[dict]:
    return ds.dataset(out / "articles", format="parquet", partitioning="hive").to_table().to_pylist()


def test_write_then_commit_is_invisible_until_renamed(tmp_path: Path) -> None:
    config = SinkConfig(out=str(tmp_path), run_id="r1")
    rows = [to_row(_article(1)), to_row(_article(2))]
    pending = write_rows(rows, ARTICLES, config, ("2025-03-04", "e.org"))
    assert not (tmp_path / "articles").exists()  # only under _tmp/ so far
    assert Path(pending.temp_path).exists()
    commit_file(pending)
    assert Path(pending.final_path).exists() and not Path(pending.temp_path).exists()
    assert pending.final_path.startswith(str(tmp_path / "articles" / "date=2025-03-04" / "source=e.org" / "part-r1-"))
    # A retried bundle writes the same rows to the same name and overwrites: still two rows.
    commit_file(write_rows(list(reversed(rows)), ARTICLES, config, ("2025-03-04", "e.org")))
    assert len(_read(tmp_path)) == 2
    # Committing twice (a retried commit) is harmless.
    commit_file(pending)


def test_commit_of_a_lost_file_fails_loudly(tmp_path: Path) -> None:
    lost = PendingFile("articles", str(tmp_path / "nope.parquet"), str(tmp_path / "articles" / "x.parquet"), 1)
    with pytest.raises(FileNotFoundError):
        commit_file(lost)


@pytest.mark.parametrize("batched", [False, True])
def test_write_parquet_partitions_transform(tmp_path: Path, batched: bool) -> None:
    config = SinkConfig(out=str(tmp_path), run_id="r2", max_rows_per_file=2)
    articles = [_article(n, source=s, date=d) for n, (s, d) in enumerate(
        [("e.org", "2025-03-04")] * 5 + [("f.net", "2025-03-05")] * 2)]
    # Batched: several records to an element, partitions mixed inside one (as a document's mentions may be).
    elements = [tuple(articles[:4]), tuple(articles[4:])] if batched else articles
    pipeline = TestPipeline()
    files = pipeline | beam.Create(elements) | WriteParquetPartitions(ARTICLES, config, batched=batched)
    assert_that(files | beam.Map(lambda f: f.rows) | beam.CombineGlobally(sum), equal_to([7]), label="RowsWritten")
    result = pipeline.run()
    result.wait_until_finish()
    rows = _read(tmp_path)
    assert sorted(r["title"] for r in rows) == sorted(a.title for a in articles)
    assert {(r["date"], r["source"]) for r in rows} == {("2025-03-04", "e.org"), ("2025-03-05", "f.net")}
    assert all(len(list(p.glob("*.parquet"))) >= 1 for p in (tmp_path / "articles").glob("*/*"))
    counters = result.metrics().query(MetricsFilter().with_name("articles_rows"))["counters"]
    assert sum(c.committed for c in counters) == 7


def test_known_keys_come_from_committed_files(tmp_path: Path) -> None:
    config = SinkConfig(out=str(tmp_path), run_id="r3")
    stored = _article(1)
    pending = commit_file(write_rows([to_row(stored)], ARTICLES, config, ("2025-03-04", "e.org")))
    keys = {key for key, _ in known_keys_of_file(pending.final_path)}
    assert stored.article_id in keys
    # Uncommitted files under _tmp/ are not "known": a killed run's work is redone.
    write_rows([to_row(_article(2))], ARTICLES, config, ("2025-03-04", "e.org"))
    with TestPipeline() as p:
        known = p | beam.Create(sorted(keys)) | ReadKnownKeys(str(tmp_path))
        assert_that(known, equal_to([(key, False) for key in keys]))


def test_known_keys_are_only_the_ones_asked_about(tmp_path: Path) -> None:
    _commit_articles(tmp_path, "r1", range(3))
    stored = _article(1).article_id
    with TestPipeline() as p:  # keys of stored articles the job does not ask about never enter the join
        asked = p | beam.Create([stored, "not-stored"])
        assert_that(asked | ReadKnownKeys(str(tmp_path)), equal_to([(stored, False)]))
    with TestPipeline() as p:
        assert_that(p | beam.Create([]) | ReadKnownKeys(str(tmp_path)), equal_to([]))


def test_drop_known_keeps_one_element_per_unknown_key() -> None:
    with TestPipeline() as p:
        known = p | "Known" >> beam.Create([("k1", False), ("k4", True)])
        keyed = p | "New" >> beam.Create([("k1", "old"), ("k2", "b"), ("k2", "a"), ("k3", "c"), ("k4", "recent")])
        result = keyed | DropKnown(known)
        assert_that(result.unknown, equal_to(["a", "c"]), label="Unknown")
        assert_that(result.known_recent, equal_to(["recent"]), label="KnownRecent")


def test_recent_articles_are_marked_for_comment_refresh(tmp_path: Path) -> None:
    config = SinkConfig(out=str(tmp_path), run_id="r4")
    pending = commit_file(write_rows([to_row(_article(1))], ARTICLES, config, ("2025-03-04", "e.org")))
    assert {recent for _, recent in known_keys_of_file(pending.final_path, recent_after=NOW - timedelta(days=1))} == {True}
    assert {recent for _, recent in known_keys_of_file(pending.final_path, recent_after=NOW)} == {False}


def test_empty_output_dir_has_no_known_keys(tmp_path: Path) -> None:
    with TestPipeline() as p:
        assert_that(p | beam.Create(["k1"]) | ReadKnownKeys(str(tmp_path / "missing")), equal_to([]))


def _commit_articles(out: Path, run_id: str, numbers: range, date: str = "2025-03-04") -> str:
    rows = [to_row(_article(n, date=date)) for n in numbers]
    config = SinkConfig(out=str(out), run_id=run_id)
    return commit_file(write_rows(rows, ARTICLES, config, (date, "e.org"))).final_path


def _known(out: Path, table: str = "articles") -> set[tuple[str, bool]]:
    return set(stored_keys(str(out), table, recent_after=NOW - timedelta(days=1)))


def test_key_index_serves_the_same_keys_as_the_files(tmp_path: Path) -> None:
    _commit_articles(tmp_path, "r1", range(3))
    _commit_articles(tmp_path, "r2", range(3, 5), date="2025-03-05")
    from_files = _known(tmp_path)
    assert len(from_files) == 5 and all(recent for _, recent in from_files)
    assert refresh_key_index(str(tmp_path), "articles") == 2
    sources = key_sources(str(tmp_path), "articles")
    assert len(sources.index_files) == 1 and not sources.data_files
    assert _known(tmp_path) == from_files
    with TestPipeline() as p:  # the job reads the same sources
        asked = p | beam.Create(sorted(key for key, _ in from_files))
        assert_that(asked | ReadKnownKeys(str(tmp_path), recent_window=timedelta(days=36500)),
                    equal_to(sorted(from_files)))
    # A file committed after the index (a crash before the refresh) is read directly.
    _commit_articles(tmp_path, "r3", range(5, 6))
    assert len(key_sources(str(tmp_path), "articles").data_files) == 1
    assert {key for key, _ in _known(tmp_path)} == {_article(n).article_id for n in range(6)}


def test_key_index_follows_deleted_files(tmp_path: Path) -> None:
    kept = _commit_articles(tmp_path, "r1", range(2))
    deleted = _commit_articles(tmp_path, "r2", range(2, 4), date="2025-03-05")
    refresh_key_index(str(tmp_path), "articles")
    Path(deleted).unlink()  # a user drops a partition to ingest it again
    sources = key_sources(str(tmp_path), "articles")
    assert len(sources.stale_index_files) == 1 and [p for p, _ in sources.data_files] == [kept]
    assert {key for key, _ in _known(tmp_path)} == {_article(n).article_id for n in range(2)}
    assert refresh_key_index(str(tmp_path), "articles") == 1  # the kept file, now that its index file is stale
    sources = key_sources(str(tmp_path), "articles")
    assert not sources.stale_index_files and not sources.data_files and len(sources.index_files) == 1
    assert {key for key, _ in _known(tmp_path)} == {_article(n).article_id for n in range(2)}


def test_key_index_is_merged_when_it_grows(tmp_path: Path) -> None:
    leftover = tmp_path / "_state" / "keys" / "articles" / ".keys-killed.parquet.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a file")
    for run in range(4):
        _commit_articles(tmp_path, f"r{run}", range(run * 2, run * 2 + 2), date=f"2025-03-0{run + 1}")
        refresh_key_index(str(tmp_path), "articles", max_files=2)
        sources = key_sources(str(tmp_path), "articles")
        assert len(sources.index_files) <= 2 and not sources.data_files
    assert {key for key, _ in _known(tmp_path)} == {_article(n).article_id for n in range(8)}
    assert not leftover.exists()


def test_key_index_of_comments(tmp_path: Path) -> None:
    comments = [Comment(comment_id=f"c{n}", article_id="a", article_url="https://e.org/a", parent_id=None, depth=0,
                        author=None, author_url=None, published_at=None, text="hi", origin="html", fetched_at=NOW,
                        schema_version=1, date="2025-03-04", source="e.org") for n in range(3)]
    config = SinkConfig(out=str(tmp_path), run_id="r1")
    commit_file(write_rows([to_row(c) for c in comments], COMMENTS, config, ("2025-03-04", "e.org")))
    refresh_key_index(str(tmp_path), "comments")
    assert _known(tmp_path, "comments") == {("c0", False), ("c1", False), ("c2", False)}
