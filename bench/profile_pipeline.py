"""Profile a newsingest run with py-spy and attribute its CPU time to pipeline stages and hot spots.

py-spy samples every thread (the fetch stage runs on a thread pool, which in-process profilers such as
pyinstrument do not see) and, with ``--subprocesses``, Beam's SDK worker processes. Idle samples are
left out, so sample counts are on-CPU time. Each sample is charged to the *innermost project frame* on
its stack: time inside trafilatura called from ``transforms/extract.py`` is the extract stage's.

    python -m bench.profile_pipeline --articles 1000 [--workers 2] [--out bench/results/profile.json]
        [--keep-raw stacks.txt] [--rerun | --stored 3000 [--empty-store]]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench._util import machine_info, repo_root, run_child
from bench.corpus import BenchSite, load_pages, plan_articles, write_feeds_toml

__all__ = ["StackProfile", "attribute_stacks", "main", "newsingest_argv", "parse_raw", "stage_of"]

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# Project module path fragment -> stage. The first match, in this order, wins.
_STAGES: tuple[tuple[str, str], ...] = (
    ("transforms/comments", "comments"), ("transforms/tagging", "tag"), ("transforms/clean", "clean"),
    ("transforms/stories", "stories"), ("transforms/extract", "extract"), ("transforms/fetch", "fetch"),
    ("transforms/http", "fetch"), ("transforms/politeness", "fetch"), ("transforms/feeds", "feeds"),
    ("transforms/sink", "write"), ("schemas/arrow", "write"), ("transforms/state", "dedup"),
    ("transforms/urls", "urls"), ("pipeline/report", "report"), ("transforms/", "transforms-other"),
    ("schemas/", "schemas"),
)
StackProfile = Counter  # (frames root->leaf as a tuple) -> samples


def parse_raw(lines: Iterable[str]) -> Counter[tuple[str, ...]]:
    """py-spy's ``--format raw`` (collapsed stacks, root first, then a sample count)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        line = line.rstrip("\n")
        if not line or " " not in line:
            continue
        stack, count = line.rsplit(" ", 1)
        if count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def _file_of(frame: str) -> str:
    match = _FRAME.match(frame)
    return match.group("file") if match else ""


def _project_rel(path: str, root: str) -> str | None:
    if path.startswith(root) and "/.venv/" not in path:
        return path[len(root):].lstrip("/")
    return None


def stage_of(stack: Sequence[str], root: str) -> str:
    """The stage a sample is charged to: its innermost project frame, else what runs it."""
    for frame in reversed(stack):
        rel = _project_rel(_file_of(frame), root)
        if rel is not None:
            return next((stage for prefix, stage in _STAGES if rel.startswith(prefix)), "pipeline-driver")
    files = [_file_of(frame) for frame in stack]
    if any("importlib" in f for f in files):
        return "imports"
    if any("apache_beam" in f for f in files):
        return "beam-runner"
    return "other"


def _short(frame: str, root: str) -> str:
    """``path:function``, the path relative to the project, site-packages or the standard library."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    project = _project_rel(path, root)
    if project is not None:
        return f"{project}:{match.group('func')}"
    for marker in ("/site-packages/", f"/lib/python{sys.version_info.major}.{sys.version_info.minor}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{match.group('func')}"


def attribute_stacks(stacks: Counter[tuple[str, ...]], root: str, top: int = 25) -> dict[str, Any]:
    """Samples per stage, and the hottest functions by self and by inclusive samples."""
    total = sum(stacks.values()) or 1
    stages: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    project_inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        stages[stage_of(stack, root)] += count
        self_time[_short(stack[-1], root)] += count
        for frame in set(stack):
            inclusive[_short(frame, root)] += count
            if _project_rel(_file_of(frame), root) is not None:
                project_inclusive[_short(frame, root)] += count

    def table(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"where": k, "samples": v, "percent": round(100 * v / total, 1)} for k, v in counter.most_common(top)]

    return {
        "samples": total,
        "stages": {k: {"samples": v, "percent": round(100 * v / total, 1)} for k, v in stages.most_common()},
        "self": table(self_time), "inclusive": table(inclusive), "project_inclusive": table(project_inclusive),
    }


def newsingest_argv(feeds: Path, out: Path, workers: int) -> list[str]:
    """The command line the benchmarks run: politeness delays off, loopback allowed, everything on."""
    argv = [str(repo_root() / ".venv" / "bin" / "newsingest"), "run", "--feeds", str(feeds), "--out", str(out),
            "--allow-private-hosts", "--min-interval", "0", "--ignore-robots"]
    if workers > 1:
        argv += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return argv


def profile_run(n_articles: int, workers: int, rate: int, n_hosts: int = 24, *, rerun: bool = False,
                stored: int = 0, empty_store: bool = False, keep_raw: Path | None = None) -> dict[str, Any]:
    """One profiled newsingest run over a fresh site of ``n_articles``: stages, hot spots, timing.

    With ``rerun``, a first run ingests everything unprofiled and the profiled run is the second,
    over unchanged feeds: the fixed cost of a run with nothing new. With ``stored``, a first run
    ingests that many other articles of the same feeds unprofiled: the profile is of a job on a
    grown store; adding ``empty_store`` profiles the same articles on an empty store instead, the
    pair to compare with (the HTML stages' cost depends on which pages a run gets).
    """
    py_spy = shutil.which("py-spy") or str(repo_root() / ".venv" / "bin" / "py-spy")
    plan = plan_articles(load_pages(), stored + n_articles, n_hosts=n_hosts)
    with tempfile.TemporaryDirectory(prefix="newsingest-profile-") as tmp, BenchSite(plan, n_hosts) as site:
        if stored and empty_store:
            site.publish(plan[stored:])
        elif stored:
            site.publish(plan[:stored])
            run_child(newsingest_argv(write_feeds_toml(Path(tmp) / "stored.toml", site.feed_urls()),
                                      Path(tmp) / "out", workers))
            site.publish(plan)
        feeds = write_feeds_toml(Path(tmp) / "feeds.toml", site.feed_urls())
        raw = Path(tmp) / "profile.txt"
        if rerun:
            run_child(newsingest_argv(feeds, Path(tmp) / "out", workers))
        site.reset_counts()
        argv = [py_spy, "record", "--format", "raw", "--full-filenames", "--rate", str(rate), "--nonblocking",
                "-o", str(raw)]
        if workers > 1:
            argv.append("--subprocesses")
        run = run_child(argv + ["--"] + newsingest_argv(feeds, Path(tmp) / "out", workers))
        if run.returncode != 0 or not raw.exists():
            raise RuntimeError(f"profiled run failed ({run.returncode}): {run.stderr[-2000:]}")
        if keep_raw is not None:
            shutil.copyfile(raw, keep_raw)
        stacks = parse_raw(raw.read_text(encoding="utf-8", errors="replace").splitlines())
    result = attribute_stacks(stacks, str(repo_root()))
    result.update(articles=n_articles, workers=workers, rerun=rerun, stored=stored, empty_store=empty_store,
                  rate_hz=rate,
                  wall_s=run.seconds,
                  cpu_s_per_article={k: round(v["samples"] / rate / n_articles * 1000, 2)
                                     for k, v in result["stages"].items()},
                  requests=dict(site.requests))
    return result


def _print(result: dict[str, Any]) -> None:
    print(f"{result['articles']} articles, {result['workers']} worker(s), {result['wall_s']:.1f} s wall, "
          f"{result['samples']} on-CPU samples at {result['rate_hz']} Hz")
    print("stage              % of CPU   ms CPU/article")
    for stage, values in result["stages"].items():
        print(f"  {stage:<18}{values['percent']:>6.1f}   {result['cpu_s_per_article'][stage]:>8.2f}")
    for title, key in (("hottest (self)", "self"), ("hottest project functions (inclusive)", "project_inclusive")):
        print(title)
        for row in result[key][:15]:
            print(f"  {row['percent']:>5.1f}%  {row['where']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--rerun", action="store_true", help="profile a second run over unchanged feeds")
    parser.add_argument("--stored", type=int, default=0,
                        help="first ingest this many other articles of the same feeds, unprofiled")
    parser.add_argument("--empty-store", action="store_true",
                        help="with --stored: profile the same new articles on an empty store (the pair)")
    parser.add_argument("--out", type=Path, default=repo_root() / "bench" / "results" / "profile.json")
    parser.add_argument("--keep-raw", type=Path, help="also keep py-spy's collapsed stacks here (for drilling down)")
    args = parser.parse_args(argv)
    if args.empty_store and not args.stored:
        parser.error("--empty-store needs --stored")
    result = profile_run(args.articles, args.workers, args.rate, rerun=args.rerun, stored=args.stored,
                         empty_store=args.empty_store, keep_raw=args.keep_raw)
    result["machine"] = machine_info()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
