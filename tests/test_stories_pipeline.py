"""AssignStories on TestPipeline: two runs against one DIR, state committed between them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import SinkConfig
from schemas.arrow import ARTICLES
from transforms.sink import WriteParquetPartitions
from transforms.stories import STORIES, AssignStories, StoriesConfig, commit_story_state
from tests.test_stories_fixtures import first_run, second_run

NOW = datetime(2025, 3, 12, 12, 0, tzinfo=timezone.utc)


def _run(out: Path, run_id: str, articles: list, *, commit: bool = True) -> None:
    sink = SinkConfig(out=str(out), run_id=run_id)
    with TestPipeline() as p:
        result = p | "Articles" >> beam.Create(articles) | AssignStories(StoriesConfig(), out=str(out), run_id=run_id, now=NOW)
        _ = result.articles | "WriteArticles" >> WriteParquetPartitions(ARTICLES, sink)
        _ = result.stories | "WriteStories" >> WriteParquetPartitions(STORIES, sink)
    if commit:
        commit_story_state(str(out), run_id)


def _table(out: Path, name: str) -> list[dict]:
    return ds.dataset(out / name, format="parquet", partitioning="hive").to_table().to_pylist()


def _by_host(rows: list[dict]) -> dict[str, dict]:
    return {r["url"].split("/")[2].split(".")[0] + "/" + r["url"].rsplit("/", 1)[1]: r for r in rows}


def _latest_stories(out: Path) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for row in sorted(_table(out, "stories"), key=lambda r: (r["updated_at"], r["run_id"])):
        latest[row["story_id"]] = row
    return latest


@pytest.fixture
def first(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    _run(out, "run1", first_run())
    return out


def test_first_run_marks_copy_and_groups_story(first: Path) -> None:
    rows = _by_host(_table(first, "articles"))
    wire, copy = rows["wire/vella-bridge"], rows["partner/ferry-hits-bridge"]
    assert copy["duplicate_of"] == wire["article_id"] and copy["similarity"] >= 0.8
    assert wire["duplicate_of"] is None and wire["similarity"] is None
    story = wire["story_id"]
    assert {rows[k]["story_id"] for k in ("partner/ferry-hits-bridge", "harbourtimes/bridge-closed",
                                          "blog/saw-it-coming")} == {story}
    others = {rows["farm/kestrel-rationing"]["story_id"], rows["almsbury/footbridge"]["story_id"]}
    assert story not in others and len(others) == 2
    assert rows["blog/saw-it-coming"]["cites"] == ["Vella Harbour Times"]
    summary = _latest_stories(first)[story]
    assert summary["article_count"] == 4 and summary["duplicate_count"] == 1
    assert summary["title"] == "Ferry strikes Vella harbour bridge"
    assert summary["source_count"] == 4
    assert [a["name"] for a in summary["top_actors"]][:1] in (["Ilse Marwick"], ["Kestrel Line"], ["Tomas Brandt"])


def test_rerun_adds_article_to_existing_story(first: Path) -> None:
    story = _by_host(_table(first, "articles"))["wire/vella-bridge"]["story_id"]
    _run(first, "run2", second_run())
    rows = _by_host(_table(first, "articles"))
    assert rows["harbourtimes/piles-sheared"]["story_id"] == story
    assert rows["harbourtimes/piles-sheared"]["duplicate_of"] is None
    latest = _latest_stories(first)
    assert latest[story]["article_count"] == 5 and latest[story]["run_id"] == "run2"
    assert latest[story]["title"] == "Ferry strikes Vella harbour bridge"  # stable representative
    assert len(_table(first, "stories")) == 4  # run 1: three stories; run 2: one updated row


def test_killed_run_state_is_rebuilt_from_data(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, "run1", first_run(), commit=False)  # data committed, state never promoted
    assert not (out / "_state" / "stories" / "runs").exists()
    _run(out, "run2", second_run())
    rows = _by_host(_table(out, "articles"))
    assert rows["harbourtimes/piles-sheared"]["story_id"] == rows["wire/vella-bridge"]["story_id"]
    assert (out / "_state" / "stories" / "runs" / "run2.recovered.json").exists()
    story = rows["wire/vella-bridge"]["story_id"]
    assert _latest_stories(out)[story]["article_count"] == 5
    # A third run sees the recovered files as covered and rebuilds nothing again.
    _run(out, "run3", [])
    assert not (out / "_state" / "stories" / "runs" / "run3.recovered.json").exists()


def test_articles_output_on_test_pipeline(tmp_path: Path) -> None:
    articles = first_run()[:2]
    with TestPipeline() as p:
        result = p | beam.Create(articles) | AssignStories(StoriesConfig(), out=str(tmp_path), run_id="r", now=NOW)
        dupes = result.articles | "Dupes" >> beam.Map(lambda a: (a.article_id, a.duplicate_of))
        assert_that(dupes, equal_to([(articles[0].article_id, None), (articles[1].article_id, articles[0].article_id)]),
                    label="Duplicates")
        counts = result.stories | "Counts" >> beam.Map(lambda s: (s.article_count, s.duplicate_count))
        assert_that(counts, equal_to([(2, 1)]), label="Stories")
