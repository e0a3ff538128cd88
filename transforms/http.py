"""The project's HTTP client: bounded, polite and safe GETs on top of httpx.

``HttpClient.get`` follows redirects itself (so that every hop passes the address guard), streams
bodies with a size limit that counts *decoded* bytes (no decompression bombs), retries only
``RetryableFetchError`` with exponential backoff, jitter and ``Retry-After``, and decodes text from
the header charset, a BOM, the document's own declaration, or detection as the last resort.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin

import charset_normalizer
import httpx

from pipeline.config import FetchConfig
from transforms.errors import FetchError, PermanentFetchError, RetryableFetchError
from transforms.politeness import AddressGuard, CircuitBreaker, HostGates, RobotsRules, host_key

__all__ = ["HttpClient", "HttpResponse", "decode_body", "HTML_TYPES", "FEED_TYPES"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
    "application/feed+json", "application/json", "text/plain", "text/html", "application/octet-stream",
)
_RETRYABLE_STATUS = frozenset({408, 429, 502, 503, 504})
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A finished GET: final URL, status, lower-cased headers and the (decoded-transfer) body bytes."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    fetched_at: datetime
    attempts: int = 1
    redirects: tuple[str, ...] = field(default=())

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        return decode_body(self.content, self.headers.get("content-type"))


def _charset_from_header(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.I)
    return match.group(1) if match else None


def _try_decode(body: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode a body: BOM, then header charset, then the document's own declaration, then detection."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace")
    head = body[:4096]
    declared = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    for candidate in (_charset_from_header(content_type), declared.group(1).decode("ascii") if declared else None):
        text = _try_decode(body, candidate)
        if text is not None:
            return text
    text = _try_decode(body, "utf-8")
    if text is not None:
        return text
    best = charset_normalizer.from_bytes(body).best()
    return str(best) if best is not None else body.decode("utf-8", errors="replace")


def _retry_after_s(value: str | None, now: float) -> float | None:
    """Parse Retry-After in either form: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


class HttpClient:
    """Polite, bounded HTTP GETs. Create one per DoFn in ``setup()`` and ``close()`` it in ``teardown()``.

    Args:
        config: the fetch stage's options.
        transport: an httpx transport (tests may pass one that serves loopback servers only).
        sleep, clock, wall_clock: injectable time sources for tests of backoff and rate limits.
        on_response: called with every final response (the WARC writer hooks in here).
    """

    def __init__(
        self,
        config: FetchConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        guard: AddressGuard | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_response: Callable[[HttpResponse], None] | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._on_response = on_response
        self._guard = guard or AddressGuard(allow_private_hosts=config.allow_private_hosts)
        self._gates = HostGates(config.max_in_flight_per_host, clock=clock, sleep=sleep)
        self._breaker = CircuitBreaker(config.circuit_breaker_failures)
        self._robots = RobotsRules(config.user_agent, self._fetch_robots)
        timeout = httpx.Timeout(config.total_timeout_s, connect=config.connect_timeout_s)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False,
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self.requests_made = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        accept: tuple[str, ...] | None = None,
        headers: Mapping[str, str] | None = None,
        min_interval_s: float | None = None,
    ) -> HttpResponse:
        """GET ``url`` with retries. Returns 2xx and 304 responses; raises ``FetchError`` otherwise.

        Args:
            url: an absolute http(s) URL.
            accept: allowed media types; a response of another type raises ``unsupported_content_type``.
            headers: extra request headers (conditional-GET validators, Accept, API headers).
            min_interval_s: this host's interval between requests, if not the configured default.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._get_once(url, accept=accept, headers=headers, min_interval_s=min_interval_s)
            except RetryableFetchError as exc:
                exc.attempts = attempt
                if attempt >= self.config.max_attempts:
                    raise
                self._sleep(self._backoff_s(attempt, exc.retry_after_s, exc))
                continue
            except FetchError as exc:
                exc.attempts = attempt
                raise
            return HttpResponse(
                url=response.url, status=response.status, headers=response.headers, content=response.content,
                fetched_at=response.fetched_at, attempts=attempt, redirects=response.redirects,
            )

    def _backoff_s(self, attempt: int, retry_after_s: float | None, exc: FetchError) -> float:
        if retry_after_s is not None:
            if retry_after_s > self.config.backoff_max_s:
                exc.attempts = attempt
                raise exc
            return retry_after_s
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.5)

    def _get_once(self, url: str, *, accept: tuple[str, ...] | None, headers: Mapping[str, str] | None,
                  min_interval_s: float | None) -> HttpResponse:
        redirects: list[str] = []
        current = url
        while True:
            self._guard.check(current)
            key = host_key(current)
            self._breaker.check(key)
            if self.config.respect_robots:
                self._robots.check(current)
            interval = self.config.min_interval_s if min_interval_s is None else min_interval_s
            if self.config.respect_robots:
                interval = max(interval, self._robots.crawl_delay(current))
            with self._gates.slot(key, interval):
                response = self._send(current, headers)
            self._breaker.record(key, ok=response.status < 500 and response.status != 429)
            if response.status in _REDIRECT_STATUS and "location" in response.headers:
                if len(redirects) >= self.config.max_redirects:
                    raise PermanentFetchError(f"more than {self.config.max_redirects} redirects",
                                              kind="too_many_redirects", http_status=response.status)
                redirects.append(current)
                current = urljoin(current, response.headers["location"])
                if current in redirects:
                    raise PermanentFetchError("redirect loop", kind="redirect_loop", http_status=response.status)
                continue
            break
        self._raise_for_status(response)
        if accept is not None and response.status != 304 and response.content_type not in accept:
            raise PermanentFetchError(
                f"content type {response.content_type or '(none)'} is not one of {', '.join(accept)}",
                kind="unsupported_content_type", http_status=response.status,
            )
        final = HttpResponse(url=current, status=response.status, headers=response.headers,
                             content=response.content, fetched_at=response.fetched_at, redirects=tuple(redirects))
        if self._on_response is not None:
            self._on_response(final)
        return final

    def _raise_for_status(self, response: HttpResponse) -> None:
        status = response.status
        if 200 <= status < 300 or status == 304:
            return
        message = f"HTTP {status}"
        if status in _RETRYABLE_STATUS:
            raise RetryableFetchError(message, kind=f"http_{status}", http_status=status,
                                      retry_after_s=_retry_after_s(response.headers.get("retry-after"),
                                                                   self._wall_clock()))
        raise PermanentFetchError(message, kind=f"http_{status}", http_status=status)

    def _send(self, url: str, headers: Mapping[str, str] | None) -> HttpResponse:
        self.requests_made += 1
        started = time.monotonic()
        try:
            with self._client.stream("GET", url, headers=dict(headers or {})) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.config.max_bytes:
                    raise PermanentFetchError(f"body of {declared} bytes exceeds {self.config.max_bytes}",
                                              kind="too_large", http_status=response.status_code)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    # Counting decoded bytes stops gzip bombs; checking the clock bounds slow drips.
                    if size > self.config.max_bytes:
                        raise PermanentFetchError(f"body exceeds {self.config.max_bytes} bytes",
                                                  kind="too_large", http_status=response.status_code)
                    if time.monotonic() - started > self.config.total_timeout_s:
                        raise RetryableFetchError("total timeout exceeded", kind="timeout")
                    chunks.append(chunk)
                return HttpResponse(
                    url=url, status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    content=b"".join(chunks), fetched_at=datetime.now(timezone.utc),
                )
        except httpx.TimeoutException as exc:
            raise RetryableFetchError(f"timeout: {type(exc).__name__}", kind="timeout") from exc
        except httpx.DecodingError as exc:
            raise PermanentFetchError(f"cannot decode the body: {exc}", kind="bad_encoding") from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            kind = "invalid_url" if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)) else "connection_error"
            error_type = PermanentFetchError if kind == "invalid_url" else RetryableFetchError
            raise error_type(f"{type(exc).__name__}: {exc}", kind=kind) from exc

    def _fetch_robots(self, robots_url: str) -> tuple[int, str]:
        try:
            self._guard.check(robots_url)
            response = self._send(robots_url, None)
            hops = 0
            while response.status in _REDIRECT_STATUS and "location" in response.headers and hops < 5:
                hops += 1
                target = urljoin(robots_url, response.headers["location"])
                self._guard.check(target)
                response = self._send(target, None)
        except FetchError:
            return 0, ""
        return response.status, response.text
