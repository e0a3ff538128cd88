"""The HTTP client against the fault-injecting loopback server: every fault ends in a typed error or a retry."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator

import pytest

from pipeline.config import FetchConfig
from tests.faults import (
    FaultServer, drip, flapping, gzip_bomb, http_date_in, oversized, redirect, reply, reset, retry_after, slow,
)
from transforms.errors import BlockedURLError, FetchError, PermanentFetchError, RetryableFetchError
from transforms.http import HttpClient, decode_body

PAGE = "<html><body><p>hello</p></body></html>"
FAST = FetchConfig(allow_private_hosts=True, min_interval_s=0, max_attempts=3, backoff_base_s=0.01,
                   backoff_max_s=30, total_timeout_s=0.5, connect_timeout_s=0.5, max_bytes=200_000,
                   circuit_breaker_failures=100)


class Sleeps:
    """Records the sleeps the client asks for, without sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer({"/robots.txt": reply("", 404, "text/plain")}) as s:
        yield s


_OPEN: list[HttpClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _client(config: FetchConfig = FAST, sleeps: Callable[[float], None] | None = None, **kwargs: object) -> HttpClient:
    client = HttpClient(config, sleep=sleeps or Sleeps(), **kwargs)  # type: ignore[arg-type]
    _OPEN.append(client)
    return client


def _error(client: HttpClient, url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        client.get(url)
    return info.value


def test_slow_response_times_out_after_bounded_attempts(server: FaultServer) -> None:
    server.routes["/slow"] = slow(3, reply(PAGE))
    error = _error(_client(), server.url("/slow"))
    assert isinstance(error, RetryableFetchError) and error.kind == "timeout" and error.attempts == 3


def test_slow_drip_hits_the_total_timeout(server: FaultServer) -> None:
    server.routes["/drip"] = drip(b"x" * 200, every_s=0.02)
    error = _error(_client(FetchConfig(**{**_fields(FAST), "max_attempts": 1})), server.url("/drip"))
    assert error.kind == "timeout"


def test_connection_reset_is_retried_then_succeeds(server: FaultServer) -> None:
    server.routes["/reset-once"] = reset(1, reply(PAGE))
    server.routes["/reset"] = reset(99)
    client = _client()
    response = client.get(server.url("/reset-once"))
    assert response.status == 200 and response.attempts == 2 and "hello" in response.text
    error = _error(client, server.url("/reset"))
    assert error.kind == "connection_error" and error.attempts == 3 and server.hits["/reset"] == 3


def test_429_retry_after_seconds_is_honoured(server: FaultServer) -> None:
    server.routes["/429"] = retry_after(lambda: "7", reply(PAGE))
    sleeps = Sleeps()
    response = _client(sleeps=sleeps).get(server.url("/429"))
    assert response.attempts == 2 and sleeps.calls == [7.0]


def test_429_retry_after_http_date_is_honoured(server: FaultServer) -> None:
    server.routes["/429"] = retry_after(lambda: http_date_in(9), reply(PAGE))
    sleeps = Sleeps()
    response = _client(sleeps=sleeps).get(server.url("/429"))
    assert response.attempts == 2 and len(sleeps.calls) == 1 and 6 <= sleeps.calls[0] <= 10


def test_retry_after_longer_than_we_wait_gives_up_at_once(server: FaultServer) -> None:
    server.routes["/429"] = retry_after(lambda: "3600", reply(PAGE))
    sleeps = Sleeps()
    error = _error(_client(sleeps=sleeps), server.url("/429"))
    assert error.kind == "http_429" and error.attempts == 1 and sleeps.calls == []


def test_flapping_503_backs_off_exponentially_with_jitter(server: FaultServer) -> None:
    server.routes["/flap"] = flapping(2, reply(PAGE))
    sleeps = Sleeps()
    config = FetchConfig(**{**_fields(FAST), "backoff_base_s": 1.0})
    response = _client(config, sleeps).get(server.url("/flap"))
    assert response.attempts == 3 and server.hits["/flap"] == 3
    assert 0.5 <= sleeps.calls[0] <= 1.5 and 1.0 <= sleeps.calls[1] <= 3.0


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 501])
def test_not_worth_retrying(server: FaultServer, status: int) -> None:
    server.routes["/x"] = reply("no", status, "text/plain")
    error = _error(_client(), server.url("/x"))
    assert isinstance(error, PermanentFetchError) and error.kind == f"http_{status}" and server.hits["/x"] == 1


def test_redirect_loop_and_too_many_redirects(server: FaultServer) -> None:
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect("/a")
    for i in range(10):
        server.routes[f"/chain{i}"] = redirect(f"/chain{i + 1}")
    client = _client()
    assert _error(client, server.url("/a")).kind == "redirect_loop"
    assert _error(client, server.url("/chain0")).kind == "too_many_redirects"
    assert server.hits["/chain6"] == 0  # at most max_redirects (5) followed


def test_redirect_to_a_private_address_is_refused_before_connecting(server: FaultServer) -> None:
    server.routes["/go"] = redirect("http://10.1.2.3/admin")
    server.routes["/meta"] = redirect("http://169.254.169.254/latest/meta-data/")
    # Loopback allowed (the test server), everything else private refused.
    config = FetchConfig(**{**_fields(FAST), "allow_private_hosts": False, "allowed_networks": ("127.0.0.0/8",)})
    client = _client(config)
    for path, address in (("/go", "10.1.2.3"), ("/meta", "169.254.169.254")):
        error = _error(client, server.url(path))
        assert isinstance(error, BlockedURLError) and address in str(error)
    # Only loopback was ever sent to: robots.txt and the two redirecting pages.
    assert client.requests_made == 3 and server.hits["/robots.txt"] == 1


def test_oversized_bodies_declared_and_chunked(server: FaultServer) -> None:
    server.routes["/declared"] = oversized(300_000, declare=True)
    server.routes["/chunked"] = oversized(1_000_000, declare=False)
    client = _client()
    for path in ("/declared", "/chunked"):
        error = _error(client, server.url(path))
        assert error.kind == "too_large" and error.attempts == 1


def test_gzip_bomb_stops_at_the_limit(server: FaultServer) -> None:
    server.routes["/bomb"] = gzip_bomb(100_000_000)  # ~100 KB on the wire, 100 MB inflated
    server.routes["/gz"] = reply(gzip.compress(PAGE.encode()), headers={"Content-Encoding": "gzip"})
    client = _client()
    assert _error(client, server.url("/bomb")).kind == "too_large"
    assert "hello" in client.get(server.url("/gz")).text


def test_wrong_content_type_is_refused_without_retry(server: FaultServer) -> None:
    server.routes["/doc.pdf"] = reply(b"%PDF-1.4", content_type="application/pdf")
    with pytest.raises(PermanentFetchError) as info:
        _client().get(server.url("/doc.pdf"), accept=("text/html",))
    assert info.value.kind == "unsupported_content_type" and server.hits["/doc.pdf"] == 1


def test_wrong_charset_header_and_fallbacks(server: FaultServer) -> None:
    text = "Café crème – naïve Ångström"
    server.routes["/lying"] = reply(f"<p>{text}</p>".encode(), content_type="text/html; charset=iso-8859-1")
    server.routes["/meta"] = reply(f'<meta charset="windows-1252"><p>{text}</p>'.encode("cp1252"),
                                   content_type="text/html")
    client = _client()
    assert text in client.get(server.url("/lying")).text
    assert text in client.get(server.url("/meta")).text
    russian = "Московский метрополитен открыл новую станцию на кольцевой линии в понедельник утром."
    assert decode_body((russian * 3).encode("cp1251")).startswith(russian)
    assert decode_body(b"\xef\xbb\xbf" + text.encode(), "text/html; charset=latin-1") == text


def test_robots_disallow_and_crawl_delay_through_the_host_gate() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with FaultServer({"/robots.txt": reply("User-agent: *\nCrawl-delay: 2\nDisallow: /private/\n",
                                           content_type="text/plain"),
                      "/ok": reply(PAGE)}) as site:
        config = FetchConfig(**{**_fields(FAST), "min_interval_s": 0.5})
        client = _client(config, sleep, clock=lambda: now[0])
        error = _error(client, site.url("/private/x"))
        assert error.kind == "robots_disallowed" and site.hits["/private/x"] == 0
        client.get(site.url("/ok"))
        client.get(site.url("/ok"))
        # robots.txt at t=0 (interval 0.5 after it), then the pages 2 s apart (Crawl-delay beats min_interval).
        assert site.hits["/robots.txt"] == 1 and sleeps == [0.5, 2.0]


def test_failing_robots_txt_blocks_the_host() -> None:
    with FaultServer({"/robots.txt": reply("down", 503, "text/plain"), "/ok": reply(PAGE)}) as site:
        error = _error(_client(), site.url("/ok"))
        assert error.kind == "robots_unavailable" and site.hits["/ok"] == 0


def test_circuit_breaker_stops_a_dead_host_and_half_opens_later() -> None:
    now = [0.0]
    with FaultServer({"/robots.txt": reply("", 404, "text/plain")}) as dead:
        config = FetchConfig(**{**_fields(FAST), "max_attempts": 1, "circuit_breaker_failures": 3,
                                "circuit_breaker_cooldown_s": 60})
        dead.routes.update({f"/p{i}": reply("down", 503, "text/plain") for i in range(6)})
        client = _client(config, clock=lambda: now[0])
        kinds = [_error(client, dead.url(f"/p{i}")).kind for i in range(5)]
        assert kinds == ["http_503"] * 3 + ["circuit_open"] * 2
        assert sum(dead.hits[f"/p{i}"] for i in range(5)) == 3
        now[0] = 61.0
        assert _error(client, dead.url("/p5")).kind == "http_503"  # the half-open trial was sent
        assert dead.hits["/p5"] == 1


def test_user_agent_names_the_tool_and_the_contact(server: FaultServer) -> None:
    seen: list[str] = []

    def echo(handler, hits):  # type: ignore[no-untyped-def]
        seen.append(handler.headers["User-Agent"])
        reply(PAGE)(handler, hits)

    server.routes["/ua"] = echo
    config = FetchConfig(**{**_fields(FAST), "contact_url": "https://example.org/contact"})
    _client(config).get(server.url("/ua"))
    assert seen[0].startswith("newsingest/") and "https://example.org/contact" in seen[0]


def _fields(config: FetchConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in FetchConfig.__dataclass_fields__}
