"""IPTC Media Topics from phrase rules (data, not code).

``transforms/data/topics/iptc-mediatopics.tsv`` holds the active IPTC concepts (id, label,
parent); ``rules.tsv`` maps a topic id to ``|``-separated phrases, matched on the same
normalised text as actors (:mod:`.normalize`). A phrase ending in ``*`` matches any word that
starts with it (``protest*`` = protests, protesters). Users can point ``TaggingConfig.topic_rules``
at their own rules file in the same format.

Score of a topic: ``raw / (raw + k)`` where ``raw`` sums ``1 + ln(count)`` over its distinct
phrases found (title hits count three times) and ``k = 2 + words / 500`` grows with the length of
the text, so a long article needs more evidence. Parents get the best score of their children.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from schemas.records import TopicTag
from transforms.tagging.normalize import Normalized, normalize, normalize_alias
from transforms.tagging.registry import RegistryError

__all__ = ["IPTC_FILE", "RULES_FILE", "TopicScorer"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "topics"
IPTC_FILE = DATA_DIR / "iptc-mediatopics.tsv"
RULES_FILE = DATA_DIR / "rules.tsv"
_TITLE_WEIGHT = 3.0


@dataclass(frozen=True, slots=True)
class _Concept:
    label: str
    parent: str | None


def _read_tsv(path: Path) -> list[list[str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RegistryError(f"cannot read topic file {path}: {exc}") from exc
    body = [line for line in lines if line.strip() and not line.startswith("#")]
    return [line.split("\t") for line in body[1:]]  # body[0] is the header


def _load_concepts(path: Path) -> dict[str, _Concept]:
    return {row[0]: _Concept(row[1], row[2] or None) for row in _read_tsv(path) if len(row) >= 3}


class TopicScorer:
    """Phrase-rule topic scorer over one Aho-Corasick automaton."""

    def __init__(self, rules_path: Path = RULES_FILE, iptc_path: Path = IPTC_FILE) -> None:
        self.concepts = _load_concepts(iptc_path)
        self._automaton = ahocorasick.Automaton()
        phrases: dict[str, list[str]] = {}
        for number, row in enumerate(_read_tsv(rules_path), 1):
            if len(row) != 2 or row[0] not in self.concepts:
                raise RegistryError(f"{rules_path}: rule {number}: want 'topic_id<TAB>phrases' with a known IPTC id")
            for phrase in filter(None, (p.strip() for p in row[1].split("|"))):
                prefix = phrase.endswith("*")
                key = " " + normalize_alias(phrase.rstrip("*")) + ("" if prefix else " ")
                phrases.setdefault(key, []).append(row[0])
        for key, topics in phrases.items():
            self._automaton.add_word(key, (key, tuple(topics)))
        if phrases:
            self._automaton.make_automaton()

    def _hits(self, text: str | Normalized) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        if not text or not len(self._automaton):
            return counts
        folded = text.text if isinstance(text, Normalized) else normalize(text).text
        for _, (key, topics) in self._automaton.iter(folded):
            for topic in topics:
                counts[(topic, key)] += 1
        return counts

    def _raw_scores(self, text: str | Normalized, title: str | None) -> dict[str, float]:
        raw: dict[str, float] = {}
        for (topic, _), count in self._hits(text).items():
            raw[topic] = raw.get(topic, 0.0) + 1.0 + math.log(count)
        for (topic, _), _count in self._hits(title or "").items():
            raw[topic] = raw.get(topic, 0.0) + _TITLE_WEIGHT
        return raw

    def ancestors(self, topic: str) -> list[str]:
        """Parents of `topic`, nearest first, up to the top level."""
        out = []
        parent = self.concepts[topic].parent
        while parent and parent in self.concepts and parent not in out:
            out.append(parent)
            parent = self.concepts[parent].parent
        return out

    def score(self, text: str, *, title: str | None = None, max_topics: int = 5, min_score: float = 0.5,
              normalized: Normalized | None = None) -> tuple[TopicTag, ...]:
        """Topics of a document, best first, each followed by its parents (not counted in max_topics).

        `normalized` may carry :func:`normalize` of `text` already computed by the caller.
        """
        k = 2.0 + text.count(" ") / 500.0
        scored = {t: r / (r + k) for t, r in self._raw_scores(normalized or text, title).items()}
        best = sorted((t for t, s in scored.items() if s >= min_score), key=lambda t: (-scored[t], t))[:max_topics]
        chosen: dict[str, float] = {}
        for topic in best:
            for node in (topic, *self.ancestors(topic)):
                chosen[node] = max(chosen.get(node, 0.0), scored[topic])
        ordered = sorted(chosen, key=lambda t: (-chosen[t], len(self.ancestors(t)), t))
        return tuple(TopicTag(f"medtop:{t}", self.concepts[t].label, round(chosen[t], 4)) for t in ordered)
