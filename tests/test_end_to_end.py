"""End-to-end: a real loopback site, the real CLI, the Parquet read back with pyarrow and DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from pipeline.cli import main
from tests.conftest import ARTICLES
from tests.loopback import LoopbackServer

RUN_FLAGS = ["--allow-private-hosts", "--min-interval", "0"]


def _articles(out: Path) -> ds.Dataset:
    return ds.dataset(out / "articles", format="parquet", partitioning="hive")


def _failures(out: Path) -> list[dict]:
    return ds.dataset(out / "failures", format="parquet", partitioning="hive").to_table().to_pylist()


def test_run_writes_articles_and_failures(news_site: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["run", "--feed", news_site.url("/feed.xml"), "--feed", news_site.url("/bad.xml"),
                 "--out", str(out), *RUN_FLAGS])
    assert code == 0
    rows = _articles(out).to_table().to_pylist()
    assert sorted(r["title"] for r in rows) == sorted(a.title for a in ARTICLES)
    for row in rows:
        assert row["url"].endswith("?utm_source=rss")
        assert "utm_source" not in row["canonical_url"]
        assert row["source"] == "127.0.0.1"
        assert row["word_count"] > 50 and row["fetched_at"].tzinfo is not None
        assert "Most read" not in row["text"] and "Copyright" not in row["text"]
        assert "Finally some good news" not in row["text"]  # a reader comment, never article text
    bridge = next(r for r in rows if r["title"].startswith("Old rail bridge"))
    assert bridge["authors"] == ["Ben Ode"]
    kinds = {(f["stage"], f["error_kind"]) for f in _failures(out)}
    assert ("feed", "malformed_feed") in kinds
    assert ("fetch", "http_404") in kinds
    assert ("fetch", "unsupported_content_type") in kinds
    gone = next(f for f in _failures(out) if f["error_kind"] == "http_404")
    assert gone["http_status"] == 404 and gone["attempts"] == 1 and gone["url"].endswith("/news/gone")


def test_rerun_does_not_duplicate_rows(news_site: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", "--feed", news_site.url("/feed.xml"), "--out", str(out), *RUN_FLAGS]
    assert main(args) == 0
    first = sorted(_articles(out).to_table()["article_id"].to_pylist())
    article_requests = sum(p.startswith("/news/tram") for p in news_site.paths())
    assert main(args) == 0
    assert sorted(_articles(out).to_table()["article_id"].to_pylist()) == first
    # Known articles are not fetched again, and each run requests the feed once (the driver polls it,
    # the job parses the body the driver kept).
    assert sum(p.startswith("/news/tram") for p in news_site.paths()) == article_requests
    assert news_site.paths().count("/feed.xml") == 2
    assert not list((out / "_tmp").glob("**/*.parquet"))
    reports = sorted((out / "_runs").glob("*.json"))
    assert len(reports) == 2 and json.loads(reports[-1].read_text())["status"] == "completed"


def test_duckdb_reads_the_dataset_as_is(news_site: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", "--feed", news_site.url("/feed.xml"), "--out", str(out), *RUN_FLAGS]) == 0
    query = (f"SELECT source, count(*) AS n, sum(word_count) > 0 AS has_words "
             f"FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning=true) GROUP BY source")
    assert duckdb.sql(query).fetchall() == [("127.0.0.1", 3, True)]
    dates = duckdb.sql(f"SELECT DISTINCT date FROM read_parquet('{out}/articles/**/*.parquet', "
                       "hive_partitioning=true) ORDER BY 1").fetchall()
    # date = published date in UTC: 2025-03-05T23:30-02:00 is 2025-03-06 in UTC.
    assert [str(d[0]) for d in dates] == ["2025-03-04", "2025-03-06"]


def test_feeds_toml(news_site: LoopbackServer, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[settings]\nallow_private_hosts = true\nmin_interval = 0\nout = "{tmp_path / "out"}"\n\n'
        f'[[feeds]]\nurl = "{news_site.url("/feed.xml")}"\nname = "Fixture Times"\nmin_interval = 0\n'
    )
    assert main(["run", "--feeds", str(feeds)]) == 0
    assert _articles(tmp_path / "out").count_rows() == 3


@pytest.mark.parametrize("argv", [
    ["run", "--out", "x"],                                  # no feeds
    ["run", "--feed", "ftp://example.invalid/feed", "--out", "x"],
    ["run", "--feeds", "/nonexistent/feeds.toml", "--out", "x"],
    ["run", "--feed", "http://127.0.0.1/f", "--out", "x", "--max-attempts", "0"],
    ["follow", "--feed", "http://127.0.0.1/f", "--out", "x", "--interval", "soon"],
])
def test_bad_configuration_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "newsingest: error:" in capsys.readouterr().err


def test_console_script_and_module(news_site: LoopbackServer, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("newsingest")
    help_text = subprocess.run([str(script), "run", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--allow-private-hosts" in help_text and "--feeds FILE" in help_text
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--feed", news_site.url("/feed.xml"), "--out",
         str(tmp_path / "out"), *RUN_FLAGS], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "TOTAL" in result.stdout and "apitools" not in result.stderr


def _comments(out: Path) -> list[dict]:
    return ds.dataset(out / "comments", format="parquet", partitioning="hive").to_table().to_pylist()


def test_comments_are_rows_and_refresh_appends_only_new_ones(news_site: LoopbackServer, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from tests.sitefixture import FixtureArticle, article_html

    out = tmp_path / "out"
    # Published "now", so the article is inside the comments window on the second run.
    young = FixtureArticle("tram-line", "Council approves tram line extension",
                           published=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           comments=[("Mara", "Finally some good news for the harbour district.")])
    news_site.routes["/news/tram-line"].body = article_html(young, news_site.base_url)
    args = ["run", "--feed", news_site.url("/feed.xml"), "--out", str(out), *RUN_FLAGS]
    assert main(args) == 0
    [comment] = _comments(out)
    assert (comment["author"], comment["origin"], comment["depth"], comment["parent_id"]) == ("Mara", "html", 0, None)
    tram = next(r for r in _articles(out).to_table().to_pylist() if r["title"].startswith("Council"))
    assert (tram["comment_count"], tram["comments_status"], comment["article_id"]) == (1, "collected", tram["article_id"])
    assert "Finally some good news" not in tram["text"]

    young = FixtureArticle(young.slug, young.title, published=young.published,
                           comments=[*young.comments, ("Tom", "The market square closure will hurt small traders.")])
    news_site.routes["/news/tram-line"].body = article_html(young, news_site.base_url)
    assert main(args) == 0
    assert sorted(c["author"] for c in _comments(out)) == ["Mara", "Tom"]  # only Tom's is new
    assert _articles(out).count_rows() == 3  # the article itself is not stored again
