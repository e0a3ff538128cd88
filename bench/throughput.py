"""End-to-end benchmarks of newsingest, each figure measured in the same run as its baseline.

1. throughput: newsingest on 1 and 2 workers vs the bare ``trafilatura.extract`` loop (the floor),
   newspaper4k and trafilatura's own downloader, over the same article URLs;
2. scaling: wall time and peak RSS (whole process tree) at growing sizes, each run's time per article
   also in units of the bare loop's time per page, timed just before and after it;
   2b. store growth: the last job of a large run, on its grown store and on an empty one, in pairs;
3. incremental cron cost: a re-run over the same unchanged feeds;
4. fixed cost: a run whose feed has nothing new, spawn to exit;
5. CPU per stage per article, from a py-spy profile (``bench.profile_pipeline``).

Systems are run round-robin (run 1 of each, then run 2 of each, ...) so that load from other work
on the shared machine falls on all of them alike. ``--quick`` fits CI; ``--full`` is the 1k-8k suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench._util import ChildRun, machine_info, repo_root, run_child, stats_of
from bench.corpus import BenchSite, load_pages, plan_articles, read_html, write_feeds_toml
from bench.peers import bare_extract_loop
from bench.profile_pipeline import newsingest_argv, profile_run
from bench.report import render_markdown, update_doc

__all__ = ["Sizes", "main"]

_PYTHON = str(repo_root() / ".venv" / "bin" / "python")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each figure is, and how many repeats."""

    throughput: int
    scaling: tuple[int, ...]
    runs: int
    hosts: int = 24
    profile: int = 0


QUICK = Sizes(throughput=24, scaling=(), runs=3, profile=24)
FULL = Sizes(throughput=1000, scaling=(1000, 2000, 4000, 8000), runs=3, profile=1000)


def _report_totals(out: Path) -> dict[str, Any]:
    """Rows written and failures of the newest run report under ``out``."""
    reports = sorted((out / "_runs").glob("*.json"))
    if not reports:
        return {}
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    totals: dict[str, Any] = {"articles": 0, "comments": 0, "entries": 0, "not_modified": 0, "failures": {}}
    for counts in report["sources"].values():
        for key in ("articles", "comments", "entries", "not_modified"):
            totals[key] += counts.get(key, 0)
        for kind, n in counts.get("failures", {}).items():
            totals["failures"][kind] = totals["failures"].get(kind, 0) + n
    totals["run_seconds"] = report.get("seconds")
    return totals


def run_newsingest(site: BenchSite, feeds: Path, out: Path, workers: int) -> ChildRun:
    """One newsingest run into ``out``; fails loudly if the run does."""
    site.reset_counts()
    # Bounded: a run that hangs (e.g. a stage deadlocked on a failure) must fail the bench, not stall it.
    run = run_child(newsingest_argv(feeds, out, workers), timeout_s=300 + 3 * len(site.articles))
    if run.returncode != 0:
        raise RuntimeError(f"newsingest exited {run.returncode}: {run.stderr[-3000:]}")
    run.extra = {"requests": dict(site.reset_counts()), "report": _report_totals(out)}
    return run


def run_peer(site: BenchSite, peer: str, url_file: Path) -> ChildRun:
    site.reset_counts()
    run = run_child([_PYTHON, "-m", "bench.peers", peer, str(url_file)], cwd=repo_root())
    if run.returncode != 0:
        raise RuntimeError(f"peer {peer} exited {run.returncode}: {run.stderr[-3000:]}")
    run.extra = {"requests": dict(site.reset_counts()), "result": json.loads(run.stdout.strip().splitlines()[-1])}
    return run


def run_bare(site: BenchSite) -> ChildRun:
    """The floor, in this process: read each URL's page from disk and ``trafilatura.extract`` it.

    One untimed page first: the import and trafilatura's lazy set-up are not per-article costs.
    """
    bare_extract_loop([read_html(site.articles[0].page)])
    started = time.perf_counter()
    ok, failed = bare_extract_loop(read_html(article.page) for article in site.articles)
    return ChildRun(time.perf_counter() - started, 0.0, 0, "", "", {"result": {"ok": ok, "failed": failed}})


# The machine's speed drifts by more than the effect the scaling figure looks for, so each scaling run
# is bracketed by the bare loop over the same corpus pages, and its time per article is also given in
# units of that loop's time per page. Two 10-second readings do not see the drift inside a 20-minute
# run, so this is a reading to set beside the wall time, not the linearity verdict.
_CLOCK_PAGES = 200


def _bare_seconds_per_page(htmls: Sequence[bytes]) -> float:
    bare_extract_loop(htmls[:1])
    started = time.perf_counter()
    bare_extract_loop(htmls)
    return (time.perf_counter() - started) / len(htmls)


def _clocked_run(site: BenchSite, feeds: Path, out: Path, clock_pages: Sequence[bytes]) -> ChildRun:
    """One 1-worker newsingest run, with the bare loop's seconds per page just before and after it."""
    before = _bare_seconds_per_page(clock_pages)
    run = run_newsingest(site, feeds, out, 1)
    after = _bare_seconds_per_page(clock_pages)
    per_article = run.seconds / len(site.articles)
    run.extra["clock"] = {"bare_s_per_page": [before, after],
                          "bare_pages_per_article": per_article / ((before + after) / 2)}
    return run


def _summary(runs: Sequence[ChildRun], n: int) -> dict[str, Any]:
    return {
        "articles": n,
        "seconds": stats_of([r.seconds for r in runs]).to_dict(),
        "articles_per_s": stats_of([n / r.seconds for r in runs]).to_dict(),
        "peak_rss_mb": stats_of([r.peak_rss_mb for r in runs]).to_dict(),
        "runs": [{"seconds": r.seconds, "peak_rss_mb": r.peak_rss_mb, **r.extra} for r in runs],
    }


def _ratio(results: dict[str, Any], system: str, baseline: str) -> dict[str, float]:
    """Throughput ratio: of the medians, and per round (same-round pairs) as min/median/max."""
    mine, theirs = results[system]["runs"], results[baseline]["runs"]
    per_round = stats_of([b["seconds"] / a["seconds"] for a, b in zip(mine, theirs)])
    medians = results[baseline]["seconds"]["median"] / results[system]["seconds"]["median"]
    return {"of_medians": medians, "per_round_median": per_round.median, "per_round_min": per_round.min,
            "per_round_max": per_round.max}


def figure_throughput(pages: list[Any], sizes: Sizes, work: Path, peers: bool) -> dict[str, Any]:
    n = sizes.throughput
    articles = plan_articles(pages, n, n_hosts=sizes.hosts)
    systems: dict[str, list[ChildRun]] = {}
    with BenchSite(articles, sizes.hosts) as site:
        feeds = write_feeds_toml(work / "throughput.toml", site.feed_urls())
        urls = work / "urls.txt"
        urls.write_text("\n".join(site.article_url(a) for a in site.articles) + "\n", encoding="utf-8")
        plan: dict[str, Callable[[int], ChildRun]] = {
            "bare_trafilatura_extract": lambda r: run_bare(site),
            "newsingest_1_worker": lambda r: run_newsingest(site, feeds, work / f"t1-{r}", 1),
            "newsingest_2_workers": lambda r: run_newsingest(site, feeds, work / f"t2-{r}", 2),
        }
        if peers:
            plan["trafilatura_fetch_extract"] = lambda r: run_peer(site, "trafilatura", urls)
            plan["newspaper4k"] = lambda r: run_peer(site, "newspaper4k", urls)
        for r in range(sizes.runs):
            for name, measure in plan.items():
                systems.setdefault(name, []).append(measure(r))
                print(f"  throughput run {r + 1}/{sizes.runs} {name}: {systems[name][-1].seconds:.1f} s", flush=True)
    results = {name: _summary(runs, n) for name, runs in systems.items()}
    ratios = {f"{s}_vs_bare": _ratio(results, s, "bare_trafilatura_extract")
              for s in results if s != "bare_trafilatura_extract"}
    if peers:
        ratios["newsingest_1_worker_vs_newspaper4k"] = _ratio(results, "newsingest_1_worker", "newspaper4k")
        ratios["newsingest_2_workers_vs_newspaper4k"] = _ratio(results, "newsingest_2_workers", "newspaper4k")
    return {"articles": n, "hosts": sizes.hosts, "systems": results, "ratios": ratios}


def figure_scaling_and_incremental(pages: list[Any], sizes: Sizes, work: Path, *,
                                   first_runs: int | None = None) -> dict[str, Any]:
    """Scaling over ``sizes.scaling`` (1 worker), then the unchanged re-run after the largest size."""
    first_runs = first_runs or sizes.runs
    scaling: dict[str, Any] = {}
    incremental: dict[str, Any] = {}
    clock_pages = [read_html(page) for page in pages[:_CLOCK_PAGES]]
    for n in sizes.scaling:
        with BenchSite(plan_articles(pages, n, n_hosts=sizes.hosts), sizes.hosts) as site:
            feeds = write_feeds_toml(work / f"scale-{n}.toml", site.feed_urls())
            runs = []
            for r in range(first_runs):
                out = work / f"scale-{n}-{r}"
                runs.append(_clocked_run(site, feeds, out, clock_pages))
                print(f"  scaling {n} run {r + 1}/{first_runs}: {runs[-1].seconds:.1f} s, "
                      f"{runs[-1].peak_rss_mb:.0f} MB, "
                      f"{runs[-1].extra['clock']['bare_pages_per_article']:.2f} bare pages/article", flush=True)
                if n != sizes.scaling[-1] or r != first_runs - 1:
                    shutil.rmtree(out, ignore_errors=True)
            scaling[str(n)] = _summary(runs, n)
            if n == sizes.scaling[-1]:
                incremental = _incremental(site, feeds, out, runs[-1], sizes.runs)
    first, last = sizes.scaling[0], sizes.scaling[-1]
    per_article = {k: v["seconds"]["median"] / v["articles"] for k, v in scaling.items()}
    clocked = {k: stats_of([run["clock"]["bare_pages_per_article"] for run in v["runs"]]).median
               for k, v in scaling.items()}
    return {
        "scaling": {"sizes": scaling, "seconds_per_article": per_article, "fit": _linear_fit(scaling),
                    "time_per_article_ratio_last_vs_first": per_article[str(last)] / per_article[str(first)],
                    "bare_pages_per_article": clocked,
                    "clocked_ratio_last_vs_first": clocked[str(last)] / clocked[str(first)],
                    "peak_rss_ratio_last_vs_first": scaling[str(last)]["peak_rss_mb"]["median"]
                    / scaling[str(first)]["peak_rss_mb"]["median"]},
        "incremental": incremental,
    }


def figure_store_growth(pages: list[Any], stored: int, new: int, pairs: int, work: Path,
                        hosts: int, baseline: int = 0) -> dict[str, Any]:
    """The same job of ``new`` articles run on a store of ``baseline`` articles and on one of ``stored``.

    A run is split into jobs of about 1,000 articles, so an 8k run is linear exactly when its later
    jobs cost what its first one does. Here the late job is run against the grown store and, as its
    pair, against an empty one (``baseline`` 0) or a smaller one, alternately (ABBA order), so that
    the machine's drift, larger than the effect in question, falls on both sides of the ratio alike.
    A smaller baseline store tells growth with the store's size from a cost that any non-empty
    store adds. Both list only the new entries in the feeds, as the late job of a run does (jobs
    split a run by feed): feeds that still listed the stored entries made the grown job also
    refresh the comments of the stored articles still young enough, work the empty job did not have.
    """
    if not 0 <= baseline < stored:
        raise SystemExit("the baseline store must be smaller than the grown one")
    plan = plan_articles(pages, stored + new, n_hosts=hosts)
    old_articles, new_articles = plan[:stored], plan[stored:]
    bases: dict[str, Path | None] = {"baseline": None, "grown": work / "grown-base"}
    with BenchSite(plan, hosts) as site:
        build_seconds = 0.0
        if baseline:
            bases["baseline"] = work / "baseline-base"
            site.publish(old_articles[:baseline])
            first = run_newsingest(site, write_feeds_toml(work / "grow-baseline.toml", site.feed_urls()),
                                   bases["baseline"], 1)
            shutil.copytree(bases["baseline"], bases["grown"])
            build_seconds += first.seconds
        site.publish(old_articles)
        build = run_newsingest(site, write_feeds_toml(work / "grow-stored.toml", site.feed_urls()), bases["grown"], 1)
        build_seconds += build.seconds
        print(f"  stores of {baseline} and {stored}: {build_seconds:.1f} s", flush=True)
        runs: dict[str, list[ChildRun]] = {"baseline": [], "grown": []}
        for pair in range(pairs):
            for side in ("baseline", "grown") if pair % 2 == 0 else ("grown", "baseline"):
                out = work / f"{side}-{pair}"
                site.publish(new_articles)  # only the feeds that list new entries, with only those
                if bases[side] is not None:
                    shutil.copytree(bases[side], out)
                feeds = write_feeds_toml(work / f"grow-{side}.toml", site.feed_urls())
                runs[side].append(run_newsingest(site, feeds, out, 1))
                shutil.rmtree(out, ignore_errors=True)
                print(f"  pair {pair + 1}/{pairs} {side} store: {runs[side][-1].seconds:.1f} s, "
                      f"{runs[side][-1].extra['report']['articles']} articles", flush=True)
    ratios = [g.seconds / e.seconds for e, g in zip(runs["baseline"], runs["grown"])]
    return {"stored": stored, "baseline_stored": baseline, "new": new, "build_seconds": build_seconds,
            "baseline": _summary(runs["baseline"], new), "grown": _summary(runs["grown"], new),
            "ratio": stats_of(ratios).to_dict(), "ratios": ratios}


def _linear_fit(scaling: dict[str, Any]) -> dict[str, float] | None:
    """Least-squares wall = fixed + n * per_article over the sizes: splits start-up from per-article cost."""
    points = [(float(v["articles"]), v["seconds"]["median"]) for v in scaling.values()]
    if len(points) < 2:
        return None
    mean_n = sum(n for n, _ in points) / len(points)
    mean_t = sum(t for _, t in points) / len(points)
    slope = sum((n - mean_n) * (t - mean_t) for n, t in points) / sum((n - mean_n) ** 2 for n, _ in points)
    return {"fixed_s": mean_t - slope * mean_n, "per_article_s": slope}


def _incremental(site: BenchSite, feeds: Path, out: Path, first: ChildRun, runs: int) -> dict[str, Any]:
    reruns = [run_newsingest(site, feeds, out, 1) for _ in range(runs)]
    n_feeds = len(site.feed_urls())
    result = _summary(reruns, len(site.articles))
    result.update(
        feeds=n_feeds, first_run_seconds=first.seconds,
        wall_ratio_vs_first=result["seconds"]["median"] / first.seconds,
        requests_per_feed=max(sum(r.extra["requests"].values()) for r in reruns) / n_feeds,
        rows_written=max(r.extra["report"].get("articles", 0) for r in reruns),
    )
    return result


def figure_nothing_new(pages: list[Any], sizes: Sizes, work: Path) -> dict[str, Any]:
    """Spawn-to-exit wall time of a run whose one feed has nothing new; with interpreter baselines."""
    with BenchSite(plan_articles(pages, 10, n_hosts=1), 1) as site:
        feeds = write_feeds_toml(work / "nothing-new.toml", site.feed_urls())
        out = work / "nothing-new"
        run_newsingest(site, feeds, out, 1)
        runs = [run_newsingest(site, feeds, out, 1) for _ in range(sizes.runs)]
    python = [run_child([_PYTHON, "-c", "pass"]) for _ in range(sizes.runs)]
    beam = [run_child([_PYTHON, "-c", "import apache_beam, pyarrow.parquet, trafilatura"]) for _ in range(sizes.runs)]
    return {
        "newsingest": _summary(runs, 0),
        "python_startup_s": stats_of([r.seconds for r in python]).to_dict(),
        "import_beam_pyarrow_trafilatura_s": stats_of([r.seconds for r in beam]).to_dict(),
    }


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target of issue 7 with the measured value and whether it is met."""
    checks: dict[str, Any] = {}
    ratios = results.get("throughput", {}).get("ratios", {})

    def check(name: str, value: float | None, goal: float, higher: bool) -> None:
        if value is not None:
            checks[name] = {"value": value, "goal": goal, "met": value >= goal if higher else value <= goal}

    check("1 worker vs bare trafilatura (>= 0.8x)", ratios.get("newsingest_1_worker_vs_bare", {}).get("of_medians"), 0.8, True)
    check("2 workers vs bare trafilatura (>= 1.4x)", ratios.get("newsingest_2_workers_vs_bare", {}).get("of_medians"), 1.4, True)
    check("1 worker vs newspaper4k (>= 4x)", ratios.get("newsingest_1_worker_vs_newspaper4k", {}).get("of_medians"), 4.0, True)
    growth = results.get("store_growth", {}).get("ratio", {}).get("median")
    if not results.get("store_growth", {}).get("baseline_stored"):
        check("same job on a grown store vs an empty one (<= 1.1x)", growth, 1.1, False)
    scaling = results.get("scaling", {})
    check("peak RSS last size vs first (<= 1.2x)", scaling.get("peak_rss_ratio_last_vs_first"), 1.2, False)
    inc = results.get("incremental", {})
    check("re-run requests per feed (<= 1)", inc.get("requests_per_feed"), 1.0, False)
    check("re-run rows written (= 0)", inc.get("rows_written"), 0, False)
    check("re-run wall vs first run (< 5%)", inc.get("wall_ratio_vs_first"), 0.05, False)
    nothing = results.get("nothing_new", {}).get("newsingest", {}).get("seconds", {}).get("median")
    check("nothing-new run wall seconds (< 3 s)", nothing, 3.0, False)
    return checks


def _finish(results: dict[str, Any], started: float, label: str, args: argparse.Namespace) -> int:
    """Judge the targets, write ``<results>/<label>.json`` and the doc block, print the tables."""
    results["targets"] = _targets(results)
    results["seconds"] = time.perf_counter() - started
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{label}.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    markdown = render_markdown(results)
    update_doc(args.doc, label, markdown)
    print(markdown)
    return 0


def _new_results(label: str, sizes: Sizes) -> dict[str, Any]:
    """The head of a run's results: its label (the file and doc block it goes to), start, machine, sizes."""
    return {"mode": label, "started_at": datetime.now(timezone.utc).isoformat(), "machine": machine_info(),
            "sizes": asdict(sizes)}


def _scaling_only(sizes: Sizes, mode: str, args: argparse.Namespace) -> int:
    if not sizes.scaling:
        raise SystemExit("--only-scaling needs --full or --scaling")
    results = _new_results(mode, sizes)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsingest-bench-") as tmp:
        results.update(figure_scaling_and_incremental(load_pages(), sizes, Path(tmp)))
    return _finish(results, started, mode, args)


def _store_growth_only(sizes: Sizes, mode: str, args: argparse.Namespace) -> int:
    stored, new, *rest = (int(n) for n in args.store_growth.split(","))
    baseline = rest[0] if rest else 0
    results = _new_results(mode, sizes)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsingest-bench-") as tmp:
        print(f"figure 2b: a job of {new} articles on a store of {baseline} and on one of {stored}, "
              f"{sizes.runs} pairs", flush=True)
        results["store_growth"] = figure_store_growth(load_pages(), stored, new, sizes.runs, Path(tmp), sizes.hosts,
                                                      baseline)
    return _finish(results, started, mode, args)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CI size: 24 articles, no 1k-8k scaling (default)")
    mode.add_argument("--full", action="store_true", help="1,000 articles and the 1k/2k/4k/8k scaling")
    parser.add_argument("--runs", type=int, help="repeats of each measurement (at least 3 for the report)")
    parser.add_argument("--articles", type=int, help="articles for the throughput figure")
    parser.add_argument("--scaling", help="comma-separated scaling sizes, e.g. 100,200,400,800")
    parser.add_argument("--only-scaling", action="store_true", help="run figures 2-3 only")
    parser.add_argument("--store-growth", metavar="STORED,NEW[,BASELINE]",
                        help="run figure 2b only: a job of NEW articles on a store of BASELINE (default 0: empty) "
                             "and on one of STORED, --runs pairs (e.g. 7000,1000: the last job of an 8k run)")
    parser.add_argument("--no-peers", action="store_true", help="skip newspaper4k and trafilatura's downloader")
    parser.add_argument("--no-profile", action="store_true", help="skip the per-stage CPU profile")
    parser.add_argument("--label", help="name of the result file and doc block (default: the mode)")
    parser.add_argument("--results", type=Path, default=repo_root() / "bench" / "results")
    parser.add_argument("--doc", type=Path, default=repo_root() / "docs" / "benchmarks.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the suite, write ``bench/results/<mode>.json`` and the tables of ``docs/benchmarks.md``."""
    args = _parse(argv)
    mode, sizes = ("full", FULL) if args.full else ("quick", QUICK)
    label = args.label or mode
    scaling = tuple(int(n) for n in args.scaling.split(",")) if args.scaling else sizes.scaling
    sizes = Sizes(args.articles or sizes.throughput, scaling, args.runs or sizes.runs, sizes.hosts,
                  0 if args.no_profile or args.only_scaling else (args.articles or sizes.profile))
    if args.only_scaling:
        return _scaling_only(sizes, label, args)
    if args.store_growth:
        return _store_growth_only(sizes, label, args)
    pages = load_pages()
    results = {**_new_results(label, sizes), "corpus_pages": len(pages)}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsingest-bench-") as tmp:
        work = Path(tmp)
        print(f"figure 1: throughput over {sizes.throughput} articles, {sizes.runs} runs", flush=True)
        results["throughput"] = figure_throughput(pages, sizes, work, peers=not args.no_peers)
        if sizes.scaling:
            print(f"figures 2-3: scaling {sizes.scaling} and the unchanged re-run", flush=True)
            results.update(figure_scaling_and_incremental(pages, sizes, work))
        else:
            print("figure 3: the unchanged re-run after a throughput-size run", flush=True)
            one_size = Sizes(sizes.throughput, (sizes.throughput,), sizes.runs, sizes.hosts)
            results.update(figure_scaling_and_incremental(pages, one_size, work, first_runs=1))
            results.pop("scaling")
        print("figure 4: nothing-new run", flush=True)
        results["nothing_new"] = figure_nothing_new(pages, sizes, work)
    if sizes.profile:
        print(f"figure 5: per-stage CPU profile over {sizes.profile} articles", flush=True)
        try:
            results["stage_cpu"] = profile_run(sizes.profile, 1, rate=100, n_hosts=sizes.hosts)
        except (OSError, RuntimeError) as exc:  # py-spy missing or not allowed to ptrace: keep the other figures
            results["stage_cpu_error"] = f"{type(exc).__name__}: {exc}"[:2000]
            print(f"  profile failed: {results['stage_cpu_error']}", flush=True)
    return _finish(results, started, label, args)


if __name__ == "__main__":
    sys.exit(main())
