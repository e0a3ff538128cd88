"""Syndication and stories benchmark: duplicate pairs, story grouping, cost per article.

* Near-duplicates: pairs built from real pages of the article-extraction benchmark corpus: the same
  page under a second URL with other chrome (positive), a trimmed syndicated copy (positive),
  same-event reports by other outlets, other pages of the same site and the most similar other page
  on the same topic (negatives). Baseline: exact text hash (what content_hash dedup gives).
* Stories: the hand-labelled set in bench/gold/stories/ (see its README), run through the real
  ``AssignStories`` transform in two runs (a re-run adding articles to stories of the first).
  Pairwise precision/recall/F1. Baseline: MediaCloud-style title similarity.
* Cost: query cost per article against 1k and 8k stored articles (synthetic articles made of corpus
  sentences under new URLs), in memory and end to end through Beam with committed state.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import apache_beam as beam
import lxml.html
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from bench._util import corpora_root, repo_root
from pipeline.config import ExtractConfig, SinkConfig
from schemas.records import Article, FeedEntry, RawPage
from transforms.extract import extract_article, make_extractor
from transforms.sink import write_rows
from transforms.stories import AssignStories, StoriesConfig, commit_story_state
from transforms.stories import index
from transforms.stories.cluster import candidate_keys, pair_candidates, profile_article, resolve, score_pair
from transforms.stories.fingerprint import cosine
from transforms.urls import canonicalize_url, stable_id

GOLD = repo_root() / "bench" / "gold" / "stories" / "stories.tsv"
RESULTS = repo_root() / "bench" / "results" / "stories.json"
FETCHED = datetime(2019, 11, 20, 12, 0, tzinfo=timezone.utc)
CONFIG = StoriesConfig()
_EXTRACT = ExtractConfig(min_words=0)
_EXTRACTOR = make_extractor(_EXTRACT)


def _extract(html: str, url: str) -> Article | None:
    entry = FeedEntry(feed_url="https://feed.example/", url=url, canonical_url=canonicalize_url(url),
                      article_id=stable_id(canonicalize_url(url)))
    result = extract_article(RawPage(entry, url, 200, html, FETCHED), _EXTRACT, _EXTRACTOR)
    return result if isinstance(result, Article) else None


def _page_html(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8", "replace")


def _load_aeb(root: Path) -> dict[str, tuple[str, str]]:
    truth = json.loads((root / "article-extraction-benchmark" / "ground-truth.json").read_text())
    return {key: (value["url"], f"article-extraction-benchmark/html/{key}.html.gz") for key, value in truth.items()}


_TAGGER: Any = None


def _tag(article: Article) -> Article:
    """Actors and topics from the tagging stage, as the pipeline feeds them in."""
    global _TAGGER
    if _TAGGER is None:
        from transforms.tagging import Tagger, TaggingConfig
        _TAGGER = Tagger.load(TaggingConfig(ner="rules"))
    tags = _TAGGER.tag(article.text, doc_id=article.article_id, doc_kind="article", title=article.title,
                       date=article.date)
    return replace(article, actors=tags.actors, topics=tags.topics)


# ---- near-duplicate pairs -------------------------------------------------------------------

_CHROME = """<html><head><title>{title} | Mirror Daily</title></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tech">Tech</a> <a href="/sport">Sport</a></nav></header>
<div class="layout"><aside><h3>Most read</h3><ul>{most_read}</ul></aside>{body}</div>
<footer><p>Mirror Daily, all rights reserved. Subscribe to our newsletter for the day's top stories.</p></footer>
</body></html>"""
_SYNDICATED = """<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}
<p><em>This story originally appeared on {host}.</em></p></article></body></html>"""


def _rechromed(html: str, others: list[str]) -> str:
    """The same page with its site chrome swapped for another site's (nav, aside, footer)."""
    tree = lxml.html.document_fromstring(html)
    for element in tree.xpath("//nav|//header|//footer|//aside|//script|//style"):
        element.drop_tree()
    body = lxml.html.tostring(tree.body, encoding="unicode") if tree.body is not None else html
    title = (tree.findtext(".//title") or "").strip()
    most_read = "".join(f"<li><a href='/r/{i}'>{t}</a></li>" for i, t in enumerate(others))
    return _CHROME.format(title=title, most_read=most_read, body=body)


def _trimmed(article: Article, share: float) -> str:
    paragraphs = article.text.split("\n")
    kept = paragraphs[:max(2, round(len(paragraphs) * share))]
    body = "".join(f"<p>{p}</p>" for p in kept)
    return _SYNDICATED.format(title=article.title or "", paragraphs=body, host=article.source)


def _alongside(copy: Article | None, original: Article) -> Article | None:
    """A copy appears when its original does (a wire partner, a mirror), not when this bench ran."""
    if copy is None:
        return None
    moment = (original.published_at or original.fetched_at) + timedelta(hours=1)
    return replace(copy, published_at=moment, fetched_at=moment)


def _is_duplicate(a: Article, b: Article) -> tuple[bool, float]:
    pa_, pb = profile_article(a, CONFIG), profile_article(b, CONFIG)
    meets = bool(set(candidate_keys(pa_, CONFIG)) & set(candidate_keys(pb, CONFIG)))
    similarity = score_pair(pa_, pb, CONFIG).duplicate
    return meets and similarity >= CONFIG.duplicate_threshold, similarity


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "tp": tp, "fp": fp, "fn": fn}


def build_pairs(root: Path, originals: dict[str, Article], gold: dict[str, str]) -> list[tuple[str, Article, Article, bool]]:
    """(kind, a, b, is_duplicate) pairs from the corpus pages."""
    rng = random.Random(7)
    english = sorted(k for k, a in originals.items() if a.language == "en" and a.word_count >= 150)
    titles = [originals[k].title or "" for k in english]
    pairs: list[tuple[str, Article, Article, bool]] = []
    profiles = {k: profile_article(originals[k], CONFIG) for k in english}
    for key in english:
        original = originals[key]
        html = _page_html(root / "article-extraction-benchmark" / "html" / f"{key}.html.gz")
        mirror = _alongside(_extract(_rechromed(html, rng.sample(titles, 5)), f"https://mirror.example/{key[:12]}"),
                            original)
        if mirror is not None:
            pairs.append(("same page, other URL and chrome", original, mirror, True))
        share = rng.choice([0.5, 0.6, 0.7, 0.8])
        copy = _alongside(_extract(_trimmed(original, share), f"https://partner.example/{key[:12]}"), original)
        if copy is not None:
            pairs.append((f"trimmed copy ({share:.0%} of paragraphs)", original, copy, True))
        story = gold.get(key)
        nearest = max((k for k in english if k != key and (story is None or gold.get(k) != story)),
                      key=lambda k: cosine(profiles[key].terms, profiles[k].terms))
        pairs.append(("unrelated page, most similar topic", original, originals[nearest], False))
    by_host: dict[str, list[str]] = defaultdict(list)
    for key in english:
        by_host[originals[key].source].append(key)
    for keys in by_host.values():
        pairs.extend(("other page, same site", originals[a], originals[b], False) for a, b in itertools.combinations(keys, 2))
    by_story: dict[str, list[str]] = defaultdict(list)
    for key, story in gold.items():
        if key in originals:
            by_story[story].append(key)
    for keys in by_story.values():
        pairs.extend(("same event, other outlet", originals[a], originals[b], False) for a, b in itertools.combinations(keys, 2))
    return pairs


def bench_duplicates(root: Path, originals: dict[str, Article], gold: dict[str, str]) -> dict[str, Any]:
    pairs = build_pairs(root, originals, gold)
    counts = {"ours": [0, 0, 0], "exact_hash": [0, 0, 0]}
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for kind, a, b, truth in pairs:
        ours, similarity = _is_duplicate(a, b)
        exact = a.content_hash == b.content_hash
        for name, predicted in (("ours", ours), ("exact_hash", exact)):
            slot = 0 if predicted and truth else 1 if predicted else 2 if truth else None
            if slot is not None:
                counts[name][slot] += 1
        by_kind[kind][0] += 1
        by_kind[kind][1] += int(ours == truth)
        if ours != truth:
            misses.append({"kind": kind, "a": a.url, "b": b.url, "similarity": similarity})
    return {
        "pairs": len(pairs), "positives": sum(p[3] for p in pairs),
        "ours": _prf(*counts["ours"]), "baseline_exact_hash": _prf(*counts["exact_hash"]),
        "accuracy_by_kind": {k: {"pairs": n, "correct": c} for k, (n, c) in sorted(by_kind.items())},
        "errors": misses[:20],
    }


# ---- stories ----------------------------------------------------------------------------------

def load_gold(root: Path) -> tuple[dict[str, str], dict[str, Article]]:
    """Gold story label per AEB id, and the tagged articles extracted from the pages."""
    gold: dict[str, str] = {}
    for line in GOLD.read_text().splitlines():
        if line and not line.startswith("#"):
            story, path, _ = line.split("\t")
            gold[Path(path).name.split(".")[0]] = story
    articles = {}
    for key, (url, path) in sorted(_load_aeb(root).items()):
        article = _extract(_page_html(root / path), url)
        if article is not None:
            articles[key] = _tag(article)
    return gold, articles


def _pairwise(predicted: dict[str, str], gold: dict[str, str]) -> dict[str, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold, same_predicted = gold[a] == gold[b], predicted[a] == predicted[b]
        tp += same_gold and same_predicted
        fp += same_predicted and not same_gold
        fn += same_gold and not same_predicted
    return _prf(tp, fp, fn)


def simulate(profiles: list, config: StoriesConfig) -> dict[str, str]:
    """The transform's logic in memory (keys → bounded pairs → scores → ordered resolve)."""
    by_key: dict[str, list] = defaultdict(list)
    for p in profiles:
        for key in dict.fromkeys(candidate_keys(p, config)):
            by_key[key].append((p.order, p.origin))
    by_id = {p.article_id: p for p in profiles}
    pairs = {pair for key, members in by_key.items() for pair in pair_candidates(key, members, config)}
    edges = [score_pair(by_id[a], by_id[b], config) for a, b in pairs]
    return {d.article_id: d.story_id for d in resolve(profiles, edges, config)}


def _title_baseline(articles: dict[str, Article]) -> dict[str, str]:
    """MediaCloud-style: same story when titles share half their words (within the window)."""
    words = {k: set(re.findall(r"\w{3,}", (a.title or "").lower())) for k, a in articles.items()}
    story: dict[str, str] = {}
    for key in sorted(articles, key=lambda k: articles[k].published_at or FETCHED):
        match = next((story[o] for o in story if words[key] and len(words[key] & words[o]) / len(words[key] | words[o]) >= 0.5), None)
        story[key] = match or key
    return story


def _run_beam(out: str, run_id: str, articles: list[Article]) -> list[Article]:
    collected: list[Article] = []
    with tempfile.TemporaryDirectory() as spool:
        with beam.Pipeline(runner=FnApiRunner()) as p:
            result = p | "Articles" >> beam.Create(articles) | AssignStories(CONFIG, out=out, run_id=run_id)
            _ = (result.articles | "Ids" >> beam.Map(lambda a: json.dumps([a.article_id, a.story_id, a.duplicate_of]))
                 | "Save" >> beam.io.WriteToText(f"{spool}/out"))
        for path in Path(spool).glob("out*"):
            collected.extend(json.loads(line) for line in path.read_text().splitlines())
    commit_story_state(out, run_id)
    return collected


def bench_stories(gold: dict[str, str], articles: dict[str, Article]) -> dict[str, Any]:
    members = {k: articles[k] for k in gold if k in articles}
    gold = {k: gold[k] for k in members}
    profiles = [profile_article(a, CONFIG) for a in members.values()]
    key_of = {a.article_id: k for k, a in members.items()}
    in_memory = {key_of[i]: s for i, s in simulate(profiles, CONFIG).items()}
    no_actors = {key_of[i]: s for i, s in simulate([replace(p, actors=()) for p in profiles], CONFIG).items()}
    ordered = sorted(members.values(), key=lambda a: a.published_at or FETCHED)
    half = len(ordered) // 2
    with tempfile.TemporaryDirectory() as out:
        rows = _run_beam(out, "run1", ordered[:half]) + _run_beam(out, "run2", ordered[half:])
    beam_stories = {key_of[article_id]: story for article_id, story, _ in rows}
    return {
        "articles": len(members), "stories": len(set(gold.values())),
        "beam_two_runs": _pairwise(beam_stories, gold), "in_memory_one_pass": _pairwise(in_memory, gold),
        "without_actors": _pairwise(no_actors, gold), "baseline_title_similarity": _pairwise(_title_baseline(members), gold),
        "predicted_groups": _groups(beam_stories, gold),
    }


def _groups(predicted: dict[str, str], gold: dict[str, str]) -> list[list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for key, story in predicted.items():
        groups[story].append(gold[key])
    return sorted(sorted(g) for g in groups.values())


# ---- cost -----------------------------------------------------------------------------------

_COST_RUNS = 5


def _synthetic(articles: list[Article], n: int, seed: int, start: datetime, span_days: float) -> list:
    """``n`` stored profiles: corpus sentences recombined into new articles under new URLs."""
    rng = random.Random(seed)
    sentences = [s for a in articles for s in re.split(r"(?<=[.!?])\s+", a.text) if len(s.split()) >= 8]
    profiles = []
    for i in range(n):
        text = " ".join(rng.sample(sentences, 14))
        base = rng.choice(articles)
        moment = start + timedelta(days=rng.uniform(0, span_days))
        article = replace(base, article_id=stable_id(f"synthetic-{seed}-{i}"), url=f"https://stored.example/{seed}/{i}",
                          canonical_url=f"https://stored.example/{seed}/{i}", text=text, title=" ".join(text.split()[:8]),
                          published_at=moment, fetched_at=moment, content_hash=stable_id(text), source="stored.example")
        profile = profile_article(article, CONFIG, origin="stored")
        profiles.append(replace(profile, story_id=stable_id("story", profile.article_id)))
    return profiles


def _query_cost(stored: list, queries: list) -> dict[str, float]:
    """Per new article: key lookups, bounded candidates, scoring and the decision, in memory."""
    postings: dict[str, list] = defaultdict(list)
    for p in stored:
        for key in dict.fromkeys(candidate_keys(p, CONFIG)):
            postings[key].append((p.order, p.origin))
    for members in postings.values():
        members.sort()
    by_id = {p.article_id: p for p in stored}
    candidates = 0
    started = time.perf_counter()
    for query in queries:
        by_id[query.article_id] = query
        pairs = set()
        for key in dict.fromkeys(candidate_keys(query, CONFIG)):
            members = postings.get(key, [])[-CONFIG.max_postings:] + [(query.order, "new")]
            pairs.update(pair_candidates(key, members, CONFIG))
        candidates += len(pairs)
        resolve([query], [score_pair(query, by_id[b], CONFIG) for _, b in pairs], CONFIG)
    seconds = time.perf_counter() - started
    return {"ms_per_article": round(1000 * seconds / len(queries), 3), "candidates_per_article": round(candidates / len(queries), 1)}


def _write_state(out: str, stored: list) -> str:
    """``stored`` as the committed stories state of a run ``seed`` under ``out``."""
    sink = SinkConfig(out=out, run_id="seed")
    by_day: dict[str, list] = defaultdict(list)
    for p in stored:
        row = index.profile_row(p, candidate_keys(p, CONFIG))
        by_day[row["date"]].append(row)
    for day, day_rows in by_day.items():
        pending = write_rows(day_rows, index.PROFILES_STATE, sink, (day,))
        index.write_pending_manifest(out, "seed", pending)
    commit_story_state(out, "seed")
    return out


def bench_cost(articles: list[Article], queries: list[Article]) -> dict[str, Any]:
    """Cost per new article against 1k and 8k stored: in memory, and the Beam stage from state files.

    In memory: profiling (the same at any store size) plus look-up, scoring and decision. Beam: the
    whole stage (profiling, the state read, candidates, resolve, summaries, state write) for the
    query articles, with the stored profiles written as committed state, all within one window
    (the hard case: every stored article is readable) and spread one month per 1k.
    """
    timed = [replace(a, published_at=FETCHED, fetched_at=FETCHED) for a in queries]
    started = time.perf_counter()
    new = [profile_article(a, CONFIG) for a in timed]
    profiling_ms = 1000 * (time.perf_counter() - started) / len(new)
    start = FETCHED - timedelta(days=29)
    results: dict[str, Any] = {"queries": len(new), "profiling_ms_per_article": round(profiling_ms, 3)}
    with tempfile.TemporaryDirectory() as seeds:
        layouts: dict[str, str] = {}
        for n in (1000, 8000):
            stored = _synthetic(articles, n, n, start, 28.0)
            in_memory = _query_cost(stored, new)
            in_memory["ms_per_article_with_profiling"] = round(profiling_ms + in_memory["ms_per_article"], 3)
            results[f"in_memory_{n}"] = in_memory
            layouts[f"{n}_all_in_window"] = _write_state(f"{seeds}/{n}_all_in_window", stored)
            span = 28.0 * n / 1000
            spread = _synthetic(articles, n, n, FETCHED - timedelta(days=span + 1), span)
            layouts[f"{n}_one_month_per_1k"] = _write_state(f"{seeds}/{n}_one_month_per_1k", spread)
        # Round-robin over the four layouts, so load from other work falls on all of them alike.
        runs: dict[str, list[float]] = defaultdict(list)
        for _ in range(_COST_RUNS):
            for name, seed in layouts.items():
                with tempfile.TemporaryDirectory() as scratch:
                    out = shutil.copytree(seed, f"{scratch}/out")
                    started = time.perf_counter()
                    _run_beam(out, "query", timed)
                    runs[name].append(time.perf_counter() - started)
    for name, seconds in runs.items():
        median = statistics.median(seconds)
        results[f"beam_{name}"] = {"seconds": round(median, 2), "min": round(min(seconds), 2),
                                   "max": round(max(seconds), 2), "ms_per_article": round(1000 * median / len(queries), 1)}
    print(f"  cost: {json.dumps(results)}", flush=True)
    results["ratio_8k_over_1k"] = {
        "in_memory_with_profiling": round(results["in_memory_8000"]["ms_per_article_with_profiling"]
                                          / results["in_memory_1000"]["ms_per_article_with_profiling"], 3),
        **{f"beam_{layout}": round(results[f"beam_8000_{layout}"]["seconds"] / results[f"beam_1000_{layout}"]["seconds"], 3)
           for layout in ("all_in_window", "one_month_per_1k")},
    }
    return results


def main(argv: list[str]) -> int:
    root = corpora_root()
    started = time.monotonic()
    gold, articles = load_gold(root)
    print(f"extracted and tagged {len(articles)} corpus pages in {time.monotonic() - started:.0f} s", flush=True)
    duplicates = bench_duplicates(root, articles, gold)
    print("duplicates:", json.dumps({k: duplicates[k] for k in ("pairs", "positives", "ours", "baseline_exact_hash")}), flush=True)
    stories = bench_stories(gold, articles)
    print("stories:", json.dumps({k: v for k, v in stories.items() if k != "predicted_groups"}), flush=True)
    # Stored articles are made from pages outside the gold set, so the queries meet only topical
    # neighbours, as a new article meets a large store, not recombined copies of themselves.
    background = [a for k, a in articles.items() if a.language == "en" and k not in gold]
    cost = bench_cost(background, [articles[k] for k in gold if k in articles])
    result = {"config": {f: getattr(CONFIG, f) for f in CONFIG.__slots__}, "duplicates": duplicates, "stories": stories, "cost": cost,
              "seconds": round(time.monotonic() - started, 1)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str))
    quality_ok = (duplicates["ours"]["precision"] >= 0.95 and duplicates["ours"]["recall"] >= 0.90
                  and stories["beam_two_runs"]["f1"] >= 0.85)
    # "Flat": 8k stored costs a new article at most 1.2x what 1k stored does, in memory and in Beam.
    # Reported, not the exit status: the Beam figures are ~1.5 s runs on a shared machine, and five
    # runs at the same code gave 0.97-1.44x (docs/stories.md), which would fail `make bench` at random.
    flat = max(cost["ratio_8k_over_1k"].values())
    print(f"written {RESULTS}; quality targets {'met' if quality_ok else 'NOT met'}; "
          f"8k/1k cost {flat:.2f}x ({'met' if flat <= 1.2 else 'NOT met'}, target 1.2x)")
    return 0 if quality_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
