"""The address guard (by name resolution only), DNS pinning, host gates and per-host concurrency.

No test here sends a packet anywhere but 127.0.0.1: non-loopback addresses only ever come from an
injected resolver, and the guard must refuse them before any connection is attempted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import FetchConfig
from schemas.records import FeedEntry
from tests.faults import FaultServer, reply
from transforms.errors import BlockedURLError
from transforms.fetch import FetchPages
from transforms.http import HttpClient
from transforms.politeness import AddressGuard, HostGates
from transforms.urls import path_safe, source_of

PAGE = "<html><body><p>hello</p></body></html>"


class Resolver:
    """A fake DNS: fixed answers, and a count of lookups."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        answers = self._answers[host]
        return answers[min(len(self.lookups) - 1, len(answers) - 1)]


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
])
def test_guard_refuses_non_public_addresses_by_resolution(address: str) -> None:
    guard = AddressGuard(resolver=Resolver({"evil.test": [[address]]}))
    with pytest.raises(BlockedURLError, match="non-public"):
        guard.check("http://evil.test/latest/meta-data/")


def test_guard_refuses_a_name_with_one_private_address_among_public_ones() -> None:
    guard = AddressGuard(resolver=Resolver({"mixed.test": [["93.184.216.34", "10.0.0.7"]]}))
    with pytest.raises(BlockedURLError):
        guard.check("https://mixed.test/")


def test_guard_allows_public_addresses_without_connecting() -> None:
    resolver = Resolver({"news.test": [["93.184.216.34", "2606:2800:220:1::1"]]})
    AddressGuard(resolver=resolver).check("https://news.test/feed")  # a check only: nothing is sent
    assert resolver.lookups == ["news.test"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/", "data:,hi",
                                 "javascript:alert(1)", "http:///nohost"])
def test_guard_refuses_other_schemes_and_hostless_urls(url: str) -> None:
    with pytest.raises(BlockedURLError):
        AddressGuard(allow_private_hosts=True).check(url)


def test_guard_literal_addresses_and_allow_lists() -> None:
    with pytest.raises(BlockedURLError):
        AddressGuard().check("http://[::1]:8080/")
    with pytest.raises(BlockedURLError):
        AddressGuard(allowed_networks=("127.0.0.0/8",)).check("http://10.1.2.3/")
    AddressGuard(allowed_networks=("127.0.0.0/8",)).check("http://127.0.0.1:9/")
    AddressGuard(allow_private_hosts=True).check("http://10.1.2.3/")


def test_client_refuses_a_private_name_before_any_connection() -> None:
    resolver = Resolver({"intranet.test": [["10.0.0.1"]], "metadata.test": [["169.254.169.254"]]})
    guard = AddressGuard(resolver=resolver)
    with HttpClient(FetchConfig(min_interval_s=0), guard=guard) as client:
        for host in ("intranet.test", "metadata.test"):
            with pytest.raises(BlockedURLError):
                client.get(f"http://{host}/")
        assert client.requests_made == 0


def test_connection_goes_to_the_checked_address_not_a_new_lookup() -> None:
    """DNS rebinding: the second answer (10.0.0.1) is never asked for nor connected to."""
    with FaultServer({"/robots.txt": reply("", 404, "text/plain"), "/ok": reply(PAGE)}) as site:
        port = site.base_url.rsplit(":", 1)[1]
        resolver = Resolver({"news.test": [["127.0.0.1"], ["10.0.0.1"]]})
        guard = AddressGuard(allowed_networks=("127.0.0.0/8",), resolver=resolver)
        with HttpClient(FetchConfig(min_interval_s=0), guard=guard) as client:
            for _ in range(3):
                assert "hello" in client.get(f"http://news.test:{port}/ok").text
        assert resolver.lookups == ["news.test"] and site.hits["/ok"] == 3


def test_host_gates_bound_concurrency_per_host() -> None:
    gates = HostGates(max_in_flight=1)
    in_flight: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    lock = threading.Lock()

    def work(key: str, limit: int) -> None:
        with gates.slot(key, 0.0, limit):
            with lock:
                in_flight[key] += 1
                peak[key] = max(peak[key], in_flight[key])
            time.sleep(0.05)
            with lock:
                in_flight[key] -= 1

    threads = [threading.Thread(target=work, args=(key, 3 if key == "a" else None)) for key in "ab" * 6]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak["a"] == 3 and peak["b"] == 1


def test_host_gates_space_request_starts() -> None:
    now = [0.0]
    sleeps: list[float] = []
    gates = HostGates(1, clock=lambda: now[0], sleep=lambda s: (sleeps.append(s), now.__setitem__(0, now[0] + s)))
    for _ in range(3):
        with gates.slot("h", 1.5):
            pass
    with gates.slot("other", 1.5):
        pass
    assert sleeps == [1.5, 1.5]  # the other host does not wait


@pytest.fixture
def slow_site() -> Iterator[FaultServer]:
    active = [0]
    peak = [0]
    lock = threading.Lock()

    def page(handler, hits):  # type: ignore[no-untyped-def]
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        reply(PAGE)(handler, hits)

    site = FaultServer({"/robots.txt": reply("", 404, "text/plain")})
    site.routes.update({f"/p{i}": page for i in range(8)})
    site.peak = peak  # type: ignore[attr-defined]
    yield site
    site.stop()


@pytest.mark.parametrize("feed_limit, expected_peak", [(None, 1), (3, 3)])
def test_fetch_stage_honours_per_feed_max_in_flight(slow_site: FaultServer, feed_limit: int | None,
                                                     expected_peak: int) -> None:
    feed = slow_site.url("/feed.xml")
    entries = [FeedEntry(feed_url=feed, url=slow_site.url(f"/p{i}"), canonical_url=slow_site.url(f"/p{i}"),
                         article_id=str(i)) for i in range(8)]
    config = FetchConfig(allow_private_hosts=True, min_interval_s=0)
    limits = {feed: feed_limit} if feed_limit else {}
    with TestPipeline() as p:
        fetched = p | beam.Create(entries) | FetchPages(config, feed_limits=limits)
        assert_that(fetched.pages | beam.Map(lambda page: page.status), equal_to([200] * 8), label="Pages")
        assert_that(fetched.failures, equal_to([]), label="NoFailures")
    assert slow_site.peak[0] == expected_peak  # type: ignore[attr-defined]


def test_host_names_in_paths_are_sanitised() -> None:
    assert source_of("http://www.Example.COM:8080/x") == "example.com"
    assert path_safe("../../etc/passwd") == "etc_passwd"
    for url in ("http://a%2F..%2Fb.test/", "http://..%2F..%2F/", "http://../"):
        name = source_of(url)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
