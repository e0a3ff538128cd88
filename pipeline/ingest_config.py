"""The whole run's configuration: one frozen object gathering every stage's options."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import ExtractConfig, FetchConfig, SinkConfig, _require
from schemas.records import FeedSpec
from transforms.comments.collect import CommentsConfig
from transforms.stories.config import StoriesConfig
from transforms.tagging import TaggingConfig

__all__ = ["IngestConfig"]


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Everything one run needs, built once by ``pipeline.options.to_config``."""

    feeds: tuple[FeedSpec, ...]
    sink: SinkConfig
    fetch: FetchConfig = field(default_factory=FetchConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    comments: CommentsConfig = field(default_factory=CommentsConfig)
    # Comments of stored articles younger than this are refreshed when their feed lists them again.
    comments_window_days: float = 7.0
    tagging: TaggingConfig = field(default_factory=TaggingConfig)
    stories: StoriesConfig = field(default_factory=StoriesConfig)

    def __post_init__(self) -> None:
        _require(bool(self.feeds), "no feeds given: use --feed URL or --feeds FILE")
        _require(self.comments_window_days >= 0, "comments_window_days must not be negative")
