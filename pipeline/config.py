"""One frozen, typed config object per stage, validated once when it is built.

Defaults live here and nowhere else. ``pipeline.options`` turns command-line/TOML input into these
objects; transforms receive them and never see PipelineOptions or dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.records import FeedSpec
from transforms.errors import ConfigError

__all__ = ["ExtractConfig", "FetchConfig", "IngestConfig", "SinkConfig", "DEFAULT_USER_AGENT"]

DEFAULT_USER_AGENT = "newsingest/0.1 (+https://github.com/newsingest/newsingest)"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """How pages and feeds are fetched: politeness, limits, retries and safety."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout_s: float = 10.0
    total_timeout_s: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_attempts: int = 4
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    # Politeness per host: minimum interval between requests, requests in flight.
    min_interval_s: float = 1.0
    max_in_flight_per_host: int = 1
    respect_robots: bool = True
    allow_private_hosts: bool = False
    # Consecutive failures of one host after which its remaining URLs fail fast.
    circuit_breaker_failures: int = 5

    def __post_init__(self) -> None:
        _require(self.connect_timeout_s > 0 and self.total_timeout_s > 0, "timeouts must be positive")
        _require(self.max_bytes > 0, "max_bytes must be positive")
        _require(0 <= self.max_redirects <= 30, "max_redirects must be between 0 and 30")
        _require(self.max_attempts >= 1, "max_attempts must be at least 1")
        _require(self.min_interval_s >= 0, "min_interval_s must not be negative")
        _require(self.max_in_flight_per_host >= 1, "max_in_flight_per_host must be at least 1")
        _require(self.circuit_breaker_failures >= 1, "circuit_breaker_failures must be at least 1")
        _require(bool(self.user_agent.strip()), "user_agent must not be empty")


@dataclass(frozen=True, slots=True)
class ExtractConfig:
    """How article text is extracted from a page."""

    min_words: int = 50
    include_tables: bool = True
    favor_precision: bool = False

    def __post_init__(self) -> None:
        _require(self.min_words >= 0, "min_words must not be negative")


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """Where and how the Parquet tables are written."""

    out: str
    run_id: str
    max_rows_per_file: int = 5000
    compression: str = "zstd"

    def __post_init__(self) -> None:
        _require(bool(self.out), "the output directory must be given")
        _require(bool(self.run_id) and "/" not in self.run_id, "run_id must be a plain token")
        _require(self.max_rows_per_file >= 1, "max_rows_per_file must be at least 1")


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Everything one run needs, built once by ``pipeline.options.to_config``."""

    feeds: tuple[FeedSpec, ...]
    sink: SinkConfig
    fetch: FetchConfig = field(default_factory=FetchConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)

    def __post_init__(self) -> None:
        _require(bool(self.feeds), "no feeds given: use --feed URL or --feeds FILE")
