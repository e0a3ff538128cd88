"""Records of the stories stage: its internal elements, and the ``stories`` table row re-exported.

``StoryRow`` and ``STORIES`` live in ``schemas/`` with every other table; the other records flow
only inside ``AssignStories`` and its state files.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.arrow import STORIES, STORY_TAG
from schemas.records import StoryRow, StoryTag, record

__all__ = [
    "STORIES",
    "STORY_TAG",
    "Assignment",
    "Needs",
    "Profile",
    "StoryRow",
    "StorySnapshot",
    "StoryTag",
]


@record
class Profile:
    """What the stage knows of one article: fingerprint, keywords, actors and its assignment.

    ``origin`` is ``new`` (this run's article, to be assigned), ``stored`` (from committed state)
    or ``recovered`` (committed data whose state a killed run never committed; already assigned).
    """

    article_id: str
    url_key: str
    source: str
    seen_at: float  # POSIX seconds, UTC: published_at when plausible, else fetched_at
    title: str | None
    minhash: bytes  # num_perm little-endian uint32 values
    shingles: int
    terms: tuple[tuple[str, float], ...]  # top keywords, weights L2-normalised
    actors: tuple[tuple[str, str], ...]  # (id, name) of the registry-linked actors (story summaries)
    topics: tuple[tuple[str, str], ...]  # (id, label)
    content_hash: str = ""
    origin: str = "new"
    story_id: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = None
    key_actors: tuple[str, ...] = ()  # linked people, groups and organisations: they identify events

    @property
    def order(self) -> tuple[float, str]:
        """Processing order: earlier articles are originals and story anchors."""
        return (self.seen_at, self.article_id)


@record
class Assignment:
    """The stage's decision for one new article."""

    article_id: str
    story_id: str
    duplicate_of: str | None = None
    similarity: float | None = None


@record
class StorySnapshot:
    """A story's full running aggregate, kept in state so later runs can re-summarise it exactly."""

    story_id: str
    first_seen: float
    last_seen: float
    article_count: int
    duplicate_count: int
    sources: tuple[tuple[str, int], ...]
    actors: tuple[tuple[str, str, int], ...]  # (id, name, articles)
    topics: tuple[tuple[str, str, int], ...]
    title: str | None
    representative_id: str
    updated_at: float = 0.0
    run_id: str = ""


@record
class Needs:
    """What a run's new articles look for in stored state: their candidate keys and linked URLs.

    ``keys`` maps each candidate key to the orders ``(seen_at, article_id)`` of the new articles
    having it, sorted.
    """

    keys: Mapping[str, tuple[tuple[float, str], ...]]
    url_keys: frozenset[str]

    @property
    def earliest(self) -> float | None:
        """When the run's earliest new article appeared (None: no new article)."""
        return min((orders[0][0] for orders in self.keys.values()), default=None)

