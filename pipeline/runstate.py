"""Driver-side run state under ``DIR/_state/``: the run lock, the feeds' conditional-GET validators
and the article ids each feed listed.

The validators go through Beam's FileSystems (temporary name, then rename), so the state lives
beside the data on any store. What has been ingested is not kept here at all: it is read from the
committed tables themselves (``transforms.state``), so it can never disagree with the data. The
listed ids only size a run's Beam jobs (``pipeline.jobs``); nothing depends on them being right.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from apache_beam.io.filesystems import FileSystems

from transforms.errors import IngestError
from transforms.feeds import FeedPoll, Validators
from transforms.sink import read_json, write_json

__all__ = ["LockHeldError", "RunLock", "load_listings", "load_validators", "save_listings", "save_validators"]

LOGGER = logging.getLogger(__name__)


def _state_path(out: str, *parts: str) -> str:
    return FileSystems.join(out, "_state", *parts)


def load_validators(out: str) -> dict[str, Validators]:
    """The validators saved by the last successful run, by feed URL."""
    path = _state_path(out, "feeds.json")
    if not FileSystems.exists(path):
        return {}
    return {url: Validators(**value) for url, value in read_json(path).items()}


def save_validators(out: str, polls: Iterable[FeedPoll]) -> None:
    """Merge this run's validators into the saved ones (only after the run's data is committed)."""
    merged = load_validators(out)
    for poll in polls:
        merged[poll.validators.feed_url] = poll.validators
    write_json(_state_path(out, "feeds.json"), {url: asdict(v) for url, v in sorted(merged.items())})


def load_listings(out: str) -> dict[str, frozenset[str]]:
    """The article ids each feed listed when its entries were last committed, by feed URL."""
    path = _state_path(out, "feed_listings.json")
    if not FileSystems.exists(path):
        return {}
    try:
        return {url: frozenset(ids) for url, ids in read_json(path).items()}
    except (ValueError, AttributeError, TypeError) as exc:  # only sizes jobs: start afresh rather than fail the run
        LOGGER.warning("feed listings %s unreadable, ignored: %s", path, exc)
        return {}


def save_listings(out: str, listed: Mapping[str, Sequence[str]]) -> None:
    """Merge the ids some feeds list now into the saved ones (once those feeds' entries are committed).

    Kept in ``feed_listings.json``, apart from ``feeds.json``, so that file keeps the format older versions read.
    """
    if not listed:
        return
    merged = {url: sorted(ids) for url, ids in load_listings(out).items()}
    merged.update({url: sorted(ids) for url, ids in listed.items()})
    write_json(_state_path(out, "feed_listings.json"), merged)


class LockHeldError(IngestError):
    """Another live run holds the lock on this output directory."""

    kind = "locked"


@dataclass(frozen=True, slots=True)
class _LockInfo:
    run_id: str
    host: str
    pid: int
    heartbeat: float


class RunLock:
    """One run at a time per output directory, with stale-lock takeover.

    On a local (or NFS) directory the lock is ``flock`` on ``DIR/_state/lock``: the kernel drops it
    when the holder dies, even by SIGKILL, so a killed run's lock is stale by construction and the
    next run takes it over (and logs that it did). The file is never deleted (deleting a locked file
    would let two runs lock two different files); it names the holder while a run is active.

    On object stores (``gs://``, ``s3://``...), which have no locks, the file holds the holder and a
    heartbeat refreshed in the background; a lock whose heartbeat is older than ``stale_after_s`` is
    stale. Creation is write-then-read-back, which is best effort: two runs starting within the same
    moment could both proceed. Schedule runs so that they do not overlap by design there.
    """

    def __init__(self, out: str, run_id: str, *, stale_after_s: float = 600.0, heartbeat_s: float = 30.0) -> None:
        self._path = _state_path(out, "lock.json")
        self._run_id = run_id
        self._stale_after_s = stale_after_s
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self.took_over_from: str | None = None

    def _info(self) -> dict[str, Any]:
        return asdict(_LockInfo(self._run_id, socket.gethostname(), os.getpid(), time.time()))

    def _held_error(self, holder: Mapping[str, Any]) -> LockHeldError:
        return LockHeldError(
            f"another run ({holder.get('run_id', '?')}, pid {holder.get('pid', '?')} on {holder.get('host', '?')}) "
            f"is writing to this directory (lock {self._path}); this run did nothing"
        )

    def _acquire_local(self) -> None:
        os.makedirs(os.path.dirname(self._path), exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _parse_holder(os.pread(fd, 65536, 0))
            os.close(fd)
            raise self._held_error(holder) from None
        previous = _parse_holder(os.pread(fd, 65536, 0))
        if previous:
            self.took_over_from = str(previous.get("run_id"))
            LOGGER.warning("run %s (pid %s) ended without releasing its lock; taking it over",
                           previous.get("run_id"), previous.get("pid"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self._info()).encode("utf-8"), 0)
        os.fsync(fd)
        self._fd = fd

    def _is_stale(self, holder: Mapping[str, Any]) -> bool:
        return time.time() - float(holder.get("heartbeat", 0)) > self._stale_after_s

    def _acquire_remote(self) -> None:
        if FileSystems.exists(self._path):
            try:
                holder = read_json(self._path)
            except (OSError, ValueError):
                holder = {}  # half-written by a killed run: stale
            if holder and not self._is_stale(holder):
                raise self._held_error(holder)
            self.took_over_from = str(holder.get("run_id"))
            LOGGER.warning("taking over the stale lock of run %s", holder.get("run_id"))
        write_json(self._path, self._info())
        time.sleep(1.0)  # let a concurrent writer's object land, then see who won
        holder = read_json(self._path)
        if holder.get("run_id") != self._run_id:
            raise self._held_error(holder)
        self._start_heartbeat()

    def acquire(self) -> None:
        if "://" in self._path:
            self._acquire_remote()
        else:
            self._acquire_local()

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(self._heartbeat_s):
                write_json(self._path, self._info())

        self._thread = threading.Thread(target=beat, name="lock-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # an empty lock file means "released cleanly"
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if FileSystems.exists(self._path):
            FileSystems.delete([self._path])

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _parse_holder(data: bytes) -> dict[str, Any]:
    try:
        holder = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return {"run_id": "(unreadable lock file)"}
    return holder if isinstance(holder, dict) else {}
