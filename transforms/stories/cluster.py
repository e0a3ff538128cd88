"""Near-duplicate and story decisions, as plain functions.

An article is profiled once (``profile_article``); profiles meet through candidate keys (LSH bands,
strong keywords, identifying actors: ``candidate_keys``), never all pairs; each candidate pair is
scored (``score_pair``); ``resolve`` then walks the run's new articles in time order and, for each,
either marks it a near-copy of an earlier article, adds it to the story of its best earlier match,
or starts a new story. Earlier articles are never reassigned, so story ids stay stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from datetime import timedelta

from schemas.records import Article
from transforms.stories.config import StoriesConfig
from transforms.stories.fingerprint import (
    band_keys, containment, cosine, estimated_jaccard, keyword_vector, minhash_signature, shingles,
)
from transforms.stories.records import Assignment, Profile
from transforms.urls import stable_id

__all__ = [
    "Edge",
    "candidate_keys",
    "key_window_s",
    "pair_candidates",
    "profile_article",
    "resolve",
    "score_pair",
    "seen_at",
    "story_id_for",
]

DAY_S = 86_400.0
# Actor types that name places, not the people and groups whose acts make an event.
_PLACE_TYPES = frozenset({"country", "location", "place", "city", "region"})
# A published date this far after the fetch is a parsing error, not a scheduled post.
_FUTURE_SLACK = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Edge:
    """A scored candidate pair: ``new_id`` is later in time than ``other``."""

    new_id: str
    other_id: str
    other_story: str | None
    other_root: str
    duplicate: float
    story: float
    other_order: tuple[float, str]


def seen_at(article: Article) -> float:
    """When the article appeared: its publication time when plausible, else when we fetched it."""
    published = article.published_at
    if published is not None and published <= article.fetched_at + _FUTURE_SLACK:
        return published.timestamp()
    return article.fetched_at.timestamp()


def story_id_for(article_id: str) -> str:
    """The id of a story started by ``article_id``: stable, so re-runs agree."""
    return stable_id("story", article_id)


def profile_article(article: Article, config: StoriesConfig, *, origin: str = "new") -> Profile:
    """Fingerprint, keywords and identifying actors of one article."""
    shingle_set = shingles(article.text, config.shingle_words)
    # Unlinked names are often page chrome ("TheHill", "Gizmodo"); only registry-linked actors count.
    linked = [a for a in article.actors if a.linked]
    actors = tuple(sorted({(a.id, a.name) for a in linked}))
    key_actors = tuple(sorted({a.id for a in linked if a.type not in _PLACE_TYPES}))
    return Profile(
        article_id=article.article_id, url_key=stable_id(article.canonical_url), source=article.source,
        seen_at=seen_at(article), title=article.title,
        minhash=minhash_signature(shingle_set, config.num_perm, config.seed), shingles=len(shingle_set),
        terms=keyword_vector(article.text, article.title, article.language, config.keywords),
        actors=actors, topics=tuple(sorted({(t.id, t.label) for t in article.topics})),
        content_hash=article.content_hash, origin=origin, story_id=article.story_id,
        duplicate_of=article.duplicate_of, similarity=article.similarity, key_actors=key_actors,
    )


def candidate_keys(profile: Profile, config: StoriesConfig) -> list[str]:
    """Keys under which possibly related articles meet: LSH bands, exact text, keyword pairs, actors."""
    keys = band_keys(profile.minhash, config.band_rows)
    if profile.content_hash:
        keys.append(f"h:{profile.content_hash}")
    # Pairs, not single words: two reports of one event share several of their strongest words,
    # while one word ("iran") is shared by a whole week of unrelated reports, whose number grows
    # with the store and would make the cost per article grow with it.
    strongest = sorted(word for word, _ in profile.terms[:config.key_terms])
    keys.extend(f"t:{a}+{b}" for a, b in combinations(strongest, 2))
    keys.extend(f"a:{actor_id}" for actor_id in profile.key_actors)
    return keys


def key_window_s(key: str, config: StoriesConfig) -> float:
    """How far apart in time two articles sharing ``key`` may be and still be compared."""
    days = config.duplicate_window_days if key[0] in "dh" else config.story_window_days
    return days * DAY_S


def pair_candidates(key: str, members: Sequence[tuple[tuple[float, str], str]],
                    config: StoriesConfig) -> Iterable[tuple[str, str]]:
    """``(new id, earlier id)`` pairs among the members of one key: ``(order, origin)`` each.

    Each new member is paired with at most ``max_postings`` of the latest earlier members within
    the key's time window, so a very common key costs each article a bounded amount of work.
    """
    if not any(origin == "new" for _, origin in members):
        return
    ordered = sorted(members)
    window = key_window_s(key, config)
    for index, (order, origin) in enumerate(ordered):
        if origin != "new":
            continue
        taken = 0
        for earlier_order, _ in reversed(ordered[:index]):
            if order[0] - earlier_order[0] > window or taken >= config.max_postings:
                break
            if earlier_order[1] != order[1]:
                taken += 1
                yield order[1], earlier_order[1]


def duplicate_similarity(a: Profile, b: Profile, config: StoriesConfig) -> float:
    """Estimated share of the shorter text's shingles that the longer one holds (0 when too unequal)."""
    if a.content_hash and a.content_hash == b.content_hash:
        return 1.0
    smaller, larger = sorted((a.shingles, b.shingles))
    if larger == 0 or smaller / larger < config.duplicate_min_length_ratio:
        return 0.0
    return containment(estimated_jaccard(a.minhash, b.minhash), a.shingles, b.shingles)


def story_similarity(a: Profile, b: Profile, config: StoriesConfig) -> float:
    """Keyword cosine plus a capped bonus per shared identifying actor."""
    shared = len(set(a.key_actors) & set(b.key_actors))
    return cosine(a.terms, b.terms) + min(config.max_actor_bonus, config.actor_bonus * shared)


def score_pair(new: Profile, other: Profile, config: StoriesConfig) -> Edge:
    """Both scores of a candidate pair, zeroed outside their time windows."""
    gap = abs(new.seen_at - other.seen_at)
    duplicate = duplicate_similarity(new, other, config) if gap <= config.duplicate_window_days * DAY_S else 0.0
    story = story_similarity(new, other, config) if gap <= config.story_window_days * DAY_S else 0.0
    return Edge(new.article_id, other.article_id, other.story_id, other.duplicate_of or other.article_id,
                round(duplicate, 4), round(story, 4), other.order)


def _best(edges: Iterable[Edge], score: str, threshold: float) -> Edge | None:
    passing = [e for e in edges if getattr(e, score) >= threshold]
    # Highest score; among equals the earliest article, which is the original.
    return min(passing, key=lambda e: (-getattr(e, score), e.other_order), default=None)


def _with_known(edges: Iterable[Edge], assigned: dict[str, Assignment]) -> list[Edge]:
    """Edges to earlier new articles, completed with those articles' fresh assignment."""
    known = []
    for edge in edges:
        decision = assigned.get(edge.other_id)
        if decision is not None:
            edge = Edge(edge.new_id, edge.other_id, decision.story_id, decision.duplicate_of or edge.other_id,
                        edge.duplicate, edge.story, edge.other_order)
        known.append(edge)
    return known


def _decide(profile: Profile, edges: list[Edge], config: StoriesConfig) -> Assignment:
    own_story = story_id_for(profile.article_id)
    duplicate = _best(edges, "duplicate", config.duplicate_threshold)
    if duplicate is not None:
        # A copy of an article stored before stories existed has no story to join: it starts one.
        return Assignment(profile.article_id, duplicate.other_story or own_story, duplicate.other_root,
                          duplicate.duplicate)
    story = _best((e for e in edges if e.other_story is not None), "story", config.story_threshold)
    return Assignment(profile.article_id, story.other_story if story and story.other_story else own_story)


def resolve(new: Iterable[Profile], edges: Iterable[Edge], config: StoriesConfig) -> list[Assignment]:
    """Assign every new article, earliest first, against stored articles and earlier new ones."""
    by_new: dict[str, list[Edge]] = {}
    for edge in edges:
        by_new.setdefault(edge.new_id, []).append(edge)
    assigned: dict[str, Assignment] = {}
    for profile in sorted(new, key=lambda p: p.order):
        known = _with_known(by_new.get(profile.article_id, ()), assigned)
        assigned[profile.article_id] = _decide(profile, known, config)
    return list(assigned.values())
