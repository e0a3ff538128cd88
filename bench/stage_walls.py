"""Wall time of each Beam stage of one job, on 1 worker and on 2, to see which stages scale.

The direct runner runs a job's fused stages one after another and splits each stage's input between
its workers; a stage ends when its slowest worker does. py-spy's per-stage CPU (``profile_pipeline``)
cannot show that, so this times each stage on the runner's side. Each run is a fresh child process
(the runner in-process, so its stages can be timed); 1- and 2-worker runs alternate.

    python -m bench.stage_walls --articles 300 [--rounds 2] [--out bench/results/stage-walls.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

from bench._util import machine_info, repo_root, run_child
from bench.corpus import BenchSite, load_pages, plan_articles, write_feeds_toml
from bench.profile_pipeline import newsingest_argv

__all__ = ["main", "report", "stage_label", "summarize"]

_N_HOSTS = 24


def stage_label(fused_name: str) -> str:
    """The top-level transforms a fused stage runs, sorted (the runner's order varies between jobs)."""
    names = set()
    for part in re.split(r"[()+]+", fused_name):
        top = re.sub(r"_\d+$", "", re.split(r"[/-]", part.removeprefix("ref_AppliedPTransform_"), maxsplit=1)[0])
        if top and not top.startswith(("Flatten", "ref_PCollection")):
            names.add(top)
    return "+".join(sorted(names))


def _timed_job(feeds: Path, out: Path, workers: int) -> dict[str, Any]:
    """Run one job in this process, timing each stage's bundles (FnApiRunner's private hook: bench only)."""
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    from pipeline.cli import main as newsingest

    walls: Counter[str] = Counter()
    labels: dict[str, str] = {}  # fused stage name -> its label, numbered when two stages share one
    execute = fn_runner.FnApiRunner._execute_bundle

    def timed(runner: Any, context: Any, manager: Any, bundle_input: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(runner, context, manager, bundle_input)
        finally:
            name = manager.stage.name
            if name not in labels:
                label = stage_label(name)
                same = sum(1 for other in labels.values() if other.split(" #")[0] == label)
                labels[name] = f"{label} #{same + 1}" if same else label
            walls[labels[name]] += time.perf_counter() - started

    fn_runner.FnApiRunner._execute_bundle = timed
    started = time.perf_counter()
    code = newsingest(newsingest_argv(feeds, out, workers)[1:])  # the bench's command line, in this process
    return {"exit": code, "wall_s": time.perf_counter() - started, "stages_s": dict(walls)}


def _child(feeds: Path, out: Path, workers: int) -> dict[str, Any]:
    run = run_child([sys.executable, "-m", "bench.stage_walls", "--child", str(feeds), str(out), str(workers)],
                    cwd=repo_root())
    if run.returncode != 0:
        raise RuntimeError(f"job on {workers} worker(s) failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure(n_articles: int, rounds: int) -> dict[str, Any]:
    """Alternating 1- and 2-worker jobs over the same fresh site; medians of each stage's wall time."""
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    plan = plan_articles(load_pages(), n_articles, n_hosts=_N_HOSTS)
    with tempfile.TemporaryDirectory(prefix="newsingest-walls-") as tmp, BenchSite(plan, _N_HOSTS) as site:
        feeds = write_feeds_toml(Path(tmp) / "feeds.toml", site.feed_urls())
        for round_ in range(rounds):
            for workers in ((1, 2) if round_ % 2 == 0 else (2, 1)):
                runs[workers].append(_child(feeds, Path(tmp) / f"out-{workers}-{round_}", workers))
                print(f"  round {round_ + 1}/{rounds}, {workers} worker(s): {runs[workers][-1]['wall_s']:.1f} s",
                      flush=True)
    return summarize(n_articles, rounds, runs)


def summarize(n_articles: int, rounds: int, runs: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians of the whole runs and of each stage's wall time, per number of workers."""
    stages = sorted({s for rs in runs.values() for r in rs for s in r["stages_s"]},
                    key=lambda s: -median(r["stages_s"].get(s, 0.0) for r in runs[1]))

    def med(workers: int, stage: str | None = None) -> float:
        return median(r["wall_s"] if stage is None else r["stages_s"].get(stage, 0.0) for r in runs[workers])

    return {
        "articles": n_articles, "rounds": rounds, "runs": runs,
        "wall_s": {w: med(w) for w in runs},
        "stages": [{"stage": s, "one_worker_s": med(1, s), "two_workers_s": med(2, s)} for s in stages],
        "outside_stages_s": {w: med(w) - sum(med(w, s) for s in stages) for w in runs},
    }


def report(result: dict[str, Any]) -> str:
    """A markdown table: each stage's median wall time on 1 and 2 workers and the speed-up."""
    lines = [f"Stage wall times, {result['articles']} articles, medians of {result['rounds']} runs per side:", "",
             "| stage (its top-level transforms) | 1 worker s | 2 workers s | speed-up |", "|---|---|---|---|"]
    rows = [(s["stage"], s["one_worker_s"], s["two_workers_s"]) for s in result["stages"] if s["one_worker_s"] >= 0.3]
    rows += [("outside the stages (start, driver, commit)", *result["outside_stages_s"].values()),
             ("**whole run**", *result["wall_s"].values())]
    lines += [f"| {name} | {one:.1f} | {two:.1f} | {one / two:.2f}× |" for name, one, two in rows if two > 0]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stage_walls", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=repo_root() / "bench" / "results" / "stage-walls.json")
    parser.add_argument("--child", nargs=3, metavar=("FEEDS", "OUT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        feeds, out, workers = args.child
        print(json.dumps(_timed_job(Path(feeds), Path(out), int(workers))))
        return 0
    result = measure(args.articles, args.rounds)
    result["machine"] = machine_info()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
