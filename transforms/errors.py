"""The one exception hierarchy of newsingest.

Every error carries ``kind`` (a short snake_case code that becomes ``error_kind`` in the failures
table) and, for HTTP errors, the status and the number of attempts made. Only
``RetryableFetchError`` is ever retried.
"""

from __future__ import annotations

__all__ = [
    "BlockedURLError",
    "ConfigError",
    "FetchError",
    "IngestError",
    "ParseError",
    "PermanentFetchError",
    "RetryableFetchError",
    "RobotsDisallowedError",
]


class IngestError(Exception):
    """Base class: something went wrong with one URL (or, for ConfigError, with the run's input)."""

    kind = "ingest_error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ConfigError(IngestError):
    """Bad configuration or command-line input: the run does not start (exit code 2)."""

    kind = "config_error"


class ParseError(IngestError):
    """A document could not be parsed (malformed feed, undecodable body)."""

    kind = "parse_error"


class FetchError(IngestError):
    """An HTTP fetch failed."""

    kind = "fetch_error"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        http_status: int | None = None,
        attempts: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.http_status = http_status
        self.attempts = attempts
        self.retry_after_s = retry_after_s


class RetryableFetchError(FetchError):
    """Worth another try: timeouts, connection errors, 429 and 502/503/504."""

    kind = "retryable_fetch_error"


class PermanentFetchError(FetchError):
    """Not worth another try: other 4xx/5xx, bodies too large, wrong content type, too many redirects."""

    kind = "permanent_fetch_error"


class BlockedURLError(PermanentFetchError):
    """Refused before sending: a scheme other than http(s) or a host on a private/reserved address."""

    kind = "blocked_url"


class RobotsDisallowedError(PermanentFetchError):
    """The site's robots.txt disallows this URL for our user agent."""

    kind = "robots_disallowed"
