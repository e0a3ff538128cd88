"""Actor and topic tagging: registry linking, unlinked names, IPTC topics.

Beam-free library; the pipeline's DoFn calls :meth:`Tagger.load` in ``setup()`` and
:meth:`Tagger.tag` per article or comment. See docs/tagging.md for the registry format, the
matching rules and the benchmark.

Example::

    tagger = Tagger.load(TaggingConfig(actor_files=("my_actors.tsv",)))
    result = tagger.tag(article.text, doc_id=article.article_id, doc_kind="article", title=article.title)
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.records import ActorTag, Mention, TopicTag
from transforms.tagging.matcher import ActorMatcher, Hit
from transforms.tagging.names import NameFinder, NameSpan, make_name_finder
from transforms.tagging.normalize import normalize, normalize_alias
from transforms.tagging.registry import SHIPPED_FILES, Actor, ActorRegistry, RegistryError
from transforms.tagging.topics import RULES_FILE, TopicScorer

__all__ = ["RegistryError", "TagResult", "Tagger", "TaggingConfig"]

NER_MODES = ("auto", "spacy", "rules", "off")
UNLINKED_PREFIX = "unlinked:"


@dataclass(frozen=True, slots=True)
class TaggingConfig:
    """Options of the tagging stage.

    Args:
        actor_files: user registry files (same TSV format as the shipped ones), highest priority last.
        ner: name finder for unlinked names: ``auto`` (spaCy if an English model is installed,
            else rules), ``spacy``, ``rules`` or ``off``.
        spacy_model: spaCy package name to use instead of the first installed English model.
        max_topics: most topics per article (their parents are added on top).
        min_topic_score: topics scoring below this are dropped (scores are in [0, 1)).
        topic_rules: a rules file replacing the shipped ``rules.tsv``.
        shipped_registry: load the shipped actor files (turn off to use only ``actor_files``).
    """

    actor_files: tuple[str, ...] = ()
    ner: str = "auto"
    spacy_model: str | None = None
    max_topics: int = 5
    min_topic_score: float = 0.5
    topic_rules: str | None = None
    shipped_registry: bool = True

    def __post_init__(self) -> None:
        if self.ner not in NER_MODES:
            raise ValueError(f"ner must be one of {NER_MODES}, got {self.ner!r}")
        if self.max_topics < 0 or not 0.0 <= self.min_topic_score <= 1.0:
            raise ValueError("max_topics must be >= 0 and min_topic_score in [0, 1]")


@dataclass(frozen=True, slots=True)
class TagResult:
    """Tags of one document: actors (linked and unlinked), their mentions, topics."""

    actors: tuple[ActorTag, ...]
    mentions: tuple[Mention, ...]
    topics: tuple[TopicTag, ...]


@dataclass(slots=True)
class _Found:
    """One mention before aggregation: span in the combined title+text string."""

    start: int
    end: int
    surface: str
    actor_id: str
    kind: str  # a type for unlinked names


def _unlinked_id(key: str) -> str:
    return UNLINKED_PREFIX + "-".join(key.split())


class Tagger:
    """Registry matcher + name finder + topic scorer, loaded once (``DoFn.setup``)."""

    def __init__(self, config: TaggingConfig, matcher: ActorMatcher, names: NameFinder | None, topics: TopicScorer) -> None:
        self.config = config
        self._matcher = matcher
        self._names = names
        self._topics = topics
        self._by_id: dict[str, int] = {a.id: i for i, a in enumerate(matcher.actors)}

    @classmethod
    def load(cls, config: TaggingConfig) -> Tagger:
        """Read the registry and topic rules and build the matchers.

        Raises:
            RegistryError: an actor or rules file is missing or malformed.
            ValueError: ``ner='spacy'`` without an installed English model.
        """
        files = (*(SHIPPED_FILES if config.shipped_registry else ()), *(Path(p) for p in config.actor_files))
        matcher = ActorMatcher(ActorRegistry.load(files))
        topics = TopicScorer(Path(config.topic_rules) if config.topic_rules else RULES_FILE)
        return cls(config, matcher, make_name_finder(config.ner, config.spacy_model), topics)

    def __reduce__(self) -> tuple[Any, ...]:
        # Automata and spaCy pipelines are rebuilt on the worker rather than shipped pickled.
        return (Tagger.load, (self.config,))

    @property
    def name_backend(self) -> str:
        """``spacy``, ``rules`` or ``off``."""
        return self._names.name if self._names is not None else "off"

    def actor(self, actor_id: str) -> Actor | None:
        """The registry record of a linked id."""
        index = self._by_id.get(actor_id)
        return None if index is None else self._matcher.actors[index]

    def tag(self, text: str, *, doc_id: str, doc_kind: str, title: str | None = None, with_topics: bool = True,
            date: str | None = None) -> TagResult:
        """Tag one document.

        Args:
            text: the body; mention offsets are into this string.
            doc_id: article or comment id, copied into each mention.
            doc_kind: ``article`` or ``comment``.
            title: optional headline; its names count for resolution and for ``ActorTag.mentions``
                but, having no offsets in `text`, get no mention rows.
            with_topics: score topics (articles) or not (comments).
            date: ISO date of the document, to pick the role code valid then (default: latest).
        """
        prefix = f"{title}\n\n" if title else ""
        combined = prefix + text
        norm = normalize(combined)
        found = self._linked(self._matcher.find(combined, norm))
        if self._names is not None:
            linked = [(f.start, f.end) for f in found if not f.actor_id.startswith(UNLINKED_PREFIX)]
            found = self._add_unlinked(found, self._names.find(combined, skip=linked), combined)
        found.sort(key=lambda f: f.start)
        actors = self._aggregate(found, date)
        shift = len(prefix)
        mentions = tuple(
            Mention(doc_id, doc_kind, f.actor_id, f.surface, f.start - shift, f.end - shift) for f in found if f.start >= shift
        )
        topics = self._topics.score(text, title=title, max_topics=self.config.max_topics,
                                    min_score=self.config.min_topic_score,
                                    normalized=None if prefix else norm) if with_topics else ()
        return TagResult(actors, mentions, topics)

    def _linked(self, hits: list[Hit]) -> list[_Found]:
        out = []
        for hit in hits:
            if hit.actor is not None:
                out.append(_Found(hit.start, hit.end, hit.surface, self._matcher.actors[hit.actor].id, ""))
            else:
                types = {self._matcher.actors[c].type for c in hit.candidates}
                kind = types.pop() if len(types) == 1 else "unknown"
                out.append(_Found(hit.start, hit.end, hit.surface, _unlinked_id(hit.key), kind))
        return out

    def _add_unlinked(self, found: list[_Found], names: list[NameSpan], text: str) -> list[_Found]:
        # An unresolved registry name inside a longer found name ("Gordon" in "Gordon Sondland") yields.
        name_starts = [n.start for n in names]  # names are disjoint and in order

        def inside_longer_name(f: _Found) -> bool:
            i = bisect_right(name_starts, f.start) - 1
            return i >= 0 and f.end <= names[i].end and names[i].end - names[i].start > f.end - f.start

        found = [f for f in found if not f.actor_id.startswith(UNLINKED_PREFIX) or not inside_longer_name(f)]
        taken = sorted((f.start, f.end) for f in found)
        starts = [s for s, _ in taken]
        surnames: dict[str, str] = {}
        extra: list[_Found] = []
        for span in names:
            i = bisect_right(starts, span.end - 1) - 1  # spans are disjoint: only the last start can overlap
            if i >= 0 and taken[i][1] > span.start:
                continue
            surface = " ".join(text[span.start:span.end].split())
            key = normalize_alias(surface)
            if not key:
                continue
            if span.type == "person" and " " in key:
                surnames.setdefault(key.rsplit(" ", 1)[1], key)
            extra.append(_Found(span.start, span.end, surface, key, span.type))
        for item in extra:  # a lone surname of an unlinked person named fully in the document
            item.actor_id = _unlinked_id(surnames.get(item.actor_id, item.actor_id) if " " not in item.actor_id else item.actor_id)
        return found + extra

    def _aggregate(self, found: list[_Found], date: str | None) -> tuple[ActorTag, ...]:
        counts = Counter(f.actor_id for f in found)
        kinds: dict[str, str] = {}
        surfaces: dict[str, str] = {}
        for f in found:
            kinds.setdefault(f.actor_id, f.kind)  # unlinked: the type at the first (fullest) mention
            if len(f.surface) > len(surfaces.get(f.actor_id, "")):
                surfaces[f.actor_id] = f.surface
        tags = []
        for actor_id in dict.fromkeys(f.actor_id for f in found):
            index = self._by_id.get(actor_id)
            if index is None:
                kind = kinds[actor_id] or "unknown"
                tags.append(ActorTag(actor_id, surfaces[actor_id], kind, None, None, counts[actor_id], False))
                continue
            actor = self._matcher.actors[index]
            code = self._matcher.actor_codes(index).code_on(date)
            tags.append(ActorTag(actor.id, actor.name, actor.type, actor.country, code, counts[actor_id], True))
        return tuple(tags)
