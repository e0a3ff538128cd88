"""Per-host politeness and safety: the address guard, robots.txt, rate gates and circuit breakers.

These are plain, thread-safe objects owned by one ``HttpClient`` (one per DoFn instance). The
pipeline keys feeds and pages by host, so all requests to a host go through one client and the
limits hold when the job runs on several workers.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
from protego import Protego

from transforms.errors import BlockedURLError, PermanentFetchError, RobotsDisallowedError

__all__ = ["AddressGuard", "CircuitBreaker", "HostGates", "PinnedNetworkBackend", "RobotsRules", "host_key"]

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_key(url: str) -> str:
    """The politeness key of a URL: scheme, host and port, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _ip(address: str) -> IPAddress:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_public(ip: IPAddress) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass
class AddressGuard:
    """Refuses non-http(s) URLs and, unless allowed, hosts that resolve to non-public addresses.

    ``check`` runs before every hop of a redirect chain and never connects anywhere. The addresses
    it checked are cached and are the only ones ``PinnedNetworkBackend`` connects to, so a DNS
    answer that changes between the check and the connection (DNS rebinding) cannot slip through.

    Args:
        allow_private_hosts: allow every address (the demo and tests on 127.0.0.1).
        allowed_networks: CIDR networks allowed even though not public (e.g. an intranet feed host).
        resolver: host name to addresses; injectable so tests never resolve or reach real hosts.
    """

    allow_private_hosts: bool = False
    allowed_networks: tuple[str, ...] = ()
    resolver: Resolver = _resolve
    _cache: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _allowed(self, address: str) -> bool:
        ip = _ip(address)
        if self.allow_private_hosts or _is_public(ip):
            return True
        return any(ip in ipaddress.ip_network(net, strict=False) for net in self.allowed_networks)

    def check(self, url: str) -> None:
        """Raise ``BlockedURLError`` unless ``url`` is http(s) on an allowed address."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise BlockedURLError(f"scheme {parts.scheme or '(none)'!r} is not http or https")
        if not parts.hostname:
            raise BlockedURLError("URL has no host")
        self.addresses(parts.hostname)

    def addresses(self, host: str) -> list[str]:
        """The checked addresses of ``host``; raises ``BlockedURLError`` if any is not allowed."""
        host = host.strip("[]").lower()
        with self._lock:
            cached = self._cache.get(host)
        if cached is None:
            cached = self._lookup(host)
            with self._lock:
                cached = self._cache.setdefault(host, cached)
        blocked = [a for a in cached if not self._allowed(a)]
        if blocked:
            raise BlockedURLError(
                f"host {host} resolves to non-public address {blocked[0]} (use --allow-private-hosts to allow)"
            )
        return cached

    def _lookup(self, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
        except ValueError:
            pass
        try:
            found = self.resolver(host)
        except OSError as exc:
            raise BlockedURLError(f"cannot resolve host {host}: {exc}", kind="dns_error") from exc
        if not found:
            raise BlockedURLError(f"host {host} has no address", kind="dns_error")
        return list(found)


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """An httpcore backend that connects only to the addresses the guard checked.

    httpcore resolves names itself inside ``socket.create_connection``; this backend asks the guard
    instead, so the address connected to is one that passed the check. TLS still verifies the
    certificate against the host name, which httpcore passes separately to ``start_tls``.
    """

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self._guard.addresses(host)
        except BlockedURLError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_UNAVAILABLE = Protego.parse("User-agent: *\nDisallow: /\n")


class RobotsRules:
    """robots.txt rules per host, fetched once (one fetch even under concurrent callers) and cached."""

    def __init__(self, user_agent: str, fetch_robots: Callable[[str], tuple[int, str]]) -> None:
        self._user_agent = user_agent
        self._fetch_robots = fetch_robots
        self._rules: dict[str, Protego | None] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def _rules_for(self, url: str) -> Protego | None:
        key = host_key(url)
        with self._lock:
            host_lock = self._host_locks.setdefault(key, threading.Lock())
        with host_lock:
            if key not in self._rules:
                self._rules[key] = self._load(key)
            return self._rules[key]

    def _load(self, key: str) -> Protego | None:
        status, body = self._fetch_robots(key + "/robots.txt")
        # RFC 9309: a 4xx robots.txt means no rules; a 5xx or unreachable one means "disallow all".
        if status >= 500 or status == 0:
            return _UNAVAILABLE
        if 200 <= status < 300:
            return Protego.parse(body)
        return None

    def check(self, url: str) -> None:
        rules = self._rules_for(url)
        if rules is _UNAVAILABLE:
            raise RobotsDisallowedError("robots.txt is unreachable or failing (5xx): the host counts as "
                                        "disallowed for this run (RFC 9309)", kind="robots_unavailable")
        if rules is not None and not rules.can_fetch(url, self._user_agent):
            raise RobotsDisallowedError("disallowed by robots.txt", kind="robots_disallowed")

    def crawl_delay(self, url: str) -> float:
        rules = self._rules_for(url)
        delay = rules.crawl_delay(self._user_agent) if rules is not None else None
        return float(delay or 0.0)


class HostGates:
    """At most N requests in flight per host and a minimum interval between request starts.

    Both limits are given per call (a per-feed setting, robots.txt Crawl-delay), so robots.txt and
    pages of one host share one gate whatever order they come in.
    """

    def __init__(self, max_in_flight: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._sleep = sleep
        self._changed = threading.Condition()
        self._in_flight: dict[str, int] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, key: str, min_interval_s: float, max_in_flight: int | None = None) -> Iterator[None]:
        limit = max_in_flight or self._max_in_flight
        with self._changed:
            self._changed.wait_for(lambda: self._in_flight.get(key, 0) < limit)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            now = self._clock()
            start = max(now, self._next_start.get(key, now))
            self._next_start[key] = start + min_interval_s
        try:
            if start > now:
                self._sleep(start - now)
            yield
        finally:
            with self._changed:
                self._in_flight[key] -= 1
                self._changed.notify_all()


class CircuitBreaker:
    """Opens for a host after ``threshold`` consecutive failures, so a dead site fails fast.

    After ``cooldown_s`` one trial request is let through (half-open); its success closes the
    breaker, its failure opens it for another cooldown.
    """

    def __init__(self, threshold: int, cooldown_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._opened_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        with self._lock:
            failures = self._failures.get(key, 0)
            if failures < self._threshold:
                return
            now = self._clock()
            if now - self._opened_at.get(key, now) >= self._cooldown_s:
                self._opened_at[key] = now  # half-open: this caller is the trial
                return
        raise PermanentFetchError(
            f"{failures} consecutive failures on {key}: skipping the host for now", kind="circuit_open"
        )

    def record(self, key: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures.pop(key, None)
                self._opened_at.pop(key, None)
                return
            self._failures[key] = self._failures.get(key, 0) + 1
            if self._failures[key] == self._threshold:
                self._opened_at[key] = self._clock()
