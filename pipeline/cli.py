"""The ``newsingest`` command line: ``run``, ``follow`` and ``demo``.

Exit codes: 0 the run completed (per-URL failures are in the failures table), 2 bad configuration
or input, 1 the run itself failed (including: another run holds the output directory's lock).
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from transforms.errors import ConfigError

__all__ = ["main"]

LOGGER = logging.getLogger("newsingest")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

# glibc gives threads that allocate at once their own malloc arenas (up to 8 per core), and memory
# freed in one arena is not reused for another's requests. Over the jobs of a big run the driver's
# resident memory crept up that way, job after job (docs/benchmarks.md, session 11). Two arenas
# keep it down; the GIL serialises most allocations anyway. Set by hand: no library does this.
_MALLOC_ARENAS = "2"
_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h

_EPILOG = """\
Any other --option is passed to Apache Beam as a pipeline option, e.g. --runner=FlinkRunner,
--direct_num_workers=2 --direct_running_mode=multi_processing. Without --runner the job runs
in-process (Beam's FnApiRunner), with no network access needed.

exit codes: 0 completed (per-URL failures go to the failures table), 1 the run failed
(or another run is writing to the same DIR), 2 bad configuration or input."""


def _parser() -> argparse.ArgumentParser:
    from pipeline.options import add_run_arguments  # may import Beam: after logging is set up

    parser = argparse.ArgumentParser(
        prog="newsingest", description="Ingest news feeds, their articles and reader comments into Parquet tables.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="Log what each stage does.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser("run", help="Ingest the feeds once (a batch run, e.g. from cron).",
                              description="Poll the feeds once and append new articles to DIR.",
                              formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    add_run_arguments(run)
    run.add_argument("--streaming", action="store_true",
                     help="Build the unbounded pipeline (periodic polling, windowed Parquet writes) for a "
                     "streaming runner, e.g. --runner=FlinkRunner or DataflowRunner; see docs/operations.md.")
    run.add_argument("--poll-interval", default="15m", help="With --streaming: time between polls (default 15m).")
    run.add_argument("--window", default="5m", help="With --streaming: Parquet files are written per window "
                     "of this length (default 5m).")
    follow = commands.add_parser("follow", help="Keep polling the feeds at an interval until Ctrl-C.",
                                 description="Run a batch ingest every --interval until stopped. Ctrl-C "
                                 "lets the current poll finish and commit; a second Ctrl-C aborts it.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    add_run_arguments(follow)
    follow.add_argument("--interval", default="15m", help="Time between polls: 90s, 15m, 1h (default 15m).")
    demo = commands.add_parser("demo", help="Serve the embedded demo news site on loopback and ingest it.",
                               description="Start the demo site on 127.0.0.1, ingest it into --out, and show "
                               "a summary and a DuckDB query over the result. Needs no network.")
    demo.add_argument("--out", default="demo-out", help="Output directory (default ./demo-out).")
    return parser


def parse_interval(text: str) -> float:
    """Seconds in an interval like ``90s``, ``15m``, ``1h`` or a bare number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--interval {text!r}: use a positive number with s, m or h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


class _DropBeamImportNoise(logging.Filter):
    """Beam warns on import that optional Google Cloud clients are missing; they are not needed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def _configure_logging(verbose: bool) -> None:
    """Called before anything imports Beam, whose import logs through the root logger."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.INFO if verbose else logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _DropBeamImportNoise) for f in handler.filters):
            handler.addFilter(_DropBeamImportNoise())
    # Beam logs per-stage chatter at INFO and a warning about optional GCP clients on import.
    logging.getLogger("apache_beam").setLevel(logging.INFO if verbose else logging.ERROR)
    LOGGER.setLevel(logging.INFO)


def _run_once(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    from pipeline.options import to_config
    from pipeline.report import ProgressLine  # these import Beam: kept out of --help's path
    from pipeline.run import run_ingest

    config = to_config(args)
    if getattr(args, "streaming", False):
        from pipeline.streaming import run_streaming

        run_streaming(config, beam_args, poll_interval_s=parse_interval(args.poll_interval),
                      window_s=parse_interval(args.window))
        return EXIT_OK
    LOGGER.info("run %s: polling %d feed(s) into %s", config.sink.run_id, len(config.feeds), config.sink.out)
    with ProgressLine():
        report = run_ingest(config, beam_args)
    print(report.render())
    totals = report.totals()
    LOGGER.info("run %s completed in %.1f s: %d new articles, %d comments, %d failures, %d of %d feeds unchanged",
                report.run_id, report.seconds, totals.articles, totals.comments, sum(totals.failures.values()),
                totals.not_modified, totals.feeds_polled)
    return EXIT_OK


def _follow(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    interval = parse_interval(args.interval)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        print("\nstopping after the current poll (Ctrl-C again to abort it)", file=sys.stderr)
        stop.set()

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        while not stop.is_set():
            try:
                _run_once(args, beam_args)
            except (ConfigError, KeyboardInterrupt):
                raise
            except Exception as exc:  # one failed poll (a locked DIR, a full disk) must not end the loop
                LOGGER.exception("poll failed (%s); the next poll runs in %s", type(exc).__name__, args.interval)
            stop.wait(interval)
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_OK


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas in this process and the Beam worker processes it starts, unless the
    user set ``MALLOC_ARENA_MAX``; nothing to do off glibc."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    os.environ["MALLOC_ARENA_MAX"] = _MALLOC_ARENAS  # read at start-up by child processes (SDK workers)
    libc = ctypes.CDLL(None)
    if hasattr(libc, "gnu_get_libc_version"):  # this process has started: tell its allocator directly
        libc.mallopt(_M_ARENA_MAX, int(_MALLOC_ARENAS))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsingest`` console script and of ``python -m pipeline``."""
    _limit_malloc_arenas()
    _configure_logging(verbose=False)
    args, beam_args = _parser().parse_known_args(argv)
    _configure_logging(args.verbose)
    unknown = [a for a in beam_args if not a.startswith("--")]
    try:
        if unknown:
            raise ConfigError(f"unexpected argument(s): {' '.join(unknown)}")
        if args.command == "demo":
            from pipeline.demo.run import run_demo

            return run_demo(args.out, beam_args)
        if args.command == "follow":
            return _follow(args, beam_args)
        return _run_once(args, beam_args)
    except ConfigError as exc:
        print(f"newsingest: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("newsingest: interrupted; nothing half-written is visible, the next run completes it", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the run itself failed: say so plainly, exit 1, keep the traceback in the log
        LOGGER.exception("run failed")
        print(f"newsingest: run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
