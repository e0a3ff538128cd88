"""``StoriesConfig``: the options of the syndication and stories stage, validated once."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.errors import ConfigError

__all__ = ["StoriesConfig"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True, slots=True)
class StoriesConfig:
    """Thresholds and sizes of near-duplicate detection and story grouping.

    Attributes:
        duplicate_threshold: minimum ``similarity`` (estimated share of the shorter text's shingles
            found in the longer one) for an article to be a near-copy of an earlier one.
        duplicate_min_length_ratio: the shorter text must have at least this share of the longer
            one's shingles; below it a short text quoting a long one is not a copy of it.
        duplicate_window_days: how far back near-copies are looked for.
        story_threshold: minimum story score (keyword cosine plus shared-actor bonus) to join a story.
        story_window_days: an article joins a story only if one of its articles is this close in time.
        actor_bonus: story score added per shared identifying actor (people, groups, organisations).
        max_actor_bonus: cap of the shared-actor bonus.
        num_perm: MinHash permutations.
        band_rows: MinHash values per LSH band (bands = num_perm // band_rows).
        shingle_words: words per shingle.
        keywords: keywords kept per article (the story text vector).
        key_terms: the strongest keywords whose pairs serve as candidate keys.
        max_postings: candidates taken per key (most recent first); bounds the cost per article.
            The latest few articles of a key already carry its story; more would only add cost.
        seed: MinHash seed; changing it invalidates stored fingerprints.
    """

    duplicate_threshold: float = 0.8
    duplicate_min_length_ratio: float = 0.25
    duplicate_window_days: float = 30.0
    story_threshold: float = 0.3
    story_window_days: float = 7.0
    actor_bonus: float = 0.05
    max_actor_bonus: float = 0.15
    num_perm: int = 128
    band_rows: int = 3
    shingle_words: int = 5
    keywords: int = 30
    key_terms: int = 5
    max_postings: int = 8
    seed: int = 1

    def __post_init__(self) -> None:
        _require(0 < self.duplicate_threshold <= 1, "duplicate_threshold must be in (0, 1]")
        _require(0 < self.duplicate_min_length_ratio <= 1, "duplicate_min_length_ratio must be in (0, 1]")
        _require(self.duplicate_window_days > 0 and self.story_window_days > 0, "windows must be positive")
        _require(0 < self.story_threshold <= 2, "story_threshold must be in (0, 2]")
        _require(self.actor_bonus >= 0 and self.max_actor_bonus >= 0, "actor bonuses must not be negative")
        _require(self.num_perm >= 16, "num_perm must be at least 16")
        _require(1 <= self.band_rows <= self.num_perm, "band_rows must be between 1 and num_perm")
        _require(self.shingle_words >= 1, "shingle_words must be at least 1")
        _require(1 <= self.key_terms <= self.keywords, "key_terms must be between 1 and keywords")
        _require(self.max_postings >= 1, "max_postings must be at least 1")

    @property
    def bands(self) -> int:
        """Number of LSH bands."""
        return self.num_perm // self.band_rows

    @property
    def read_window_days(self) -> float:
        """How far back of a run's earliest article the stored state must be read."""
        return max(self.duplicate_window_days, self.story_window_days)
