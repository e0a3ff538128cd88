"""Command-line and feeds.toml options, turned once into the frozen ``IngestConfig``.

Precedence: command-line flag, then the TOML ``[settings]`` table, then the dataclass default.
Anything argparse does not know is handed to Beam as a pipeline option (``--runner``, ...).
"""

from __future__ import annotations

import argparse
import tomllib
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.config import ExtractConfig, FetchConfig, SinkConfig
from pipeline.ingest_config import IngestConfig
from transforms.comments.collect import CommentsConfig
from transforms.stories.config import StoriesConfig
from transforms.tagging import TaggingConfig
from schemas.records import FeedSpec
from transforms.errors import ConfigError

__all__ = ["add_run_arguments", "load_feeds_toml", "new_run_id", "to_config"]

# CLI flag (dest) -> (config section, field name). One table drives argparse, TOML and the config.
_SETTINGS: dict[str, tuple[str, str, type, str]] = {
    "user_agent": ("fetch", "user_agent", str, "User-Agent header; name the tool and a contact URL."),
    "min_interval": ("fetch", "min_interval_s", float, "Seconds between two requests to one host (default 1)."),
    "max_in_flight": ("fetch", "max_in_flight_per_host", int, "Requests in flight per host (default 1)."),
    "timeout": ("fetch", "total_timeout_s", float, "Total seconds allowed for one response (default 30)."),
    "connect_timeout": ("fetch", "connect_timeout_s", float, "Seconds allowed to connect (default 10)."),
    "max_bytes": ("fetch", "max_bytes", int, "Largest body accepted, after decompression (default 10 MiB)."),
    "max_redirects": ("fetch", "max_redirects", int, "Redirects followed at most (default 5)."),
    "max_attempts": ("fetch", "max_attempts", int, "Attempts per URL for retryable errors (default 4)."),
    "backoff_base": ("fetch", "backoff_base_s", float, "First retry delay in seconds, doubled each time (default 1)."),
    "backoff_max": ("fetch", "backoff_max_s", float,
                    "Longest wait before a retry, Retry-After included; a longer Retry-After fails the URL "
                    "(default 60)."),
    "breaker_failures": ("fetch", "circuit_breaker_failures", int,
                         "Consecutive failures after which a host is skipped for the run (default 5)."),
    "contact_url": ("fetch", "contact_url", str,
                    "A URL or mailto: where site owners can reach you; added to the User-Agent."),
    "min_words": ("extract", "min_words", int, "Articles with fewer words are rejected (default 50)."),
    "rows_per_file": ("sink", "max_rows_per_file", int, "Rows per Parquet file at most (default 5000)."),
    "comments_window": ("ingest", "comments_window_days", float,
                        "Days during which a stored article's new comments are still collected (default 7)."),
    "disqus_api_key": ("comments", "disqus_api_key", str,
                       "A Disqus public API key: collect Disqus threads (without it they are only recorded)."),
    "disqus_api_base": ("comments", "disqus_api_base", str, "Disqus API root (default https://disqus.com/api/3.0)."),
    "max_comments": ("comments", "max_comments", int, "Comments collected per article at most (default 5000)."),
    "story_window": ("stories", "story_window_days", float,
                     "Days within which articles can join one story (default 7)."),
    "duplicate_threshold": ("stories", "duplicate_threshold", float,
                            "Share of a text found in an earlier one that makes it a near-duplicate (default 0.8)."),
    "batch_articles": ("ingest", "batch_articles", int,
                       "New articles per Beam job at most: a bigger run is split into jobs over whole feeds, "
                       "run one after another, to bound memory (0: one job; default 1000 on the in-process "
                       "runner, one job with --runner)."),
    "ner": ("tagging", "ner", str, "Finder of names not in the actor registry: auto (spaCy if an English model "
            "is installed, else rules), spacy, rules or off (default auto)."),
}
_BOOLEAN_SETTINGS: dict[str, tuple[str, str, str]] = {
    "allow_private_hosts": ("fetch", "allow_private_hosts",
                            "Allow hosts on loopback/private/reserved addresses (off: refused, against SSRF)."),
    "ignore_robots": ("fetch", "respect_robots", "Do not honour robots.txt (on by default)."),
    "favor_precision": ("extract", "favor_precision", "Ask trafilatura for less text but less noise."),
    "fast_extraction": ("extract", "backup_extractors", "Skip trafilatura's backup extractors: extraction about "
                        "40%% faster, recall up to 0.015 lower (docs/extraction.md)."),
    "no_comments": ("comments", "enabled", "Do not collect reader comments."),
}
# Boolean flags that switch a default-on setting off.
_NEGATED = {"ignore_robots", "no_comments", "fast_extraction"}
_FEED_KEYS = {"url", "name", "min_interval", "max_in_flight"}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``run`` and ``follow``."""
    parser.add_argument("--feed", action="append", default=[], metavar="URL", help="A feed URL (repeatable).")
    parser.add_argument("--feeds", metavar="FILE", help="A feeds.toml file: [[feeds]] tables and [settings].")
    parser.add_argument("--out", metavar="DIR", help="Output root (a local path, gs://... or s3://...).")
    for dest, (_, _, kind, text) in _SETTINGS.items():
        parser.add_argument(f"--{dest.replace('_', '-')}", dest=dest, type=kind, default=None, help=text)
    for dest, (_, _, text) in _BOOLEAN_SETTINGS.items():
        parser.add_argument(f"--{dest.replace('_', '-')}", dest=dest, action="store_true", default=None, help=text)
    parser.add_argument("--allow-network", dest="allow_network", action="append", default=None, metavar="CIDR",
                        help="A private network allowed without --allow-private-hosts, e.g. 10.8.0.0/16 "
                        "(repeatable).")
    parser.add_argument("--warc", nargs="?", const="", default=None, metavar="DIR",
                        help="Keep every HTTP response as WARC files, in DIR (default OUT/warc).")
    parser.add_argument("--actors", action="append", default=[], metavar="FILE",
                        help="An actor registry file of your own, same format as the shipped one (repeatable; "
                        "see docs/tagging.md).")


def _feed_spec(table: Mapping[str, Any], where: str) -> FeedSpec:
    unknown = set(table) - _FEED_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown feed option(s) {', '.join(sorted(unknown))}")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: 'url' must be an http(s) URL")
    return FeedSpec(url=url, name=table.get("name"), min_interval_s=table.get("min_interval"),
                    max_in_flight=table.get("max_in_flight"))


def load_feeds_toml(path: str) -> tuple[tuple[FeedSpec, ...], dict[str, Any]]:
    """Read a feeds.toml: the ``[[feeds]]`` tables and the optional ``[settings]`` table."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    unknown = set(document) - {"feeds", "settings"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    feeds = document.get("feeds", [])
    if not isinstance(feeds, list):
        raise ConfigError(f"{path}: 'feeds' must be an array of tables ([[feeds]])")
    specs = tuple(_feed_spec(table, f"{path} feeds[{i}]") for i, table in enumerate(feeds))
    settings = document.get("settings", {})
    known = set(_SETTINGS) | set(_BOOLEAN_SETTINGS) | {"out", "actors", "allow_network", "warc"}
    if set(settings) - known:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(set(settings) - known))}")
    return specs, settings


def new_run_id() -> str:
    """A run id that sorts by start time and cannot collide between runs."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _section_values(args: argparse.Namespace, settings: Mapping[str, Any], section: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for dest, (sec, name, kind, _) in _SETTINGS.items():
        value = getattr(args, dest, None)
        value = settings.get(dest) if value is None else value
        if sec == section and value is not None:
            try:
                values[name] = kind(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{dest}: {value!r} is not a valid {kind.__name__}") from exc
    for dest, (sec, name, _) in _BOOLEAN_SETTINGS.items():
        value = getattr(args, dest, None)
        value = settings.get(dest) if value is None else value
        if sec == section and value is not None:
            values[name] = (not value) if dest in _NEGATED else bool(value)
    return values


def _fetch_values(args: argparse.Namespace, settings: Mapping[str, Any], out: str) -> dict[str, Any]:
    """The fetch section, plus the two options that are not scalars: networks (a list) and --warc."""
    values = _section_values(args, settings, "fetch")
    networks = getattr(args, "allow_network", None) or settings.get("allow_network") or []
    if isinstance(networks, str):
        networks = [networks]
    values["allowed_networks"] = tuple(str(n) for n in networks)
    warc = getattr(args, "warc", None)
    warc = settings.get("warc") if warc is None else warc
    if warc is True or warc == "":
        values["warc_dir"] = f"{out}/warc"
    elif warc:
        values["warc_dir"] = str(warc).rstrip("/")
    return values


def to_config(args: argparse.Namespace, *, run_id: str | None = None) -> IngestConfig:
    """Build the run's config from parsed arguments (and the feeds file they name).

    Raises:
        ConfigError: missing or invalid input; the CLI exits with code 2.
    """
    specs: tuple[FeedSpec, ...] = ()
    settings: dict[str, Any] = {}
    if args.feeds:
        specs, settings = load_feeds_toml(args.feeds)
    specs += tuple(_feed_spec({"url": url}, "--feed") for url in args.feed)
    out = args.out or settings.get("out")
    if not out:
        raise ConfigError("--out DIR is required (or 'out' in the [settings] of the feeds file)")
    specs = tuple({spec.url: spec for spec in specs}.values())
    actor_files = tuple(settings.get("actors", [])) + tuple(getattr(args, "actors", []) or [])
    for path in actor_files:
        if not Path(path).is_file():
            raise ConfigError(f"--actors {path}: no such file")
    try:
        return IngestConfig(
            feeds=specs,
            fetch=FetchConfig(**_fetch_values(args, settings, str(out).rstrip("/"))),
            extract=ExtractConfig(**_section_values(args, settings, "extract")),
            sink=SinkConfig(out=str(out).rstrip("/"), run_id=run_id or new_run_id(),
                            **_section_values(args, settings, "sink")),
            comments=CommentsConfig(**_section_values(args, settings, "comments")),
            tagging=TaggingConfig(actor_files=actor_files, **_section_values(args, settings, "tagging")),
            stories=StoriesConfig(**_section_values(args, settings, "stories")),
            **_section_values(args, settings, "ingest"),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
