"""One frozen, typed config object per core stage, validated once when it is built.

The comments, tagging and stories stages keep theirs in their packages (``CommentsConfig``,
``TaggingConfig``, ``StoriesConfig``); ``pipeline.ingest_config.IngestConfig`` gathers them all.
Defaults live in the dataclasses and nowhere else. ``pipeline.options`` turns command-line/TOML input into these
objects; transforms receive them and never see PipelineOptions or dicts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from transforms.errors import ConfigError

__all__ = ["DEFAULT_USER_AGENT", "ExtractConfig", "FetchConfig", "SinkConfig"]

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
    # Seconds an open breaker waits before letting one trial request through.
    circuit_breaker_cooldown_s: float = 300.0
    # A contact URL (or mailto:) put into the User-Agent so site owners can reach the operator.
    contact_url: str | None = None
    # Non-public networks allowed without --allow-private-hosts (CIDR, e.g. an intranet feed host).
    allowed_networks: tuple[str, ...] = ()
    # Where raw HTTP responses are kept as WARC files; None keeps none.
    warc_dir: str | None = None

    def __post_init__(self) -> None:
        _require(self.connect_timeout_s > 0 and self.total_timeout_s > 0, "timeouts must be positive")
        _require(self.max_bytes > 0, "max_bytes must be positive")
        _require(0 <= self.max_redirects <= 30, "max_redirects must be between 0 and 30")
        _require(self.max_attempts >= 1, "max_attempts must be at least 1")
        _require(self.min_interval_s >= 0, "min_interval_s must not be negative")
        _require(self.max_in_flight_per_host >= 1, "max_in_flight_per_host must be at least 1")
        _require(self.circuit_breaker_failures >= 1, "circuit_breaker_failures must be at least 1")
        _require(bool(self.user_agent.strip()), "user_agent must not be empty")
        _require(self.backoff_base_s >= 0 and self.backoff_max_s >= 0, "backoff times must not be negative")
        _require(self.circuit_breaker_cooldown_s >= 0, "circuit_breaker_cooldown_s must not be negative")
        _require(self.contact_url is None or self.contact_url.startswith(("http://", "https://", "mailto:")),
                 "contact_url must be an http(s) or mailto: URL")
        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigError(f"allowed_networks: {network!r} is not a CIDR network") from exc

    def effective_user_agent(self) -> str:
        """The User-Agent sent: ``user_agent`` with the contact URL, when one is configured."""
        if self.contact_url is None or self.contact_url in self.user_agent:
            return self.user_agent
        return f"{self.user_agent} (contact: {self.contact_url})"


@dataclass(frozen=True, slots=True)
class ExtractConfig:
    """How article text is extracted from a page."""

    min_words: int = 50
    include_tables: bool = True
    favor_precision: bool = False
    # trafilatura's backup extractors (its readability and jusText ports, compared with its own
    # result on every page): about 40 % of extraction time.
    backup_extractors: bool = True
    # Cleanup around trafilatura (widgets, comments, chrome lines) and not-an-article rejections.
    clean: bool = True
    reject_non_articles: bool = True
    # Per-source boilerplate: a paragraph seen on at least min_pages pages and on at least
    # min_share of the source's pages is removed; the store keeps at most max_lines candidates.
    boilerplate_min_pages: int = 3
    boilerplate_min_share: float = 0.3
    boilerplate_max_lines: int = 5000

    def __post_init__(self) -> None:
        _require(self.min_words >= 0, "min_words must not be negative")
        _require(self.boilerplate_min_pages >= 2, "boilerplate_min_pages must be at least 2")
        _require(0.0 < self.boilerplate_min_share <= 1.0, "boilerplate_min_share must be in (0, 1]")
        _require(self.boilerplate_max_lines >= 1, "boilerplate_max_lines must be at least 1")


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
