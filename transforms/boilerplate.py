"""Per-source boilerplate: paragraphs that recur on many pages of one source are removed.

A disclaimer, appeal or footer line printed under every article of a site survives any per-page
cleanup, because on one page it looks like prose. Across pages it gives itself away: the same
paragraph, on many pages of the same source. Learning happens inside a run (articles grouped by
``article.source``) and across runs, through a small store per source under
``DIR/_state/boilerplate/<source>.json``, so a cron run that fetches one new article still uses
what earlier runs saw. The store is plain JSON with each learned line in clear text and its count::

    {"source": "example.com", "pages": 41, "updated_at": "...", "min_pages": 3, "min_share": 0.3,
     "lines": [{"key": "...", "text": "Support our journalism ...", "count": 38, "boilerplate": true}, ...],
     "recent_articles": ["<article_id>", ...]}

A paragraph is boilerplate when seen on at least ``min_pages`` pages *and* on at least
``min_share`` of the source's pages. Pages already counted (``recent_articles``) are not counted
again, so a retried bundle or a re-fetched article does not inflate the counts. Only one run
writes a DIR at a time (the run lock), and each source's store is written by the one worker that
holds that source's group, via a temporary name and a rename.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.config import ExtractConfig
from schemas.records import Article, replace
from transforms.cleanup import normalize_line
from transforms.extract import text_stats

__all__ = ["BoilerplateStore", "RemoveSourceBoilerplate", "learn", "line_key", "load_store", "remove_boilerplate",
           "save_store", "store_path"]

LOGGER = logging.getLogger(__name__)

_MAX_RECENT = 2000
_MAX_TEXT = 500


def line_key(line: str) -> str:
    """The fingerprint of a paragraph: a hash of its normalised text (case, punctuation, spacing folded)."""
    return hashlib.sha1(normalize_line(line).encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class BoilerplateStore:
    """What is known about one source: pages seen, and per paragraph key its text and page count."""

    source: str
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    texts: dict[str, str] = field(default_factory=dict)
    recent_articles: list[str] = field(default_factory=list)

    def is_boilerplate(self, key: str, config: ExtractConfig) -> bool:
        count = self.counts.get(key, 0)
        return count >= config.boilerplate_min_pages and count >= config.boilerplate_min_share * self.pages

    def boilerplate_keys(self, config: ExtractConfig) -> set[str]:
        return {key for key in self.counts if self.is_boilerplate(key, config)}


def learn(store: BoilerplateStore, articles: Iterable[Article], config: ExtractConfig) -> int:
    """Count each article's distinct paragraphs into the store (once per article); returns pages added."""
    seen = set(store.recent_articles)
    added = 0
    for article in articles:
        if article.article_id in seen:
            continue
        seen.add(article.article_id)
        store.recent_articles.append(article.article_id)
        store.pages += 1
        added += 1
        for line in {line_key(line): line for line in article.text.split("\n") if normalize_line(line)}.items():
            store.counts[line[0]] += 1
            store.texts.setdefault(line[0], line[1][:_MAX_TEXT])
    store.recent_articles = store.recent_articles[-_MAX_RECENT:]
    _trim(store, config.boilerplate_max_lines)
    return added


def _trim(store: BoilerplateStore, max_lines: int) -> None:
    """Keep the store small: the most frequent candidates win (singletons of old pages go first)."""
    if len(store.counts) <= max_lines:
        return
    keep = {key for key, _ in store.counts.most_common(max_lines)}
    store.counts = Counter({k: v for k, v in store.counts.items() if k in keep})
    store.texts = {k: v for k, v in store.texts.items() if k in keep}


def remove_boilerplate(article: Article, keys: set[str]) -> Article:
    """The article without its boilerplate paragraphs, ``word_count``/``content_hash`` recomputed.

    An article whose every paragraph is boilerplate is left as it is: that says more about the
    thresholds than about the article.
    """
    lines = article.text.split("\n")
    kept = [line for line in lines if line_key(line) not in keys]
    if len(kept) == len(lines) or not kept:
        return article
    text = "\n".join(kept)
    word_count, content_hash = text_stats(text)
    return replace(article, text=text, word_count=word_count, content_hash=content_hash)


def store_path(out: str, source: str) -> str:
    """Where a source's store lives: ``DIR/_state/boilerplate/<source>.json``."""
    safe = "".join(ch if ch.isalnum() or ch in ".-_" else "_" for ch in source) or "_unknown"
    return FileSystems.join(out, "_state", "boilerplate", f"{safe}.json")


def load_store(out: str, source: str) -> BoilerplateStore:
    """The saved store of a source, or an empty one (also when the file is unreadable: it is a cache)."""
    path = store_path(out, source)
    if not FileSystems.exists(path):
        return BoilerplateStore(source)
    try:
        with FileSystems.open(path) as handle:
            data: dict[str, Any] = json.loads(handle.read().decode("utf-8"))
        lines = data.get("lines", [])
        return BoilerplateStore(
            source=source, pages=int(data.get("pages", 0)),
            counts=Counter({row["key"]: int(row["count"]) for row in lines}),
            texts={row["key"]: row["text"] for row in lines}, recent_articles=list(data.get("recent_articles", [])),
        )
    except (ValueError, KeyError, TypeError) as exc:
        LOGGER.warning("boilerplate store %s unreadable, starting afresh: %s", path, exc)
        return BoilerplateStore(source)


def save_store(out: str, store: BoilerplateStore, config: ExtractConfig) -> None:
    """Write a source's store via a temporary name and a rename, so a reader never sees half a file."""
    path = store_path(out, store.source)
    lines = [
        {"key": key, "text": store.texts.get(key, ""), "count": count, "boilerplate": store.is_boilerplate(key, config)}
        for key, count in sorted(store.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    data = {
        "source": store.source, "pages": store.pages, "updated_at": datetime.now(timezone.utc).isoformat(),
        "min_pages": config.boilerplate_min_pages, "min_share": config.boilerplate_min_share,
        "lines": lines, "recent_articles": store.recent_articles,
    }
    temp = f"{path}.tmp"  # FileSystems.create makes missing local directories
    with FileSystems.create(temp) as handle:
        handle.write(json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
    if FileSystems.exists(path):
        FileSystems.delete([path])  # rename does not overwrite on every filesystem
    FileSystems.rename([temp], [path])


def _key_by_source(article: Article) -> tuple[str, Article]:
    return article.source, article


class _RemoveBoilerplateFn(beam.DoFn):
    def __init__(self, config: ExtractConfig, out: str | None) -> None:
        self._config = config
        self._out = out
        self._cleaned = beam.metrics.Metrics.counter("boilerplate", "articles_cleaned")
        self._lines = beam.metrics.Metrics.counter("boilerplate", "lines_removed")

    def process(self, element: tuple[str, Iterable[Article]]) -> Iterator[Article]:
        source, grouped = element
        articles = list(grouped)
        store = load_store(self._out, source) if self._out else BoilerplateStore(source)
        learn(store, articles, self._config)
        if self._out:
            save_store(self._out, store, self._config)
        keys = store.boilerplate_keys(self._config)
        for article in articles:
            cleaned = remove_boilerplate(article, keys)
            if cleaned is not article:
                self._cleaned.inc()
                self._lines.inc(article.text.count("\n") - cleaned.text.count("\n"))
            yield cleaned


class RemoveSourceBoilerplate(beam.PTransform):  # type: ignore[misc]
    """Removes paragraphs that recur on many pages of the same source.

    Input and output: ``PCollection[Article]``. Articles are grouped by ``article.source``; each
    group is counted into the source's fingerprint store under ``out_dir`` (read first, written
    back), and paragraphs over the thresholds are removed, with ``text``, ``word_count`` and
    ``content_hash`` recomputed.

    Args:
        config: the extract stage's options (``boilerplate_min_pages``, ``boilerplate_min_share``,
            ``boilerplate_max_lines``).
        out_dir: the run's output directory (DIR); None learns inside the run only.
    """

    def __init__(self, config: ExtractConfig, out_dir: str | None) -> None:
        super().__init__()
        self._config = config
        self._out = out_dir

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "KeyBySource" >> beam.Map(_key_by_source)
            | "GroupBySource" >> beam.GroupByKey()
            | "RemoveRecurringLines" >> beam.ParDo(_RemoveBoilerplateFn(self._config, self._out))
        )
