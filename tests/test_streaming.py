"""The unbounded pipeline under TestStream on the BundleBasedDirectRunner (streaming mode, in process).

FnApiRunner cannot run TestStream (apache/beam#21988), and Prism would need a download, so the test
names the bundle-based direct runner explicitly. The polling clock is the TestStream; everything
after it is the job ``newsingest run --streaming`` submits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
from apache_beam.testing import test_stream
from apache_beam.transforms.window import TimestampedValue

from pipeline.config import ExtractConfig, FetchConfig, SinkConfig
from pipeline.ingest_config import IngestConfig
from pipeline.streaming import build_streaming_pipeline
from schemas.records import FeedSpec
from tests.faults import FaultServer, reply
from tests.sitefixture import PARAGRAPHS, FixtureArticle, article_html, rss_feed

WINDOW_S = 60


def _feed_versions(server: FaultServer) -> None:
    """The feed lists two stories, then three, then answers 304 to its second ETag."""
    base = server.base_url
    stories = [FixtureArticle(f"s{i}", f"Streaming story {i}", paragraphs=[f"Story {i}. " + p for p in PARAGRAPHS])
               for i in range(3)]
    for story in stories:
        server.routes[f"/news/{story.slug}"] = reply(article_html(story, base))
    items = [(f"{base}/news/{s.slug}", s.title, "Tue, 04 Mar 2025 08:30:00 GMT") for s in stories]
    versions = [rss_feed(items[:2]), rss_feed(items)]

    def feed(handler, hits):  # type: ignore[no-untyped-def]
        if hits >= 2 and handler.headers.get("If-None-Match") == '"v2"':
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        version = min(hits, 1)
        reply(versions[version], content_type="application/rss+xml", headers={"ETag": f'"v{version + 1}"'})(
            handler, hits)

    server.routes["/feed.xml"] = feed
    server.routes["/broken.xml"] = reply("<rss><channel><item>", content_type="application/rss+xml")
    server.routes["/robots.txt"] = reply("", 404, "text/plain")


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        _feed_versions(s)
        yield s


def test_unbounded_pipeline_polls_conditionally_and_writes_per_window(server: FaultServer, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    config = IngestConfig(
        feeds=(FeedSpec(server.url("/feed.xml")), FeedSpec(server.url("/broken.xml"))),
        sink=SinkConfig(out=out, run_id="stream-test"),
        fetch=FetchConfig(allow_private_hosts=True, min_interval_s=0), extract=ExtractConfig(),
    )
    ticks = (
        test_stream.TestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(0, 10)])
        .advance_watermark_to(WINDOW_S + 5)      # closes window 1: its files are written
        .add_elements([TimestampedValue(1, WINDOW_S + 10)])
        .advance_watermark_to(2 * WINDOW_S + 5)  # closes window 2
        .add_elements([TimestampedValue(2, 2 * WINDOW_S + 10)])
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(runner=BundleBasedDirectRunner(), options=options) as p:
        build_streaming_pipeline(p, config, window_s=WINDOW_S, ticks=p | ticks)

    files = sorted((tmp_path / "out" / "articles").glob("**/*.parquet"))
    titles = sorted(t for f in files for t in pq.read_table(f, columns=["title"]).column("title").to_pylist())
    assert titles == ["Streaming story 0", "Streaming story 1", "Streaming story 2"]  # each exactly once
    assert len(files) == 2  # one per window: two stories in the first, the new one in the second
    assert server.hits["/feed.xml"] == 3 and server.hits["/news/s0"] == 1  # third poll was a 304
    failures = [r for f in (tmp_path / "out" / "failures").glob("**/*.parquet") for r in pq.read_table(f).to_pylist()]
    assert {f["error_kind"] for f in failures} == {"malformed_feed"} and len(failures) == 3
    assert not list((tmp_path / "out").glob("_tmp/**/*.parquet"))
