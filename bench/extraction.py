"""Text-extraction benchmark: newsingest's extractor against trafilatura alone (and others) on real pages.

Run ``python -m bench.extraction`` (``make bench`` runs it), with the corpora at ``$NEWSINGEST_CORPORA``
(default ``../shared/corpora`` from the repo root). Four sets, each scored the way its gold allows:

* ``aeb``: article-extraction-benchmark (181 pages, hand-annotated bodies), its own metric: ``\\w+``
  tokens, 4-token shingle multisets, per-page precision/recall averaged over pages (precision only over
  non-empty predictions), F1 = harmonic mean of the two averages.
* ``fundus``: Fundus test pages whose gold has a full body (summary + section headlines + paragraphs),
  same shingle metric.
* ``newspaper4k``: newspaper4k pages with an expected text, same shingle metric.
* ``trafilatura``: trafilatura's evaluation pages, snippet hits: a ``with`` snippet found is a true
  positive, missed a false negative; a ``without`` snippet found is a false positive (trafilatura's
  own scoring). Reader-comment snippets found in the text are counted separately as leaks.

Every extractor sees the same decoded HTML and URL; pages/second is wall time of the extraction calls.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["Page", "Score", "load_sets", "main", "score_shingles", "score_snippets"]

_TOKEN = re.compile(r"\w+")
_REPO = Path(__file__).resolve().parent.parent
Extract = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Page:
    """One benchmark page: HTML, its URL and the gold (full text, or snippet lists)."""

    id: str
    url: str
    html: str
    expected: str = ""
    with_snippets: tuple[str, ...] = ()
    without_snippets: tuple[str, ...] = ()
    comment_snippets: tuple[str, ...] = ()


@dataclass(slots=True)
class Score:
    """Accumulated scores of one extractor on one set."""

    precisions: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    empty: int = 0
    seconds: float = 0.0
    pages: int = 0
    snippet_counts: Counter[str] = field(default_factory=Counter)

    def precision(self) -> float:
        if self.snippet_counts:
            tp, fp = self.snippet_counts["tp"], self.snippet_counts["fp"]
            return tp / (tp + fp) if tp + fp else 0.0
        return sum(self.precisions) / len(self.precisions) if self.precisions else 0.0

    def recall(self) -> float:
        if self.snippet_counts:
            tp, fn = self.snippet_counts["tp"], self.snippet_counts["fn"]
            return tp / (tp + fn) if tp + fn else 0.0
        return sum(self.recalls) / len(self.recalls) if self.recalls else 0.0

    def f1(self) -> float:
        p, r = self.precision(), self.recall()
        return 2 * p * r / (p + r) if p + r else 0.0


def _shingles(text: str, n: int = 4) -> Counter[str]:
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def score_shingles(expected: str, predicted: str) -> tuple[float, float, float]:
    """The article-extraction-benchmark page score: (tp, fp, fn) shares of 4-token shingles."""
    truth, pred = _shingles(expected), _shingles(predicted)
    tp = fp = fn = 0
    for key in truth.keys() | pred.keys():
        t, p = truth.get(key, 0), pred.get(key, 0)
        tp, fp, fn = tp + min(t, p), fp + max(0, p - t), fn + max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _norm(text: str) -> str:
    return " ".join(text.split())


def score_snippets(page: Page, predicted: str) -> Counter[str]:
    """trafilatura's evaluation: with-snippets found (tp) or missed (fn), without-snippets found (fp)."""
    text = _norm(predicted)
    counts: Counter[str] = Counter()
    for snippet in page.with_snippets:
        counts["tp" if _norm(snippet) in text else "fn"] += 1
    for snippet in page.without_snippets:
        counts["fp" if _norm(snippet) in text else "tn"] += 1
    for snippet in page.comment_snippets:
        counts["comment_leaks" if _norm(snippet) in text else "comment_ok"] += 1
    return counts


def _read_gz(path: Path) -> str:
    raw = gzip.decompress(path.read_bytes())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes  # only the few non-UTF-8 pages need detection

        best = from_bytes(raw).best()
        return str(best) if best is not None else raw.decode("utf-8", "replace")


def _aeb(root: Path) -> Iterator[Page]:
    base = root / "article-extraction-benchmark"
    for key, gold in sorted(json.loads((base / "ground-truth.json").read_text("utf-8")).items()):
        yield Page(key, gold["url"], _read_gz(base / "html" / f"{key}.html.gz"), expected=gold["articleBody"])


def _fundus_body(gold: dict) -> str:
    body = gold.get("body") or {}
    parts = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts += list(section.get("headline") or []) + list(section.get("paragraphs") or [])
    return "\n".join(parts)


def _fundus(root: Path) -> Iterator[Page]:
    for line in (root / "_manifest" / "pages.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["source"] != "flairnlp-fundus" or "version_key" not in row["gold"]:
            continue
        gold = json.loads((root / row["gold"]["expected_json"]).read_text("utf-8")).get(row["gold"]["version_key"], {})
        expected = _fundus_body(gold)
        if len(expected.split()) >= 20:  # only pages whose gold holds a full body
            yield Page(row["id"], row["original_url"] or "", _read_gz(root / row["path"]), expected=expected)


def _newspaper(root: Path) -> Iterator[Page]:
    for line in (root / "_manifest" / "pages.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["source"] != "newspaper4k" or "expected_text" not in row["gold"]:
            continue
        expected = (root / row["gold"]["expected_text"]).read_text("utf-8")
        if expected.strip():
            yield Page(row["id"], row["original_url"] or "", _read_gz(root / row["path"]), expected=expected)


def _trafilatura(root: Path) -> Iterator[Page]:
    base = root / "adbar-trafilatura"
    for url, gold in sorted(json.loads((base / "evaldata.json").read_text("utf-8")).items()):
        path = next((p for p in (base / "pages" / d / f"{gold['file']}.gz" for d in ("eval", "cache")) if p.exists()), None)
        if path is None or not (gold.get("with") or gold.get("without")):
            continue
        yield Page(
            gold["file"], url, _read_gz(path), with_snippets=tuple(gold.get("with") or ()),
            without_snippets=tuple(gold.get("without") or ()), comment_snippets=tuple(gold.get("comments") or ()),
        )


SETS: dict[str, Callable[[Path], Iterator[Page]]] = {
    "aeb": _aeb, "fundus": _fundus, "newspaper4k": _newspaper, "trafilatura": _trafilatura,
}


def load_sets(root: Path, names: list[str], limit: int | None = None) -> dict[str, list[Page]]:
    """The benchmark pages of each named set, read into memory once."""
    return {name: list(SETS[name](root))[:limit] for name in names}


def _newsingest() -> Extract:
    from pipeline.config import ExtractConfig
    from schemas.records import FeedEntry, RawPage, Rejection
    from transforms.extract import extract_article, make_extractor

    from transforms.metadata import detect_language

    config = ExtractConfig(min_words=0)
    extractor = make_extractor(config)
    detect_language("load the language model before timing, as the DoFn's setup does")
    fetched = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def run(html: str, url: str) -> str:
        entry = FeedEntry(feed_url="", url=url, canonical_url=url, article_id="bench")
        result = extract_article(RawPage(entry, url, 200, html, fetched), config, extractor)
        return "" if isinstance(result, Rejection) else result.text

    return run


def _trafilatura_mode(precision: bool) -> Extract:
    import trafilatura

    def run(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url, include_comments=False, favor_precision=precision) or ""

    return run


def _optional_extractors() -> dict[str, Extract]:
    """Other extractors, each only when importable in this environment."""
    found: dict[str, Extract] = {}
    try:
        from readability import Document as ReadabilityDocument  # readability-lxml
        import lxml.html

        def readability(html: str, url: str) -> str:
            summary = ReadabilityDocument(html, url=url).summary(html_partial=True)
            return "\n".join(t.strip() for t in lxml.html.fromstring(summary).itertext() if t.strip())

        found["readability-lxml"] = readability
    except ImportError:
        pass
    try:
        import justext

        def just(html: str, url: str) -> str:
            paragraphs = justext.justext(html.encode("utf-8"), justext.get_stoplist("English"))
            return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

        found["justext"] = just
    except ImportError:
        pass
    try:
        from newspaper import Article as NewspaperArticle  # newspaper4k
        from newspaper.configuration import Configuration

        offline = Configuration()
        offline.fetch_images = False  # its image scoring downloads images: never leave the machine

        def newspaper(html: str, url: str) -> str:
            article = NewspaperArticle(url or "http://localhost/", config=offline)
            article.download(input_html=html)
            article.parse()
            return article.text or ""

        found["newspaper4k"] = newspaper
    except ImportError:
        pass
    try:
        from goose3 import Goose

        goose = Goose()
        found["goose3"] = lambda html, url: goose.extract(raw_html=html).cleaned_text or ""
    except ImportError:
        pass
    return found


def extractors(only: list[str] | None = None) -> dict[str, Extract]:
    """Every extractor to compare, newsingest first."""
    found = {
        "newsingest": _newsingest(), "trafilatura": _trafilatura_mode(False),
        "trafilatura-precision": _trafilatura_mode(True), **_optional_extractors(),
    }
    return {k: v for k, v in found.items() if not only or k in only}


def evaluate(pages: list[Page], extract: Extract) -> Score:
    """Run one extractor over one set and score it."""
    score = Score()
    for page in pages:
        started = time.perf_counter()
        try:
            text = extract(page.html, page.url)
        except Exception:  # noqa: BLE001 - a crashing third-party extractor scores as empty output
            text = ""
        score.seconds += time.perf_counter() - started
        score.pages += 1
        score.empty += not text.strip()
        if page.with_snippets or page.without_snippets:
            score.snippet_counts.update(score_snippets(page, text))
            continue
        tp, fp, fn = score_shingles(page.expected, text)
        if text.strip():
            score.precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        score.recalls.append(tp / (tp + fn) if tp + fn else 0.0)
    return score


def _row(set_name: str, name: str, score: Score) -> str:
    leaks = ""
    if score.snippet_counts:
        leaks = f"{score.snippet_counts['comment_leaks']}/{score.snippet_counts['comment_leaks'] + score.snippet_counts['comment_ok']}"
    speed = score.pages / score.seconds if score.seconds else 0.0
    return (
        f"| {set_name} | {name} | {score.pages} | {score.precision():.3f} | {score.recall():.3f} | {score.f1():.3f} "
        f"| {score.empty} | {leaks} | {speed:.1f} |"
    )


HEADER = (
    "| set | extractor | pages | precision | recall | F1 | empty | comment leaks | pages/s |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated sets")
    parser.add_argument("--extractors", default="", help="comma-separated extractor names (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each set")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    root = Path(os.environ.get("NEWSINGEST_CORPORA") or _REPO.parent / "shared" / "corpora")
    if not root.is_dir():
        print(f"corpora not found at {root}; set NEWSINGEST_CORPORA", file=sys.stderr)
        return 2
    sets = load_sets(root, args.sets.split(","), args.limit)
    chosen = extractors(args.extractors.split(",") if args.extractors else None)
    lines = [HEADER]
    print(HEADER, flush=True)
    for set_name, pages in sets.items():
        for name, extract in chosen.items():
            lines.append(_row(set_name, name, evaluate(pages, extract)))
            print(lines[-1], flush=True)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
