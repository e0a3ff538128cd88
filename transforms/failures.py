"""The dead-letter side of every stage: the ``failures`` output tag and the Failure record builder."""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.records import Failure, Rejection
from transforms.errors import FetchError, IngestError

__all__ = ["FAILURES", "failure_from_error", "failure_from_rejection"]

FAILURES = "failures"

_MAX_MESSAGE = 2000


def failure_from_error(url: str, stage: str, error: IngestError, *, feed_url: str | None = None) -> Failure:
    """The failures-table row for an error raised while handling ``url`` at ``stage``."""
    http_status = error.http_status if isinstance(error, FetchError) else None
    attempts = error.attempts if isinstance(error, FetchError) else 1
    return Failure(
        url=url, stage=stage, error_kind=error.kind, message=str(error)[:_MAX_MESSAGE], http_status=http_status,
        attempts=attempts, at=datetime.now(timezone.utc), feed_url=feed_url,
    )


def failure_from_rejection(rejection: Rejection, *, stage: str, feed_url: str | None = None) -> Failure:
    """The failures-table row for a page that was fetched but is not a usable article."""
    return Failure(
        url=rejection.url, stage=stage, error_kind=f"rejected:{rejection.reason}", message=rejection.message,
        http_status=None, attempts=1, at=datetime.now(timezone.utc), feed_url=feed_url,
    )
