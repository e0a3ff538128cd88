"""Markdown tables of a benchmark result, and their place in ``docs/benchmarks.md``.

The document keeps hand-written analysis around generated blocks fenced by
``<!-- bench:MODE:start -->`` / ``<!-- bench:MODE:end -->``; a run replaces only its own block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["render_markdown", "update_doc"]

_LABELS = {
    "bare_trafilatura_extract": "bare `trafilatura.extract` loop (floor, HTML from disk)",
    "newsingest_1_worker": "newsingest, 1 worker (everything on)",
    "newsingest_2_workers": "newsingest, 2 workers (multi_processing)",
    "trafilatura_fetch_extract": "trafilatura `fetch_url` + `extract`",
    "newspaper4k": "newspaper4k `download` + `parse`",
}


def _mmm(stats: dict[str, float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(stats['median'])} ({fmt.format(stats['min'])}–{fmt.format(stats['max'])})"


def _throughput(fig: dict[str, Any]) -> list[str]:
    bare = fig["systems"]["bare_trafilatura_extract"]["seconds"]["median"]
    lines = [f"**1. End-to-end throughput**, {fig['articles']} article URLs on {fig['hosts']} loopback hosts; "
             "median (min–max):", "",
             "| system | articles/s | wall s | × bare loop | peak RSS MB | rows / ok |",
             "|---|---|---|---|---|---|"]
    for name, system in fig["systems"].items():
        runs = system["runs"]
        rows = runs[-1].get("report", {}).get("articles", runs[-1].get("result", {}).get("ok", ""))
        rss = _mmm(system["peak_rss_mb"], "{:.0f}") if system["peak_rss_mb"]["max"] else "(in-process)"
        lines.append(f"| {_LABELS.get(name, name)} | {_mmm(system['articles_per_s'])} | "
                     f"{_mmm(system['seconds'], '{:.1f}')} | {bare / system['seconds']['median']:.2f} | {rss} | {rows} |")
    lines += ["", "| ratio (throughput) | of medians | same-round min–max |", "|---|---|---|"]
    for name, ratio in fig["ratios"].items():
        lines.append(f"| {name.replace('_', ' ')} | {ratio['of_medians']:.2f}× | "
                     f"{ratio['per_round_min']:.2f}–{ratio['per_round_max']:.2f} |")
    return lines


def _scaling(fig: dict[str, Any]) -> list[str]:
    clocked = fig.get("bare_pages_per_article", {})  # absent from results before the clock was added
    lines = ["**2. Scaling** (1 worker), median (min–max); *bare pages/article*: each run's time per article "
             "in units of the bare loop's time per page, timed just before and after the run:", "",
             "| articles | wall s | ms/article | bare pages/article | peak RSS MB |", "|---|---|---|---|---|"]
    for n, size in fig["sizes"].items():
        clock = f"{clocked[n]:.2f}" if n in clocked else "–"
        lines.append(f"| {n} | {_mmm(size['seconds'], '{:.1f}')} | {1000 * fig['seconds_per_article'][n]:.1f} | "
                     f"{clock} | {_mmm(size['peak_rss_mb'], '{:.0f}')} |")
    ratio = f"{fig['time_per_article_ratio_last_vs_first']:.2f}×"
    if clocked:
        ratio += f" (on the bare loop's clock: {fig['clocked_ratio_last_vs_first']:.2f}×)"
    lines += ["", f"Time per article, largest vs smallest: {ratio}; "
              f"peak RSS, largest vs smallest: {fig['peak_rss_ratio_last_vs_first']:.2f}×."]
    if fig.get("fit"):
        lines[-1] += (f" Least-squares fit: wall = {fig['fit']['fixed_s']:.1f} s + "
                      f"{1000 * fig['fit']['per_article_s']:.0f} ms × articles.")
    return lines


def _store_growth(fig: dict[str, Any]) -> list[str]:
    baseline = fig.get("baseline_stored", 0)
    smaller = f"one holding {baseline}" if baseline else "an empty store"
    lines = [f"**2b. Store growth** (1 worker): the same job of {fig['new']} new articles on {smaller} and "
             f"on one already holding {fig['stored']} (built in {fig['build_seconds']:.0f} s), run in alternating "
             "pairs; median (min–max):", "",
             "| store | wall s | ms/article | peak RSS MB | articles written |", "|---|---|---|---|---|"]
    # Results before session 8 name the baseline side "empty".
    for side, label in (("baseline" if "baseline" in fig else "empty", f"{baseline} stored" if baseline else "empty"),
                        ("grown", f"{fig['stored']} stored")):
        runs = fig[side]
        lines.append(f"| {label} | {_mmm(runs['seconds'], '{:.1f}')} | "
                     f"{1000 * runs['seconds']['median'] / fig['new']:.1f} | {_mmm(runs['peak_rss_mb'], '{:.0f}')} | "
                     f"{', '.join(str(r['report']['articles']) for r in runs['runs'])} |")
    lines += ["", f"Grown vs {'smaller' if baseline else 'empty'}, per pair: {_mmm(fig['ratio'])}× "
              f"({', '.join(f'{r:.2f}' for r in fig['ratios'])})."]
    return lines


def _incremental(inc: dict[str, Any]) -> list[str]:
    requests = inc["runs"][-1]["requests"]
    return [f"**3. Unchanged re-run** after a {inc['articles']}-article run ({inc['feeds']} feeds): "
            f"wall {_mmm(inc['seconds'], '{:.1f}')} s vs {inc['first_run_seconds']:.1f} s for the first run "
            f"= {100 * inc['wall_ratio_vs_first']:.1f}%; {inc['requests_per_feed']:.2f} requests per feed "
            f"({', '.join(f'{k}={v}' for k, v in sorted(requests.items())) or 'none'}); "
            f"{inc['rows_written']} rows written."]


def _nothing_new(fig: dict[str, Any]) -> list[str]:
    return [f"**4. Nothing-new run** (one feed, spawn to exit): {_mmm(fig['newsingest']['seconds'])} s. "
            f"For scale: `python -c pass` {_mmm(fig['python_startup_s'])} s; importing apache_beam + "
            f"pyarrow.parquet + trafilatura {_mmm(fig['import_beam_pyarrow_trafilatura_s'])} s."]


def _stage_cpu(fig: dict[str, Any]) -> list[str]:
    lines = [f"**5. CPU per stage** (py-spy, {fig['articles']} articles, {fig['workers']} worker, on-CPU samples "
             f"at {fig['rate_hz']} Hz; a sample is charged to its innermost project frame):", "",
             "| stage | % of CPU | ms CPU / article |", "|---|---|---|"]
    for stage, values in fig["stages"].items():
        lines.append(f"| {stage} | {values['percent']:.1f} | {fig['cpu_s_per_article'][stage]:.1f} |")
    lines += ["", "Hottest functions (self time):", ""]
    lines += [f"- {row['percent']:.1f}% `{row['where']}`" for row in fig["self"][:10]]
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    """The result as markdown: machine, one table or line per figure, and the targets."""
    machine = results["machine"]
    lines = [f"Run `{results['mode']}` of {results['started_at'][:19]}Z, {results['seconds']:.0f} s; "
             f"{machine['cpu_count']} cores ({machine['processor']}), load average at start "
             f"{', '.join(f'{x:.2f}' for x in machine['loadavg_at_start'])}; "
             f"{results.get('corpus_pages', 892)} distinct corpus pages; {results['sizes']['runs']} runs per figure.", ""]
    if "throughput" in results:
        lines += _throughput(results["throughput"]) + [""]
    if "scaling" in results:
        lines += _scaling(results["scaling"]) + [""]
    if "store_growth" in results:
        lines += _store_growth(results["store_growth"]) + [""]
    if results.get("incremental"):
        lines += _incremental(results["incremental"]) + [""]
    if "nothing_new" in results:
        lines += _nothing_new(results["nothing_new"]) + [""]
    if "stage_cpu" in results:
        lines += _stage_cpu(results["stage_cpu"]) + [""]
    if results["targets"]:  # a store-growth run against a smaller store checks none
        lines += ["| target | measured | met |", "|---|---|---|"]
    for name, check in results["targets"].items():
        lines.append(f"| {name} | {check['value']:.3g} | {'yes' if check['met'] else '**no**'} |")
    return "\n".join(lines).rstrip("\n") + "\n"


def update_doc(path: Path, mode: str, markdown: str) -> None:
    """Replace the ``mode`` block of the document (appending it if the document has none)."""
    start, end = f"<!-- bench:{mode}:start -->", f"<!-- bench:{mode}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{markdown}{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + f"\n\n## Latest `{mode}` run\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
