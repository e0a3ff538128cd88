"""Actor and topic tagging benchmark: accuracy on a hand-labelled gold set, and speed vs extraction.

Systems compared on the same texts in the same run:

* ``newsingest``: :class:`transforms.tagging.Tagger` (registry + rules NER), linked actors.
* ``phoenix-only``: the Phoenix dictionaries used as a plain gazetteer (case-insensitive whole-word
  matching of every phrase, leftmost-longest, first entry wins, cities count as their country).
* ``spacy+lookup``: spaCy NER entities (PERSON/ORG/GPE/NORP/LOC) linked by exact lookup of the
  entity text in the registry's alias table (no back-references, no case rules). Skipped with a
  message when spaCy or an English model is not installed.

Linked actors are scored per document as sets of ids (micro P/R/F1 over (doc, id) pairs); topics
as sets of IPTC ids with parents. Speed: trafilatura ``extract`` on the article-extraction-benchmark
pages vs ``Tagger.tag`` on the extracted text, in one process, timed in CPU seconds of that process
(``time.process_time``: one core, and steadier than wall time on a shared machine).

Usage: python -m bench.tagging [--no-spacy] [--out bench/results/tagging.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from bench._util import corpora_root, repo_root
from transforms.tagging import Tagger, TaggingConfig
from transforms.tagging.build_registry import PHOENIX_FILES, _blocks, _phrase, parse_phoenix
from transforms.tagging.countries_data import WIKIDATA_COUNTRY
from transforms.tagging.names import installed_spacy_model
from transforms.tagging.normalize import normalize_alias

GOLD = repo_root() / "bench" / "gold" / "tagging" / "gold.tsv"


@dataclass(frozen=True, slots=True)
class GoldDoc:
    key: str
    text: str
    actors: frozenset[str]
    nil: tuple[str, ...]
    topics: frozenset[str]


# ---- gold ---------------------------------------------------------------------------------------


def _fundus_text(corpora: Path, path: str, version: str) -> str:
    data = json.loads((corpora / "flairnlp-fundus" / "test_data" / f"{path}.json").read_text(encoding="utf-8"))
    body = data[version]["body"]
    paras = list(body.get("summary") or [])
    for section in body.get("sections", []):
        paras += section.get("headline", []) + section.get("paragraphs", [])
    return "\n\n".join(paras)


def load_gold(corpora: Path) -> list[GoldDoc]:
    aeb = json.loads((corpora / "article-extraction-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
    docs = []
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("doc\t") or not line.strip():
            continue
        key, actors, nil, topics = line.split("\t")
        kind, _, rest = key.partition(":")
        if kind == "aeb":
            text = next(v["articleBody"] for k, v in aeb.items() if k.startswith(rest))
        else:
            path, _, version = rest.rpartition(":")
            text = _fundus_text(corpora, path, version)
        docs.append(GoldDoc(key, text, frozenset(actors.split()), tuple(n for n in nil.split("|") if n),
                            frozenset(f"medtop:{t}" for t in topics.split())))
    return docs


def canonical_gold(docs: list[GoldDoc], tagger: Tagger) -> list[GoldDoc]:
    """Gold ids of records the registry merges into another one (Phoenix duplicates) -> that one."""
    canonical = tagger._matcher.canonical
    unknown = sorted({a for d in docs for a in d.actors if a not in canonical})
    if unknown:
        print(f"warning: gold ids not in the registry: {unknown}", file=sys.stderr)
    return [GoldDoc(d.key, d.text, frozenset(canonical.get(a, a) for a in d.actors), d.nil, d.topics) for d in docs]


# ---- baselines ----------------------------------------------------------------------------------


class PhoenixGazetteer:
    """Phoenix phrases matched as plain lower-cased strings (how the dictionaries get used raw)."""

    def __init__(self, corpora: Path, canonical: dict[str, str]) -> None:
        folder = corpora / "phoenix-actor-dictionaries"
        self._automaton = ahocorasick.Automaton()
        for phrase, actor_id in self._phrases(folder, canonical):
            key = f" {self._fold(phrase)} "
            if key.strip() and key not in self._automaton:
                self._automaton.add_word(key, (len(key), actor_id))
        self._automaton.make_automaton()

    @staticmethod
    def _fold(text: str) -> str:
        return " ".join(re.sub(r"[^\w']+", " ", text.lower()).split())

    def _phrases(self, folder: Path, canonical: dict[str, str]) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for filename in PHOENIX_FILES:  # country blocks: every phrase, cities included
            for phrases, codes, _ in _blocks(folder / filename):
                plain = [c.code for c in codes if len(c.code) == 3]
                if plain and filename.startswith("Phoenix.Countries"):
                    country_id = WIKIDATA_COUNTRY.get(plain[-1], f"iso:{plain[-1]}")
                    pairs += [(_phrase(p)[0], country_id) for p in phrases]
        for actor in parse_phoenix(folder, set()):
            target = canonical.get(actor.id, actor.id)
            pairs += [(a.lstrip("~="), target) for a in (actor.name, *actor.aliases)]
        return pairs

    def find(self, text: str) -> set[str]:
        folded = f" {self._fold(text)} "
        hits = sorted(((end - length + 1, end, aid) for end, (length, aid) in self._automaton.iter(folded)),
                      key=lambda h: (h[0], h[0] - h[1]))
        out, last = set(), -1
        for start, end, actor_id in hits:
            if start >= last:
                out.add(actor_id)
                last = end
        return out


class SpacyLookup:
    """spaCy entities linked by exact registry alias lookup."""

    def __init__(self, model: str, tagger: Tagger) -> None:
        import spacy

        self.model = model
        self._nlp = spacy.load(model)
        self._entries = tagger._matcher._entries
        self._actors = tagger._matcher.actors

    def find(self, text: str) -> set[str]:
        out = set()
        for ent in self._nlp(text).ents:
            if ent.label_ not in {"PERSON", "ORG", "GPE", "NORP", "LOC"}:
                continue
            key = normalize_alias(re.sub(r"^(the|The)\s+", "", ent.text))
            entry = self._entries.get(key)
            if entry is not None and len(entry.full) == 1:
                out.add(self._actors[next(iter(entry.full))].id)
        return out


# ---- scoring ------------------------------------------------------------------------------------


def prf(pairs_pred: set[tuple[str, str]], pairs_gold: set[tuple[str, str]]) -> dict[str, float]:
    tp = len(pairs_pred & pairs_gold)
    p = tp / len(pairs_pred) if pairs_pred else 0.0
    r = tp / len(pairs_gold) if pairs_gold else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "tp": tp, "predicted": len(pairs_pred), "gold": len(pairs_gold)}


def _with_parents(tagger: Tagger, topics: frozenset[str]) -> set[str]:
    out = set(topics)
    for t in topics:
        out.update(f"medtop:{p}" for p in tagger._topics.ancestors(t.removeprefix("medtop:")))
    return out


def evaluate(docs: list[GoldDoc], tagger: Tagger, others: dict[str, Any]) -> dict[str, Any]:
    gold_pairs = {(d.key, a) for d in docs for a in d.actors}
    preds: dict[str, set[tuple[str, str]]] = {name: set() for name in ("newsingest", *others)}
    topic_pred, topic_gold, nil_found, nil_total, errors = set(), set(), 0, 0, []
    for doc in docs:
        result = tagger.tag(doc.text, doc_id=doc.key, doc_kind="article")
        linked = {a.id for a in result.actors if a.linked}
        preds["newsingest"] |= {(doc.key, a) for a in linked}
        errors.append({"doc": doc.key, "false_pos": sorted(linked - doc.actors), "missed": sorted(doc.actors - linked)})
        for name, system in others.items():
            preds[name] |= {(doc.key, a) for a in system.find(doc.text)}
        topic_pred |= {(doc.key, t.id) for t in result.topics}
        topic_gold |= {(doc.key, t) for t in _with_parents(tagger, doc.topics)}
        unlinked = {normalize_alias(a.name) for a in result.actors if not a.linked}
        nil_total += len(doc.nil)
        nil_found += sum(1 for n in doc.nil if normalize_alias(n) in unlinked)
    return {
        "linked_actors": {name: prf(p, gold_pairs) for name, p in preds.items()},
        "topics": prf(topic_pred, topic_gold),
        "unlinked_names_found": {"found": nil_found, "gold": nil_total,
                                 "recall": round(nil_found / nil_total, 3) if nil_total else 0.0},
        "errors": [e for e in errors if e["false_pos"] or e["missed"]],
    }


# ---- speed --------------------------------------------------------------------------------------


def speed(corpora: Path, tagger: Tagger, spacy_tagger: Tagger | None) -> dict[str, Any]:
    import trafilatura

    folder = corpora / "article-extraction-benchmark" / "html"
    pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in sorted(folder.glob("*.html.gz"))]
    texts, extract_s = [], 0.0
    for html in pages:
        started = time.process_time()
        text = trafilatura.extract(html) or ""
        extract_s += time.process_time() - started
        texts.append(text)
    out = {"pages": len(pages), "text_mb": round(sum(len(t.encode()) for t in texts) / 1e6, 3),
           "extract_s": round(extract_s, 3), "extract_ms_per_page": round(1000 * extract_s / len(pages), 2)}
    for label, tg in (("rules", tagger), ("spacy", spacy_tagger)):
        if tg is None:
            continue
        started = time.process_time()
        for i, text in enumerate(texts):
            tg.tag(text, doc_id=str(i), doc_kind="article")
        tag_s = time.process_time() - started
        out[f"tag_{label}"] = {"seconds": round(tag_s, 3), "ms_per_page": round(1000 * tag_s / len(texts), 2),
                               "articles_per_s": round(len(texts) / tag_s, 1),
                               "mb_per_s": round(out["text_mb"] / tag_s, 2),
                               "share_of_extraction": round(tag_s / extract_s, 3)}
    return out


def markdown(report: dict[str, Any]) -> str:
    acc = report["accuracy"]
    lines = [f"Gold set: {report['gold_docs']} hand-labelled English articles, {acc['linked_actors']['newsingest']['gold']} "
             "(doc, actor) pairs.", "", "| system | linked-actor precision | recall | F1 |", "|---|---|---|---|"]
    for name, m in acc["linked_actors"].items():
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    t = acc["topics"]
    lines += ["", f"Topics (IPTC, parents included): precision {t['precision']:.3f}, recall {t['recall']:.3f}, "
              f"F1 {t['f1']:.3f}.", f"Unlinked names surfaced: {acc['unlinked_names_found']['found']} of "
              f"{acc['unlinked_names_found']['gold']} gold names outside the registry."]
    s = report["speed"]
    lines += ["", f"Speed on {s['pages']} pages ({s['text_mb']} MB of extracted text), one process:", "",
              "| step | ms/page | articles/s | MB/s | share of extraction time |", "|---|---|---|---|---|",
              f"| trafilatura extract | {s['extract_ms_per_page']} | {round(1000 / s['extract_ms_per_page'], 1)} | "
              f"{round(s['text_mb'] / s['extract_s'], 2)} | 1 |"]
    for label in ("rules", "spacy"):
        if f"tag_{label}" in s:
            m = s[f"tag_{label}"]
            lines.append(f"| tag ({label} NER) | {m['ms_per_page']} | {m['articles_per_s']} | {m['mb_per_s']} | "
                         f"{m['share_of_extraction']:.3f} |")
    lines += ["", f"Registry load: {report['load_s']} s; {report['registry_actors']} actors."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spacy", action="store_true")
    parser.add_argument("--out", default=str(repo_root() / "bench" / "results" / "tagging.json"))
    args = parser.parse_args(argv or [])
    corpora = corpora_root()
    started = time.perf_counter()
    tagger = Tagger.load(TaggingConfig(ner="rules"))
    load_s = round(time.perf_counter() - started, 3)
    docs = canonical_gold(load_gold(corpora), tagger)
    others: dict[str, Any] = {"phoenix-only": PhoenixGazetteer(corpora, tagger._matcher.canonical)}
    model = None if args.no_spacy else installed_spacy_model()
    spacy_tagger = None
    if model:
        import spacy

        others["spacy+lookup"] = SpacyLookup(model, tagger)
        spacy_tagger = Tagger.load(TaggingConfig(ner="spacy", spacy_model=model))
        print(f"spaCy {spacy.__version__}, model {model}")
    else:
        print("spaCy column skipped: spaCy or an English model is not installed (pip install spacy + a model)")
    report = {"gold_docs": len(docs), "load_s": load_s, "registry_actors": len(tagger._matcher.actors),
              "spacy_model": model, "accuracy": evaluate(docs, tagger, others),
              "speed": speed(corpora, tagger, spacy_tagger)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown(report))
    linked = report["accuracy"]["linked_actors"]["newsingest"]
    return 0 if linked["precision"] >= 0.0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
