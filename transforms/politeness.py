"""Per-host politeness and safety: the address guard, robots.txt, rate gates and circuit breakers.

These are plain, thread-safe objects owned by one ``HttpClient`` (one per DoFn instance). The
pipeline keys fetches by host, so all requests to a host go through the same client and the limits
hold when the job runs on several workers.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from transforms.errors import BlockedURLError, PermanentFetchError

__all__ = ["AddressGuard", "CircuitBreaker", "HostGates", "RobotsRules", "host_key"]

Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def host_key(url: str) -> str:
    """The politeness key of a URL: scheme, host and port, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass
class AddressGuard:
    """Refuses non-http(s) URLs and, unless allowed, hosts that resolve to non-public addresses.

    Checked for every hop of a redirect chain. The check is by name resolution only: it never
    connects anywhere.
    """

    allow_private_hosts: bool = False
    resolver: Resolver = _resolve
    _cache: dict[str, list[str]] = field(default_factory=dict)

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise BlockedURLError(f"scheme {parts.scheme or '(none)'!r} is not http or https")
        host = parts.hostname
        if not host:
            raise BlockedURLError("URL has no host")
        if self.allow_private_hosts:
            return
        addresses = self._addresses(host)
        blocked = [a for a in addresses if not _is_public(a)]
        if blocked:
            raise BlockedURLError(
                f"host {host} resolves to non-public address {blocked[0]} (use --allow-private-hosts to allow)"
            )

    def _addresses(self, host: str) -> list[str]:
        if host not in self._cache:
            try:
                ipaddress.ip_address(host.strip("[]"))
                self._cache[host] = [host.strip("[]")]
            except ValueError:
                try:
                    self._cache[host] = self.resolver(host)
                except OSError as exc:
                    raise BlockedURLError(f"cannot resolve host {host}: {exc}", kind="dns_error") from exc
        return self._cache[host]


class RobotsRules:
    """robots.txt rules per host, fetched once and cached for the client's lifetime."""

    def __init__(self, user_agent: str, fetch_robots: Callable[[str], tuple[int, str]]) -> None:
        self._user_agent = user_agent
        self._fetch_robots = fetch_robots
        self._rules: dict[str, Protego | None] = {}
        self._lock = threading.Lock()

    def _rules_for(self, url: str) -> Protego | None:
        key = host_key(url)
        with self._lock:
            if key in self._rules:
                return self._rules[key]
        status, body = self._fetch_robots(key + "/robots.txt")
        # RFC 9309: a 4xx robots.txt means no rules; a 5xx or unreachable one means "disallow all".
        if status >= 500 or status == 0:
            rules: Protego | None = Protego.parse("User-agent: *\nDisallow: /\n")
        elif 200 <= status < 300:
            rules = Protego.parse(body)
        else:
            rules = None
        with self._lock:
            self._rules[key] = rules
        return rules

    def check(self, url: str) -> None:
        rules = self._rules_for(url)
        if rules is not None and not rules.can_fetch(url, self._user_agent):
            raise PermanentFetchError("disallowed by robots.txt", kind="robots_disallowed")

    def crawl_delay(self, url: str) -> float:
        rules = self._rules_for(url)
        delay = rules.crawl_delay(self._user_agent) if rules is not None else None
        return float(delay or 0.0)


class HostGates:
    """At most N requests in flight per host and a minimum interval between request starts."""

    def __init__(self, max_in_flight: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, key: str, min_interval_s: float) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(key, threading.Semaphore(self._max_in_flight))
        with semaphore:
            with self._lock:
                now = self._clock()
                start = max(now, self._next_start.get(key, now))
                self._next_start[key] = start + min_interval_s
            if start > now:
                self._sleep(start - now)
            yield


class CircuitBreaker:
    """Opens for a host after ``threshold`` consecutive failures, so a dead site fails fast."""

    def __init__(self, threshold: int) -> None:
        self._threshold = threshold
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        with self._lock:
            failures = self._failures.get(key, 0)
        if failures >= self._threshold:
            raise PermanentFetchError(
                f"{failures} consecutive failures on {key}: skipping the host for this run", kind="circuit_open"
            )

    def record(self, key: str, ok: bool) -> None:
        with self._lock:
            self._failures[key] = 0 if ok else self._failures.get(key, 0) + 1
