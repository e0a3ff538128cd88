"""Benchmark: reader-comment extraction on the real pages of the shared corpora.

Reads ``_manifest/comment-pages.tsv`` (pages holding comment material) under ``$NEWSINGEST_CORPORA``
(default ``../shared/corpora`` next to the repository) and scores, per corpus set:

* comments found, and pages where at least one was found;
* gold-snippet recall (trafilatura's evaldata lists comment snippets per page), for our parser and
  for ``trafilatura.bare_extraction(include_comments=True).comments`` in the same run;
* the share of comments with an author, with a time, with a parent (threads rebuilt), and, where
  the WordPress markup states it (``depth-N`` classes), how often our depth agrees;
* leakage: the share of our comments whose text appears in trafilatura's article text
  (``include_comments=False``), before and after pruning ``comment_section_nodes``, and the share
  of article text the pruning keeps;
* for embed-only pages, how often ``comments_status`` names a widget the manifest saw.

Usage: ``python -m bench.comments [--limit N] [--json PATH]``. Writes ``bench/results/comments.json``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import trafilatura

from schemas.records import Comment
from transforms.comments import comment_section_nodes, find_comment_sources, parse_inline_comments
from transforms.comments.html import comment_items, parse_document
from transforms.comments.thread import RawComment, comment_id
from transforms.http import decode_body

__all__ = ["main", "run"]

REPO = Path(__file__).resolve().parent.parent
FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
_SPACE = re.compile(r"\s+")
_DEPTH_CLASS = re.compile(r"\bdepth-(\d+)\b")
SETS = ("trafilatura-gold", "fundus-netzpolitik", "readability-wordpress", "other-inline", "embed-only")


@dataclass
class SetScore:
    """Counters of one corpus set; ratios are computed at the end."""

    pages: int = 0
    pages_with_comments: int = 0
    comments: int = 0
    with_author: int = 0
    with_time: int = 0
    with_parent: int = 0
    depth_checked: int = 0
    depth_agree: int = 0
    snippets: int = 0
    snippets_found: int = 0
    snippets_found_trafilatura: int = 0
    pages_trafilatura_comments: int = 0
    leak_checked: int = 0
    leaked: int = 0
    leaked_after_prune: int = 0
    article_chars: int = 0
    article_chars_after_prune: int = 0
    embed_pages: int = 0
    embed_status_agree: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def corpora_root() -> Path:
    return Path(os.environ.get("NEWSINGEST_CORPORA", REPO.parent / "shared" / "corpora")).resolve()


def _read_page(root: Path, rel: str) -> str:
    data = (root / rel).read_bytes()
    if rel.endswith(".gz"):
        data = gzip.decompress(data)
    return decode_body(data, None)


def _set_of(row: dict[str, str]) -> str:
    if "gold-snippets" in row["class"]:
        return "trafilatura-gold"
    if "NetzpolitikOrg" in row["path"]:
        return "fundus-netzpolitik"
    if row["source"] == "mozilla-readability" and "wp" in row["markup_hints"]:
        return "readability-wordpress"
    return "embed-only" if row["class"] == "embed-only" else "other-inline"


def _gold_snippets(root: Path) -> dict[str, list[str]]:
    snippets: dict[str, list[str]] = {}
    with (root / "_manifest" / "pages.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            page = json.loads(line)
            gold = (page.get("comments") or {}).get("gold_comment_snippets") or []
            if gold:
                snippets[page["path"]] = gold
    return snippets


def _markup_depths(tree: lxml.html.HtmlElement, article_id: str) -> dict[str, int]:
    """WordPress writes each comment's depth into its class (depth-1 = top level): a free gold standard."""
    depths = {}
    for el, nid in comment_items(tree).items():
        match = _DEPTH_CLASS.search(el.get("class") or "")
        if nid and match:
            key = comment_id(article_id, RawComment(origin="html", ref=f"site:{nid}", native=True, text=""))
            depths[key] = int(match.group(1)) - 1
    return depths


def _leak_probe(c: Comment) -> str | None:
    probe = _norm(c.text.split("\n")[0].lstrip("> "))[:80]
    return probe if len(probe) >= 25 else None


def _article_text(html: str | lxml.html.HtmlElement, url: str) -> str:
    return trafilatura.extract(html, url=url, include_comments=False) or ""


def _pruned_tree(html: str) -> lxml.html.HtmlElement | None:
    tree = parse_document(html)
    if tree is None:
        return None
    for node in comment_section_nodes(tree):
        node.drop_tree()
    return tree


def score_page(score: SetScore, html: str, row: dict[str, str], gold: list[str]) -> None:
    url, article_id = row["original_url"], row["path"]
    comments = parse_inline_comments(html, page_url=url, article_id=article_id, fetched_at=FETCHED)
    score.pages += 1
    score.pages_with_comments += bool(comments)
    score.comments += len(comments)
    score.with_author += sum(c.author is not None for c in comments)
    score.with_time += sum(c.published_at is not None for c in comments)
    score.with_parent += sum(c.parent_id is not None for c in comments)
    tree = parse_document(html)
    depths = _markup_depths(tree, article_id) if tree is not None else {}
    for c in comments:
        if c.comment_id in depths:
            score.depth_checked += 1
            score.depth_agree += depths[c.comment_id] == c.depth
    _score_snippets(score, html, url, comments, gold, row)
    _score_leaks(score, html, url, comments)


def _score_snippets(score: SetScore, html: str, url: str, comments: Iterable[Comment], gold: list[str],
                    row: dict[str, str]) -> None:
    ours = _norm(" ".join(c.text for c in comments))
    doc = trafilatura.bare_extraction(html, url=url, include_comments=True)
    theirs = _norm(getattr(doc, "comments", None) or "") if doc is not None else ""
    score.pages_trafilatura_comments += bool(theirs)
    for snippet in gold:
        wanted = _norm(snippet)
        score.snippets += 1
        score.snippets_found += wanted in ours
        score.snippets_found_trafilatura += wanted in theirs
        if wanted not in ours:
            score.misses.append(f"{row['path']}: {snippet[:60]}")


def _score_leaks(score: SetScore, html: str, url: str, comments: Iterable[Comment]) -> None:
    probes = [p for p in (_leak_probe(c) for c in comments) if p]
    if not probes:
        return
    before = _norm(_article_text(html, url))
    tree = _pruned_tree(html)
    after = _norm(_article_text(tree, url)) if tree is not None else before
    score.leak_checked += len(probes)
    score.leaked += sum(p in before for p in probes)
    score.leaked_after_prune += sum(p in after for p in probes)
    score.article_chars += len(before)
    score.article_chars_after_prune += len(after)


def score_embed(score: SetScore, html: str, row: dict[str, str]) -> None:
    score.pages += 1
    sources = find_comment_sources(html, row["original_url"])
    hinted = {h.split("/")[0] for h in row["embed_hints"].split(",") if h}
    hinted |= {"openweb" for h in row["embed_hints"].split(",") if "spotim" in h}
    score.embed_pages += 1
    score.embed_status_agree += bool(sources.embeds) and sources.embeds[0] in hinted


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def summarize(name: str, s: SetScore) -> dict[str, object]:
    return {
        "set": name, "pages": s.pages, "pages_with_comments": s.pages_with_comments, "comments": s.comments,
        "snippet_recall": _ratio(s.snippets_found, s.snippets),
        "snippet_recall_trafilatura": _ratio(s.snippets_found_trafilatura, s.snippets), "snippets": s.snippets,
        "pages_with_trafilatura_comments": s.pages_trafilatura_comments,
        "share_author": _ratio(s.with_author, s.comments), "share_time": _ratio(s.with_time, s.comments),
        "share_parent": _ratio(s.with_parent, s.comments),
        "depth_agreement": _ratio(s.depth_agree, s.depth_checked), "depth_checked": s.depth_checked,
        "leak_rate_trafilatura": _ratio(s.leaked, s.leak_checked),
        "leak_rate_after_prune": _ratio(s.leaked_after_prune, s.leak_checked), "leak_checked": s.leak_checked,
        "article_text_kept_after_prune": _ratio(s.article_chars_after_prune, s.article_chars),
        "embed_status_agreement": _ratio(s.embed_status_agree, s.embed_pages), "seconds": round(s.seconds, 1),
        "missed_snippets": s.misses[:40],
    }


def run(root: Path, *, limit: int | None = None) -> list[dict[str, object]]:
    """Score every manifest page; returns one summary per corpus set."""
    gold = _gold_snippets(root)
    with (root / "_manifest" / "comment-pages.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    scores = {name: SetScore() for name in SETS}
    for row in rows[:limit]:
        name = _set_of(row)
        started = time.perf_counter()
        html = _read_page(root, row["path"])
        if name == "embed-only":
            score_embed(scores[name], html, row)
        else:
            score_page(scores[name], html, row, gold.get(row["path"], []))
        scores[name].seconds += time.perf_counter() - started
    total = SetScore()
    for s in scores.values():
        if s is not scores["embed-only"]:
            for key, value in asdict(s).items():
                if isinstance(value, (int, float)):
                    setattr(total, key, getattr(total, key) + value)
    return [summarize(name, s) for name, s in scores.items()] + [summarize("all-inline+gold", total)]


def _cell(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.1%}" if isinstance(value, float) and value <= 1 else str(value)


COLUMNS = (("set", "set"), ("pages", "pages"), ("pages_with_comments", "pages w/ comm."), ("comments", "comments"),
           ("snippet_recall", "snippet recall"), ("snippet_recall_trafilatura", "trafilatura recall"),
           ("share_author", "author"), ("share_time", "time"), ("share_parent", "parent"),
           ("depth_agreement", "depth = markup"), ("leak_rate_trafilatura", "leak (traf.)"),
           ("leak_rate_after_prune", "leak (pruned)"), ("article_text_kept_after_prune", "text kept"),
           ("embed_status_agreement", "embed status ok"))


def markdown_table(results: list[dict[str, object]]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result in results:
        lines.append("| " + " | ".join(_cell(result[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N manifest rows")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "comments.json")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    root = corpora_root()
    if not (root / "_manifest" / "comment-pages.tsv").exists():
        print(f"comments bench: no corpora at {root} (set NEWSINGEST_CORPORA)", file=sys.stderr)
        return 2
    results = run(root, limit=args.limit)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"corpora": str(root), "trafilatura": trafilatura.__version__,
                                     "results": results}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("Comment extraction (newsingest transforms.comments vs trafilatura include_comments)\n")
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
