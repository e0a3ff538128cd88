"""The whole pipeline, through the CLI, over the embedded demo site, checked against its expected.json.

This is the end-to-end test of every comment origin (inline HTML three levels deep, JSON-LD, a
paginated comment feed deduplicated against the HTML, a paginated WordPress REST listing, Disqus
with a key against the loopback emulation of its API, widget-only pages), of clean article text, of
actor ids across spellings, and of syndication and story grouping.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipeline.cli import main
from pipeline.demo.server import start_demo_server

EXPECTED = json.loads((Path(__file__).resolve().parent.parent / "pipeline" / "demo" / "site" / "expected.json")
                      .read_text(encoding="utf-8"))["articles"]


def _rows(out: Path, table: str) -> list[dict]:
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table().to_pylist()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    out = tmp_path_factory.mktemp("demo") / "out"
    with start_demo_server() as server:
        code = main(["run", "--feed", server.feed_url, "--out", str(out), "--allow-private-hosts", "--min-interval",
                     "0", "--disqus-api-key", "demo-key", "--disqus-api-base", server.base_url + "/api/3.0"])
        assert code == 0
        yield out, server.base_url


def _by_slug(rows: list[dict], key: str = "url") -> dict[str, dict]:
    return {row[key].split("/articles/")[1].split(".html")[0]: row for row in rows}


def test_one_row_per_article_with_clean_text(ingested: tuple[Path, str]) -> None:
    out, _ = ingested
    articles = _by_slug(_rows(out, "articles"))
    assert sorted(articles) == sorted(EXPECTED)
    for slug, want in EXPECTED.items():
        text = articles[slug]["text"]
        assert articles[slug]["title"] == want["title"]
        for sentence in want["must_include"]:
            assert sentence in text, (slug, sentence)
        for noise in want["must_exclude"]:
            assert noise not in text, (slug, noise)


def test_every_comment_origin_collected_once(ingested: tuple[Path, str]) -> None:
    out, _ = ingested
    articles = _by_slug(_rows(out, "articles"))
    comments = _rows(out, "comments")
    per_article = Counter(c["article_id"] for c in comments)
    assert len({c["comment_id"] for c in comments}) == len(comments)  # the same comment is one row
    origins = Counter(c["origin"] for c in comments)
    assert {"html", "feed", "wp-json", "disqus", "jsonld"} <= set(origins)
    for slug, want in EXPECTED.items():
        row, thread = articles[slug], want["comments"]
        expected_total = thread["expected_total"] if thread else 0
        assert per_article[row["article_id"]] == expected_total == row["comment_count"], slug
        if want.get("embed") and not expected_total:
            assert row["comments_status"] == f"embedded:{want['embed']}", slug
        elif expected_total:
            assert row["comments_status"] == "collected", slug
    assert max(c["depth"] for c in comments) == 2  # three levels: 0, 1, 2
    by_id = {c["comment_id"]: c for c in comments}
    assert all(c["parent_id"] in by_id for c in comments if c["parent_id"])


def test_actors_stories_and_syndication(ingested: tuple[Path, str]) -> None:
    out, _ = ingested
    articles = _by_slug(_rows(out, "articles"))
    ids = {a["name"]: a["id"] for row in articles.values() for a in row["actors"] if a["linked"]}
    assert "Qasem Soleimani" in ids and "Kata'ib Hezbollah" in ids
    copy = next(slug for slug, want in EXPECTED.items() if want.get("syndicated_of"))
    original = EXPECTED[copy]["syndicated_of"]
    assert articles[copy]["duplicate_of"] == articles[original]["article_id"]
    groups: dict[str, set[str]] = {}
    for slug, want in EXPECTED.items():
        if want.get("story_group"):
            groups.setdefault(want["story_group"], set()).add(articles[slug]["story_id"])
    assert groups and all(len(story_ids) == 1 for story_ids in groups.values())
    mentions = _rows(out, "mentions")
    assert mentions and all(m["end"] > m["start"] for m in mentions)
