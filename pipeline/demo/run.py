"""``newsingest demo``: serve the embedded demo site on loopback, ingest it, show the result."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import duckdb

from pipeline.demo.server import start_demo_server
from pipeline.options import add_run_arguments, to_config

__all__ = ["run_demo"]

_QUERY = """\
SELECT source, count(*) AS articles, sum(word_count) AS words,
       sum(comment_count) AS comments, min(published_at) AS first, max(published_at) AS last
FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true, union_by_name = true)
GROUP BY source ORDER BY articles DESC"""


def _demo_args(feed_url: str, out: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    # The demo site lives on 127.0.0.1, which the address guard refuses unless allowed.
    return parser.parse_args(["--feed", feed_url, "--out", out, "--allow-private-hosts", "--min-interval", "0.05"])


def run_demo(out: str, beam_args: Sequence[str] = ()) -> int:
    """Start the demo site, ingest its feed into ``out``, print the report and a DuckDB query."""
    from pipeline.run import run_ingest

    with start_demo_server() as server:
        print(f"demo site serving at {server.base_url} (feed {server.feed_url})")
        report = run_ingest(to_config(_demo_args(server.feed_url, out)), beam_args)
    print(report.render())
    query = _QUERY.format(out=out)
    print(f"\nDuckDB:\n{query}\n")
    print(duckdb.sql(query))
    titles = duckdb.sql(
        f"SELECT title, word_count FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true, "
        "union_by_name = true) ORDER BY published_at DESC LIMIT 5"
    )
    print(titles)
    return 0
