"""Bounded jobs: sizing the changed feeds by their plausibly new entries and grouping them into jobs."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pipeline.ingest_config import IN_PROCESS_BATCH_ARTICLES, IngestConfig
from pipeline.config import SinkConfig
from pipeline.jobs import job_id, plan_jobs, size_feeds
from pipeline.options import add_run_arguments, to_config
from pipeline.runstate import load_listings, save_listings
from schemas.records import FeedSpec
from transforms.errors import ConfigError
from transforms.feeds import PrefetchedFeed, Validators
from transforms.urls import canonicalize_url, stable_id
from tests.sitefixture import rss_feed

BASE = "http://news.example"


def _article_id(slug: str) -> str:
    return stable_id(canonicalize_url(f"{BASE}/news/{slug}"))


def _stash(tmp_path: Path, feed_url: str, slugs: list[str] | None) -> PrefetchedFeed:
    """A changed feed as preflight leaves it: the body in a file (``None``: a malformed body)."""
    path = tmp_path / f"{stable_id(feed_url)}.feed"
    items = [(f"{BASE}/news/{slug}", slug, "Tue, 04 Mar 2025 08:30:00 GMT") for slug in slugs or []]
    path.write_text(rss_feed(items) if slugs is not None else "<rss><channel><item>broken")
    return PrefetchedFeed(str(path), "application/rss+xml", Validators(feed_url), 0.1)


def _feeds(*sizes: tuple[str, int]) -> dict[str, int]:
    return {f"http://{name}.xml": n for name, n in sizes}


def test_plan_jobs_packs_whole_feeds_in_order() -> None:
    sizes = _feeds(("a.example/1", 3), ("b.example/1", 4), ("c.example/1", 2), ("d.example/1", 0),
                   ("e.example/1", 1))
    assert [len(job) for job in plan_jobs(sizes, 7)] == [2, 3]
    assert plan_jobs(sizes, 0) == [tuple(sizes)]  # 0: one job
    assert plan_jobs({}, 5) == []


def test_a_source_shares_a_job_unless_it_is_bigger_than_one() -> None:
    sizes = _feeds(("a.example/1", 3), ("b.example/1", 2), ("b.example/2", 1), ("c.example/1", 4),
                   ("c.example/2", 3), ("c.example/3", 1))
    jobs = plan_jobs(sizes, 6)
    # a + b fit together; c (8) is bigger than a job, so its feeds are packed one by one.
    assert jobs == [tuple(_feeds(("a.example/1", 0), ("b.example/1", 0), ("b.example/2", 0))),
                    tuple(_feeds(("c.example/1", 0))), tuple(_feeds(("c.example/2", 0), ("c.example/3", 0)))]


def test_a_feed_bigger_than_a_job_is_a_job_of_its_own() -> None:
    sizes = _feeds(("a.example/1", 1), ("b.example/big", 12), ("c.example/1", 1), ("d.example/1", 1))
    assert [len(job) for job in plan_jobs(sizes, 5)] == [1, 1, 2]
    assert plan_jobs(_feeds(("b.example/big", 12)), 5) == [("http://b.example/big.xml",)]
    with pytest.raises(ValueError):
        plan_jobs(sizes, -1)


def test_size_counts_only_entries_no_feed_listed_before(tmp_path: Path) -> None:
    changed = {
        f"{BASE}/world.xml": _stash(tmp_path, f"{BASE}/world.xml", ["w1", "w2", "w3", "shared"]),
        f"{BASE}/home.xml": _stash(tmp_path, f"{BASE}/home.xml", ["shared", "h1", "w1"]),
        f"{BASE}/broken.xml": _stash(tmp_path, f"{BASE}/broken.xml", None),
    }
    listed_before = {f"{BASE}/world.xml": frozenset({_article_id("w1"), _article_id("w2")})}
    sizes = size_feeds(changed, listed_before)
    # Job order is by source, then URL; "shared" counts once, for the first feed that lists it;
    # w1 is no longer new anywhere: world.xml listed it when its entries were committed.
    assert list(sizes.new_entries) == [f"{BASE}/broken.xml", f"{BASE}/home.xml", f"{BASE}/world.xml"]
    assert sizes.new_entries == {f"{BASE}/broken.xml": 0, f"{BASE}/home.xml": 2, f"{BASE}/world.xml": 1}
    assert sizes.listed[f"{BASE}/home.xml"] == tuple(_article_id(s) for s in ("shared", "h1", "w1"))
    assert f"{BASE}/broken.xml" not in sizes.listed  # the job parses it again and records the failure


def test_listings_merge_per_feed_and_an_unreadable_file_is_ignored(tmp_path: Path) -> None:
    out = str(tmp_path)
    assert load_listings(out) == {}
    save_listings(out, {"f1": ["b", "a"], "f2": ["c"]})
    save_listings(out, {"f2": ["d"]})
    assert load_listings(out) == {"f1": frozenset({"a", "b"}), "f2": frozenset({"d"})}
    (tmp_path / "_state" / "feed_listings.json").write_text("{not json")
    assert load_listings(out) == {}


def test_one_job_keeps_the_run_id_and_several_number_theirs() -> None:
    assert job_id("R", 1, 1) == "R"
    assert [job_id("R", n, 3) for n in (1, 2, 3)] == ["R-1", "R-2", "R-3"]


def test_default_batch_size_depends_on_the_runner() -> None:
    config = IngestConfig(feeds=(FeedSpec(url=f"{BASE}/feed.xml"),), sink=SinkConfig(out="o", run_id="R"))
    assert config.articles_per_job(in_process=True) == IN_PROCESS_BATCH_ARTICLES
    assert config.articles_per_job(in_process=False) == 0  # a distributed runner's shuffles spill to disk
    sized = IngestConfig(feeds=config.feeds, sink=config.sink, batch_articles=50)
    assert sized.articles_per_job(in_process=False) == 50
    with pytest.raises(ConfigError):
        IngestConfig(feeds=config.feeds, sink=config.sink, batch_articles=-1)


def test_batch_articles_from_the_command_line_and_feeds_toml(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[settings]\nbatch_articles = 300\n\n[[feeds]]\nurl = "{BASE}/feed.xml"\n')
    assert to_config(parser.parse_args(["--feeds", str(feeds), "--out", "o"])).batch_articles == 300
    flag = parser.parse_args(["--feeds", str(feeds), "--out", "o", "--batch-articles", "0"])
    assert to_config(flag).batch_articles == 0  # the flag wins over [settings]
    assert to_config(parser.parse_args(["--feed", f"{BASE}/feed.xml", "--out", "o"])).batch_articles is None
