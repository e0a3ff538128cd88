"""Per-source boilerplate: learned inside a run and across runs, through an inspectable store."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import ExtractConfig
from schemas.records import Article
from transforms.boilerplate import (
    BoilerplateStore,
    RemoveSourceBoilerplate,
    learn,
    line_key,
    load_store,
    remove_boilerplate,
    save_store,
    store_path,
)
from transforms.extract import text_stats

APPEAL = "Support independent local journalism: become a member today."
CONFIG = ExtractConfig(boilerplate_min_pages=3, boilerplate_min_share=0.5)


def _article(i: int, source: str = "harbour.example", appeal: bool = True) -> Article:
    lines = [f"Story {i} begins with its own first paragraph about topic {i}.", f"Its second paragraph, number {i}."]
    text = "\n".join(lines + ([APPEAL] if appeal else []))
    words, digest = text_stats(text)
    at = datetime(2025, 3, 4, tzinfo=timezone.utc)
    return Article(
        article_id=f"{source}-{i}", url=f"https://{source}/{i}", canonical_url=f"https://{source}/{i}", feed_url="f",
        title=f"Story {i}", authors=(), published_at=at, fetched_at=at, language="en", text=text, word_count=words,
        content_hash=digest, schema_version=1, date="2025-03-04", source=source,
    )


def test_learn_counts_each_page_once_and_finds_the_recurring_line() -> None:
    store = BoilerplateStore("harbour.example")
    articles = [_article(i) for i in range(4)]
    assert learn(store, articles, CONFIG) == 4
    assert learn(store, articles, CONFIG) == 0  # a retried bundle does not count twice
    assert store.pages == 4 and store.counts[line_key(APPEAL)] == 4
    assert store.boilerplate_keys(CONFIG) == {line_key(APPEAL)}


def test_thresholds_need_both_pages_and_share() -> None:
    store = BoilerplateStore("s")
    learn(store, [_article(i, appeal=i < 3) for i in range(10)], CONFIG)
    assert store.counts[line_key(APPEAL)] == 3 and not store.boilerplate_keys(CONFIG)  # 3 of 10 < 50 %
    assert store.boilerplate_keys(ExtractConfig(boilerplate_min_pages=3, boilerplate_min_share=0.3))


def test_remove_recomputes_text_fields() -> None:
    article = _article(1)
    cleaned = remove_boilerplate(article, {line_key(APPEAL)})
    assert APPEAL not in cleaned.text and cleaned.text.count("\n") == 1
    assert (cleaned.word_count, cleaned.content_hash) == text_stats(cleaned.text)
    assert remove_boilerplate(article, set()) is article


def test_store_round_trip_is_inspectable(tmp_path: Path) -> None:
    store = BoilerplateStore("harbour.example")
    learn(store, [_article(i) for i in range(3)], CONFIG)
    save_store(str(tmp_path), store, CONFIG)
    path = Path(store_path(str(tmp_path), "harbour.example"))
    assert path == tmp_path / "_state" / "boilerplate" / "harbour.example.json"
    data = json.loads(path.read_text("utf-8"))
    assert data["lines"][0] == {"key": line_key(APPEAL), "text": APPEAL, "count": 3, "boilerplate": True}
    assert not list(path.parent.glob("*.tmp"))
    loaded = load_store(str(tmp_path), "harbour.example")
    assert (loaded.pages, loaded.counts, loaded.recent_articles) == (store.pages, store.counts, store.recent_articles)


def test_unreadable_store_starts_afresh(tmp_path: Path) -> None:
    path = Path(store_path(str(tmp_path), "s"))
    path.parent.mkdir(parents=True)
    path.write_text("{not json", "utf-8")
    assert load_store(str(tmp_path), "s").pages == 0


def _run(articles: list[Article], out: str | None) -> None:
    with TestPipeline() as p:
        cleaned = p | beam.Create(articles) | RemoveSourceBoilerplate(CONFIG, out)
        texts = cleaned | beam.Map(lambda a: (a.article_id, APPEAL in a.text))
        expected = [(a.article_id, a.source != "harbour.example") for a in articles]
        assert_that(texts, equal_to(expected))


def test_transform_learns_inside_a_run_per_source() -> None:
    # harbour.example has the appeal on 4 pages; other.example has it on 1 page only, so it stays.
    _run([_article(i) for i in range(4)] + [_article(9, source="other.example")], None)


def test_cron_run_with_one_new_article_uses_earlier_runs(tmp_path: Path) -> None:
    out = str(tmp_path)
    _run([_article(i) for i in range(4)], out)
    with TestPipeline() as p:
        cleaned = p | beam.Create([_article(42)]) | RemoveSourceBoilerplate(CONFIG, out)
        assert_that(cleaned | beam.Map(lambda a: APPEAL in a.text), equal_to([False]))
    assert load_store(out, "harbour.example").pages == 5
