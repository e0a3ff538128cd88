"""The project's HTTP client: bounded, polite and safe GETs on top of httpx.

``HttpClient.get`` follows redirects itself (so every hop passes the address guard, robots.txt and
the host's gate), connects only to addresses the guard checked, reads bodies with a size limit on
the *decompressed* bytes (no decompression bombs), retries only ``RetryableFetchError`` with
exponential backoff, jitter and ``Retry-After``, and decodes text from a BOM, the header charset, the
document's own declaration, or detection as the last resort.
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin

import charset_normalizer
import httpcore
import httpx

from pipeline.config import FetchConfig
from transforms.errors import FetchError, PermanentFetchError, RetryableFetchError
from transforms.politeness import AddressGuard, CircuitBreaker, HostGates, PinnedNetworkBackend, RobotsRules, host_key

__all__ = ["FEED_TYPES", "HTML_TYPES", "HttpClient", "HttpResponse", "decode_body", "requests_sent"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
    "application/feed+json", "application/json", "text/plain", "text/html", "application/octet-stream",
)
# 408 is a timeout reported by the server; the others are the overload and gateway codes.
_RETRYABLE_STATUS = frozenset({408, 429, 502, 503, 504})
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_ROBOTS_REDIRECTS = 5

_SENT = [0]
_SENT_LOCK = threading.Lock()


def requests_sent() -> int:
    """Requests sent by every client in this process (for the driver's live progress line)."""
    return _SENT[0]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One HTTP response: URL, status, lower-cased headers and the decompressed body bytes."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    fetched_at: datetime
    attempts: int = 1
    redirects: tuple[str, ...] = field(default=())
    http_version: str = "HTTP/1.1"

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
    """Decode a body: BOM; valid non-ASCII UTF-8; header charset; the document's declaration; detection.

    Valid multi-byte UTF-8 beats a declared charset because a wrong ``charset=iso-8859-1`` header
    on a UTF-8 page is common, while Latin-1 text that is also valid UTF-8 practically never occurs.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace")
    if not body.isascii():
        text = _try_decode(body, "utf-8")
        if text is not None:
            return text
    head = body[:4096]
    declared = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    for candidate in (_charset_from_header(content_type), declared.group(1).decode("ascii") if declared else None):
        text = _try_decode(body, candidate)
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


class _BoundedDecoder:
    """Decompresses gzip/deflate bodies never producing more than ``limit`` bytes.

    httpx's own decoders inflate a whole network chunk at once (a 64 KiB gzip chunk can become
    64 MiB); zlib's ``max_length`` lets us stop at the limit instead.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._raw_deflate_tried = encoding != "deflate"
        self._zlib = zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:
            return self._count(data)
        try:
            out = self._zlib.decompress(data, self._limit - self._size + 1)
        except zlib.error as exc:
            if self._raw_deflate_tried or self._size:
                raise PermanentFetchError(f"cannot decompress the body: {exc}", kind="bad_encoding") from exc
            self._raw_deflate_tried = True  # "deflate" sent without its zlib header
            self._zlib = zlib.decompressobj(-15)
            return self.feed(data)
        if self._zlib.unconsumed_tail:
            self._count(out + b"x")  # more output pending: the limit is already exceeded
        return self._count(out)

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._limit:
            raise PermanentFetchError(f"body exceeds {self._limit} bytes", kind="too_large")
        return data


def _build_client(config: FetchConfig, guard: AddressGuard) -> httpx.Client:
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx 0.28 has no way to pass a network backend, so its pool is rebuilt with the pinned one.
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(), network_backend=PinnedNetworkBackend(guard),
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
    )
    return httpx.Client(
        timeout=httpx.Timeout(config.total_timeout_s, connect=config.connect_timeout_s),
        follow_redirects=False, transport=transport, trust_env=False,
        headers={"User-Agent": config.effective_user_agent(), "Accept-Encoding": "gzip, deflate"},
    )


class HttpClient:
    """Polite, bounded HTTP GETs. Create one per DoFn in ``setup()`` and ``close()`` it in ``teardown()``.

    Args:
        config: the fetch stage's options.
        guard: the address guard (tests inject one with a fake resolver).
        sleep, clock, wall_clock: injectable time sources for tests of backoff and rate limits.
        on_response: called with every response received, redirects and errors included (WARC hook).
    """

    def __init__(self, config: FetchConfig, *, guard: AddressGuard | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 on_response: Callable[[HttpResponse], None] | None = None) -> None:
        self.config = config
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._on_response = on_response
        self._guard = guard or AddressGuard(config.allow_private_hosts, config.allowed_networks)
        self._gates = HostGates(config.max_in_flight_per_host, clock=clock, sleep=sleep)
        self._breaker = CircuitBreaker(config.circuit_breaker_failures, config.circuit_breaker_cooldown_s, clock)
        self._robots = RobotsRules(config.effective_user_agent(), self._fetch_robots)
        self._client = _build_client(config, self._guard)
        self.requests_made = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, url: str, *, accept: tuple[str, ...] | None = None, headers: Mapping[str, str] | None = None,
            min_interval_s: float | None = None, max_in_flight: int | None = None) -> HttpResponse:
        """GET ``url`` with retries. Returns 2xx and 304 responses; raises ``FetchError`` otherwise.

        Args:
            url: an absolute http(s) URL.
            accept: allowed media types; a response of another type raises ``unsupported_content_type``.
            headers: extra request headers (conditional-GET validators, Accept, API headers).
            min_interval_s: this host's interval between requests, if not the configured default.
            max_in_flight: this host's concurrent requests, if not the configured default.
        """
        return self._with_retries(lambda: self._get_once(url, accept, headers, min_interval_s, max_in_flight))

    def _with_retries(self, call: Callable[[], HttpResponse]) -> HttpResponse:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = call()
            except FetchError as exc:
                exc.attempts = attempt
                if not isinstance(exc, RetryableFetchError) or attempt >= self.config.max_attempts:
                    raise
                delay = self._backoff_s(attempt, exc.retry_after_s)
                if delay is None:
                    raise  # the server asks us to come back later than we are willing to wait
                self._sleep(delay)
                continue
            return dataclasses.replace(response, attempts=attempt)

    def _backoff_s(self, attempt: int, retry_after_s: float | None) -> float | None:
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.config.backoff_max_s else None
        delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.5)

    def _interval(self, url: str, min_interval_s: float | None) -> float:
        interval = self.config.min_interval_s if min_interval_s is None else min_interval_s
        if self.config.respect_robots:
            interval = max(interval, self._robots.crawl_delay(url))
        return interval

    def _get_once(self, url: str, accept: tuple[str, ...] | None, headers: Mapping[str, str] | None,
                  min_interval_s: float | None, max_in_flight: int | None, *, robots: bool = True) -> HttpResponse:
        redirects: list[str] = []
        current = url
        while True:
            self._guard.check(current)
            key = host_key(current)
            self._breaker.check(key)
            if robots and self.config.respect_robots:
                self._robots.check(current)
            interval = self._interval(current, min_interval_s) if robots else self.config.min_interval_s
            with self._gates.slot(key, interval, max_in_flight):
                response = self._send_recorded(key, current, headers, accept)
            if response.status not in _REDIRECT_STATUS or "location" not in response.headers:
                break
            if len(redirects) >= self.config.max_redirects:
                raise PermanentFetchError(f"more than {self.config.max_redirects} redirects",
                                          kind="too_many_redirects", http_status=response.status)
            redirects.append(current)
            current = urljoin(current, response.headers["location"])
            if current in redirects:
                raise PermanentFetchError("redirect loop", kind="redirect_loop", http_status=response.status)
        self._raise_for_status(response)
        return dataclasses.replace(response, redirects=tuple(redirects))

    def _send_recorded(self, key: str, url: str, headers: Mapping[str, str] | None,
                       accept: tuple[str, ...] | None) -> HttpResponse:
        """Send once and tell the breaker: 5xx, 429, timeouts and connection errors count against the host."""
        try:
            response = self._send(url, headers, accept)
        except RetryableFetchError:
            self._breaker.record(key, ok=False)
            raise
        self._breaker.record(key, ok=response.status < 500 and response.status != 429)
        return response

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

    def _send(self, url: str, headers: Mapping[str, str] | None, accept: tuple[str, ...] | None) -> HttpResponse:
        self.requests_made += 1
        with _SENT_LOCK:
            _SENT[0] += 1
        try:
            with self._client.stream("GET", url, headers=dict(headers or {})) as response:
                self._check_head(response, accept)
                content = b"".join(self._read_bounded(response))
        except httpx.TimeoutException as exc:
            raise RetryableFetchError(f"timeout: {type(exc).__name__}", kind="timeout") from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
                raise PermanentFetchError(f"{type(exc).__name__}: {exc}", kind="invalid_url") from exc
            raise RetryableFetchError(f"{type(exc).__name__}: {exc}", kind="connection_error") from exc
        result = HttpResponse(
            url=url, status=response.status_code, headers={k.lower(): v for k, v in response.headers.items()},
            content=content, fetched_at=datetime.now(timezone.utc), http_version=response.http_version,
        )
        if self._on_response is not None:
            self._on_response(result)
        return result

    def _check_head(self, response: httpx.Response, accept: tuple[str, ...] | None) -> None:
        """Refuse before reading the body: declared too large, or a final 2xx of an unwanted type."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.config.max_bytes:
            raise PermanentFetchError(f"body of {declared} bytes exceeds {self.config.max_bytes}",
                                      kind="too_large", http_status=response.status_code)
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if accept is not None and 200 <= response.status_code < 300 and content_type not in accept:
            raise PermanentFetchError(
                f"content type {content_type or '(none)'} is not one of {', '.join(accept)}",
                kind="unsupported_content_type", http_status=response.status_code,
            )

    def _read_bounded(self, response: httpx.Response) -> Iterator[bytes]:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        decoder = _BoundedDecoder(encoding, self.config.max_bytes)
        deadline = time.monotonic() + self.config.total_timeout_s
        try:
            for chunk in response.iter_raw():
                # Each read is bounded by the read timeout; the deadline bounds a slow drip of small chunks.
                if time.monotonic() > deadline:
                    raise RetryableFetchError("total timeout exceeded while reading the body", kind="timeout")
                yield decoder.feed(chunk)
        except PermanentFetchError as exc:
            exc.http_status = response.status_code
            raise

    def _fetch_robots(self, robots_url: str) -> tuple[int, str]:
        """robots.txt with the same guard, host gate, redirects and retries as every other request."""
        try:
            response = self._with_retries(lambda: self._get_once(robots_url, None, None, None, None, robots=False))
        except FetchError as exc:
            return exc.http_status or 0, ""
        return response.status, response.text
