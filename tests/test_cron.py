"""Unattended runs: the lock, SIGKILL mid-run (and mid-job) and repair, overlapping runs, 304-only reruns,
follow + Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.run import run_ingest  # noqa: F401  (imports trafilatura, which warns on import, at collection)
from pipeline.runstate import LockHeldError, RunLock
from tests.faults import FaultServer, conditional, reply, slow
from transforms.stories.index import PROFILES_STATE, committed_state, state_files
from tests.sitefixture import PARAGRAPHS, FixtureArticle, article_html, rss_feed

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--allow-private-hosts", "--min-interval", "0", "--no-comments", "--max-in-flight", "4"]
LAST_MODIFIED = formatdate(1741080000, usegmt=True)


def _site(server: FaultServer, count: int, *, slow_s: float = 0.0) -> list[str]:
    """``count`` articles in two conditional feeds, plus one slow article; returns the feed URLs."""
    base = server.base_url
    articles = [FixtureArticle(f"story-{i}", f"Story number {i} about the harbour tram",
                               paragraphs=[f"Story {i}. " + p for p in PARAGRAPHS]) for i in range(count)]
    items = [(f"{base}/news/{a.slug}", a.title, "Tue, 04 Mar 2025 08:30:00 GMT") for a in articles]
    server.routes["/robots.txt"] = reply("User-agent: *\nAllow: /\n", content_type="text/plain")
    for article in articles:
        server.routes[f"/news/{article.slug}"] = reply(article_html(article, base))
    if slow_s:
        late = FixtureArticle("late", "The late story", paragraphs=["Late. " + p for p in PARAGRAPHS])
        server.routes["/news/late"] = slow(slow_s, reply(article_html(late, base)))
        items.append((f"{base}/news/late", late.title, "Tue, 04 Mar 2025 08:30:00 GMT"))
    half = len(items) // 2
    for name, part in (("a", items[:half]), ("b", items[half:])):
        server.routes[f"/{name}.xml"] = conditional(rss_feed(part), etag=f'"{name}-1"', last_modified=LAST_MODIFIED)
    return [server.url("/a.xml"), server.url("/b.xml")]


def _command(feeds: list[str], out: Path, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "pipeline", "run", "--out", str(out), *FLAGS, *extra]
    for feed in feeds:
        args += ["--feed", feed]
    return args


def _article_ids(out: Path) -> list[str]:
    files = sorted((out / "articles").glob("**/*.parquet"))
    return [i for f in files for i in pq.read_table(f, columns=["article_id"]).column("article_id").to_pylist()]


def _kill_when(run: subprocess.Popen[bytes], started_writing: Callable[[], bool]) -> None:
    """SIGKILL ``run`` as soon as ``started_writing()`` holds, polling fast; fail if it ends first."""
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline:
        if started_writing():
            run.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def test_rerun_on_unchanged_feeds_costs_only_304s(server: FaultServer, tmp_path: Path) -> None:
    feeds = _site(server, 6)
    out = tmp_path / "out"
    args = ["run", "--out", str(out), *FLAGS, "--feed", feeds[0], "--feed", feeds[1]]
    assert main(args) == 0
    assert len(_article_ids(out)) == 6
    state = json.loads((out / "_state" / "feeds.json").read_text())
    assert state[feeds[0]]["etag"] == '"a-1"' and state[feeds[1]]["last_modified"] == LAST_MODIFIED
    before = dict(server.hits)
    assert main(args) == 0
    new_requests = {path: n - before.get(path, 0) for path, n in server.hits.items() if n != before.get(path, 0)}
    assert new_requests == {"/a.xml": 1, "/b.xml": 1, "/robots.txt": 1}  # no article page is requested
    assert len(_article_ids(out)) == 6
    report = json.loads(sorted((out / "_runs").glob("*.json"))[-1].read_text())
    source = report["sources"]["127.0.0.1"]
    assert source["feeds_polled"] == 2 and source["not_modified"] == 2 and source["articles"] == 0


def test_lock_excludes_a_second_run_and_is_released(tmp_path: Path) -> None:
    with RunLock(str(tmp_path), "first"):
        with pytest.raises(LockHeldError, match="first"):
            RunLock(str(tmp_path), "second").acquire()
    with RunLock(str(tmp_path), "third") as lock:
        assert lock.took_over_from is None  # released cleanly: nothing to take over


def test_lock_of_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pipeline.runstate import RunLock\n"
         f"RunLock({str(tmp_path)!r}, 'doomed').acquire()\nprint('locked', flush=True)\ntime.sleep(120)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(LockHeldError, match="doomed"):
        RunLock(str(tmp_path), "too-early").acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    with RunLock(str(tmp_path), "next") as lock:
        assert lock.took_over_from == "doomed"


def test_two_overlapping_runs_on_one_dir(server: FaultServer, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    feeds = _site(server, 4, slow_s=4)
    out = tmp_path / "out"
    first = subprocess.Popen(_command(feeds, out, "--timeout", "30"), cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock_file = out / "_state" / "lock.json"
    deadline = time.monotonic() + 60
    while not (lock_file.exists() and lock_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    # The second run starts while the first holds the lock (it waits on the slow page).
    second = main(["run", "--out", str(out), *FLAGS, "--feed", feeds[0], "--feed", feeds[1]])
    second_err = capsys.readouterr().err
    first_out, first_err = first.communicate(timeout=180)
    assert first.returncode == 0, first_err
    assert second == 1 and "another run" in second_err and "this run did nothing" in second_err
    ids = _article_ids(out)
    assert len(ids) == 5 == len(set(ids))
    assert len(list((out / "_runs").glob("*.json"))) == 1


def test_sigkill_mid_run_leaves_nothing_partial_and_the_next_run_repairs(server: FaultServer,
                                                                         tmp_path: Path) -> None:
    count = 12
    feeds = _site(server, count, slow_s=0.5)
    out = tmp_path / "out"
    run = subprocess.Popen(_command(feeds, out, "--rows-per-file", "1"), cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill as soon as the run starts writing Parquet (temporary or committed), i.e. mid-write.
    _kill_when(run, lambda: any(out.glob("_tmp/**/*.parquet")) or any(out.glob("articles/**/*.parquet")))
    assert not list((out / "_runs").glob("*.json"))  # the killed run never completed
    visible = sorted((out / "articles").glob("**/*.parquet")) if (out / "articles").exists() else []
    for path in visible:  # every file a reader can see is complete
        assert pq.read_table(path).num_rows == 1
    assert not [p for p in out.glob("articles/**/*") if p.is_file() and p.suffix != ".parquet"]
    killed_rows = len(visible)
    repaired = subprocess.run(_command(feeds, out), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert repaired.returncode == 0, repaired.stderr
    ids = _article_ids(out)
    assert len(ids) == count + 1 == len(set(ids)), f"{killed_rows} rows were committed before the kill"
    assert ds.dataset(out / "articles", format="parquet", partitioning="hive").count_rows() == count + 1
    assert not list(out.glob("_tmp/**/*.parquet"))


def test_sigkill_in_a_later_job_keeps_the_earlier_jobs_and_the_next_run_repairs(server: FaultServer,
                                                                              tmp_path: Path) -> None:
    count = 12
    feeds = _site(server, count, slow_s=0.5)  # a.xml: 6 articles; b.xml: 6 and the slow one
    out = tmp_path / "out"
    run = subprocess.Popen(_command(feeds, out, "--rows-per-file", "1", "--batch-articles", "6"), cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stories_runs = out / "_state" / "stories" / "runs"
    # Kill as soon as job 2 (b.xml) commits an article, after job 1 (a.xml) committed everything: job 2's
    # stories state is not committed yet, and must not pass for committed under job 1's marker.
    _kill_when(run, lambda: any(out.glob("articles/**/part-*-2-*.parquet")))
    assert not list((out / "_runs").glob("*.json")) and not (out / "_state" / "feeds.json").exists()
    assert [p.name[-7:] for p in stories_runs.glob("*.json")] == ["-1.json"]
    first_job = {p.name for p in out.glob("articles/**/part-*-1-*.parquet")}
    assert len(first_job) == 6  # job 1 is committed whole (one row per file)
    repaired = subprocess.run(_command(feeds, out, "--batch-articles", "6"), cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    assert repaired.returncode == 0, repaired.stderr
    ids = _article_ids(out)
    assert len(ids) == count + 1 == len(set(ids))
    assert first_job <= {p.name for p in out.glob("articles/**/*.parquet")}
    # Every stored article has committed stories state, the killed job's too (rebuilt, not lost).
    committed = committed_state(str(out))
    profiled = {i for f in state_files(str(out), PROFILES_STATE, "", committed)
                for i in pq.read_table(f, columns=["article_id"])["article_id"].to_pylist()}
    assert set(ids) <= profiled


def test_follow_polls_until_ctrl_c_and_keeps_its_work(server: FaultServer, tmp_path: Path) -> None:
    feeds = _site(server, 3)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline", "follow", "--interval", "1s", "--out", str(out), *FLAGS,
               "--feed", feeds[0], "--feed", feeds[1]]
    follow = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "_runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    follow.send_signal(signal.SIGINT)
    stdout, stderr = follow.communicate(timeout=120)
    assert follow.returncode == 0, stderr
    assert stdout.count("TOTAL") >= 1 and "stopping after the current poll" in stderr
    assert sorted(_article_ids(out)) == sorted(set(_article_ids(out))) and len(_article_ids(out)) == 3
    reports = [json.loads(p.read_text()) for p in sorted((out / "_runs").glob("*.json"))]
    assert reports and all(r["status"] == "completed" for r in reports)
    assert not (out / "_state" / "lock.json").read_text()  # released
    assert os.path.exists(out / "_state" / "feeds.json")
