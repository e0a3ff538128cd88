"""The whole run's configuration: one frozen object gathering every stage's options."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import ExtractConfig, FetchConfig, SinkConfig, _require
from schemas.records import FeedSpec
from transforms.comments.collect import CommentsConfig
from transforms.stories.config import StoriesConfig
from transforms.tagging import TaggingConfig

__all__ = ["IN_PROCESS_BATCH_ARTICLES", "IngestConfig"]

# New articles per Beam job on the in-process runner, where every shuffle holds its input in memory:
# measured about 1.8 GB peak at 1,000 articles (see docs/benchmarks.md).
IN_PROCESS_BATCH_ARTICLES = 1000


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
    # New articles per Beam job at most (whole feeds per job; 0: one job for everything). None picks by
    # runner: IN_PROCESS_BATCH_ARTICLES in process; one job on Flink, Spark or Dataflow, whose shuffles spill.
    batch_articles: int | None = None

    def __post_init__(self) -> None:
        _require(bool(self.feeds), "no feeds given: use --feed URL or --feeds FILE")
        _require(self.comments_window_days >= 0, "comments_window_days must not be negative")
        _require(self.batch_articles is None or self.batch_articles >= 0, "batch_articles must not be negative")

    def articles_per_job(self, *, in_process: bool) -> int:
        """``batch_articles``, or its default for the runner (0: one job)."""
        if self.batch_articles is not None:
            return self.batch_articles
        return IN_PROCESS_BATCH_ARTICLES if in_process else 0
