"""A run split into several bounded Beam jobs writes what one job writes, over the demo site cut into feeds."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.cli import _limit_malloc_arenas, main
from pipeline.demo.server import DEFAULT_SITE_DIR, DemoServer, start_demo_server
from transforms.state import key_sources
from transforms.stories import compact_story_state

FEEDS = 4
# Values that say when or by which run a row was written, not what it holds.
RUN_SPECIFIC = {"fetched_at", "run_id", "updated_at"}


def _split_site(site: Path) -> list[str]:
    """Cut the demo feed's 14 items into ``FEEDS`` feeds of 3-4 items, oldest first; returns their paths.

    Jobs run feeds in URL order, so here they also run in time order. Stories are an online
    clustering in time order, and a job cannot re-assign what an earlier job stored: an article
    older than one of an earlier job clusters as a late arrival does between two runs (a copy is
    then not marked; see docs/operations.md). In time order a split run equals one job exactly.
    """
    text = (site / "feed.xml").read_text(encoding="utf-8")
    newest_first = re.findall(r"<item>.*?</item>", text, flags=re.S)
    head, tail = text[:text.index("<item>")], text[text.rindex("</item>") + len("</item>"):]
    oldest_first = newest_first[::-1]
    paths = []
    for n in range(FEEDS):
        part = oldest_first[n * len(oldest_first) // FEEDS:(n + 1) * len(oldest_first) // FEEDS]
        paths.append(f"/feed-{n + 1}.xml")
        (site / paths[-1].lstrip("/")).write_text(head + "".join(part[::-1]) + tail, encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoServer, list[str]]]:
    root = tmp_path_factory.mktemp("site") / "site"
    shutil.copytree(DEFAULT_SITE_DIR, root)
    paths = _split_site(root)
    with start_demo_server(site_dir=root) as server:
        yield server, [server.base_url + path for path in paths]


def _run(server: DemoServer, feeds: list[str], out: Path, batch: int, *extra: str) -> dict[str, Any]:
    args = ["run", "--out", str(out), "--allow-private-hosts", "--min-interval", "0", "--batch-articles", str(batch),
            "--disqus-api-key", "demo-key", "--disqus-api-base", server.base_url + "/api/3.0", *extra]
    for feed in feeds:
        args += ["--feed", feed]
    assert main(args) == 0
    return json.loads(max((out / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())


def _rows(out: Path, table: str) -> list[dict[str, Any]]:
    rows = ds.dataset(out / table, format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(({k: v for k, v in row.items() if k not in RUN_SPECIFIC} for row in rows), key=repr)


def _latest_stories(out: Path) -> list[dict[str, Any]]:
    """Each story's newest row (a story grown by several jobs has a row per job, the newest complete)."""
    rows = ds.dataset(out / "stories", format="parquet", partitioning="hive").to_table().to_pylist()
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["updated_at"], r["run_id"])):
        latest[row["story_id"]] = {k: v for k, v in row.items() if k not in RUN_SPECIFIC}
    return sorted(latest.values(), key=repr)


@pytest.fixture(scope="module")
def runs(site: tuple[DemoServer, list[str]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    server, feeds = site
    one, split = tmp_path_factory.mktemp("one") / "out", tmp_path_factory.mktemp("split") / "out"
    one_report = _run(server, feeds, one, 0)
    # Boilerplate is learned per source from the pages seen so far, so a source split over jobs
    # learns as over consecutive runs: early jobs keep lines that later pages show to be boilerplate
    # (docs/operations.md). Starting from the store the one job learned takes that out of the comparison.
    shutil.copytree(one / "_state" / "boilerplate", split / "_state" / "boilerplate")
    with pytest.MonkeyPatch.context() as patch:  # merge state after every job, so the comparison covers it
        patch.setattr("pipeline.run.compact_story_state", partial(compact_story_state, min_files=2))
        split_report = _run(server, feeds, split, 2, "--warc")
    return {"one": (one, one_report), "split": (split, split_report)}


def test_several_jobs_write_the_rows_one_job_writes(runs: dict[str, Any]) -> None:
    (one, one_report), (split, split_report) = runs["one"], runs["split"]
    assert one_report["jobs"] == 1 and split_report["jobs"] == FEEDS  # 3-4 new articles per feed, 2 per job
    for table in ("articles", "comments", "mentions"):
        assert _rows(split, table) == _rows(one, table), table
    assert _latest_stories(split) == _latest_stories(one)
    assert len(_rows(one, "articles")) == 14


def test_report_totals_match_across_jobs(runs: dict[str, Any]) -> None:
    (_, one_report), (_, split_report) = runs["one"], runs["split"]
    for report in (one_report, split_report):
        for counts in report["sources"].values():
            counts.pop("seconds")
    assert split_report["sources"] == one_report["sources"]
    assert split_report["sources"]["127.0.0.1"]["feeds_polled"] == FEEDS


def test_jobs_leave_no_temporary_files_and_commit_state_per_job(runs: dict[str, Any]) -> None:
    split, report = runs["split"]
    assert not list((split / "_tmp").glob("**/*.*"))
    markers = sorted(p.stem for p in (split / "_state" / "stories" / "runs").glob("*.json"))
    jobs = [f"{report['run_id']}-{n}" for n in range(1, FEEDS + 1)]
    assert [m for m in markers if not m.startswith("compact")] == jobs
    # After each job the driver merged the small state files of each table (here from two on).
    assert any(m.startswith("compact") for m in markers)
    for table in ("profiles", "summaries"):
        assert len(list((split / "_state" / "stories" / table).glob("*/*.parquet"))) == 1, table
    listings = json.loads((split / "_state" / "feed_listings.json").read_text())
    assert len(listings) == FEEDS and sum(len(ids) for ids in listings.values()) == 14
    captured = []
    for path in (split / "warc").glob("*.warc.gz"):  # every job's capture is committed
        with path.open("rb") as handle:
            captured += [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(handle)
                         if r.rec_type == "response"]
    assert {row["url"] for row in _rows(split, "articles")} <= set(captured)
    assert not list((split / "warc").glob("_tmp/*"))
    # Each job first cached the keys of the files before it: only the last job's files are read directly.
    sources = key_sources(str(split), "articles")
    assert sources.index_files and all(f"part-{report['run_id']}-{FEEDS}-" in path for path, _ in sources.data_files)


def test_a_rerun_of_a_split_run_adds_nothing(site: tuple[DemoServer, list[str]], runs: dict[str, Any]) -> None:
    server, feeds = site
    split, _ = runs["split"]
    before = {table: _rows(split, table) for table in ("articles", "comments", "stories")}
    (split / "_state" / "feeds.json").unlink()  # no 304s: every feed is parsed again, every entry known
    report = _run(server, feeds, split, 2)
    assert report["jobs"] == 1  # nothing plausibly new: the listings fold all feeds into one job
    assert {table: _rows(split, table) for table in before} == before
    assert sum(c["articles"] + c["comments"] for c in report["sources"].values()) == 0
    assert not key_sources(str(split), "articles").data_files  # the rerun cached the last job's files first


def test_the_driver_caps_malloc_arenas_for_itself_and_its_workers_unless_the_user_chose(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "unset by the test")
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    _limit_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "2"  # inherited by the SDK worker processes
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    _limit_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "8"
