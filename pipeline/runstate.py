"""Driver-side run state under ``DIR/_state/``: the run lock and the feeds' conditional-GET validators.

Everything goes through Beam's FileSystems, so the state lives beside the data on any store.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from apache_beam.io.filesystems import FileSystems

from transforms.errors import IngestError
from transforms.feeds import FeedPoll, Validators

__all__ = ["LockHeldError", "RunLock", "load_validators", "save_validators"]

LOGGER = logging.getLogger(__name__)


def _state_path(out: str, *parts: str) -> str:
    return FileSystems.join(out, "_state", *parts)


def _read_json(path: str) -> Any:
    with FileSystems.open(path) as handle:
        return json.loads(handle.read().decode("utf-8"))


def _write_json(path: str, value: Any) -> None:
    """Write via a temporary name and a rename, so a reader never sees half a file."""
    temp = f"{path}.tmp-{os.getpid()}"
    with FileSystems.create(temp) as handle:
        handle.write(json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8"))
    FileSystems.rename([temp], [path])


def load_validators(out: str) -> dict[str, Validators]:
    """The validators saved by the last successful run, by feed URL."""
    path = _state_path(out, "feeds.json")
    if not FileSystems.exists(path):
        return {}
    return {url: Validators(**value) for url, value in _read_json(path).items()}


def save_validators(out: str, polls: Iterable[FeedPoll]) -> None:
    """Merge this run's validators into the saved ones (only after the run's data is committed)."""
    merged = load_validators(out)
    for poll in polls:
        merged[poll.validators.feed_url] = poll.validators
    _write_json(_state_path(out, "feeds.json"), {url: asdict(v) for url, v in sorted(merged.items())})


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

    The lock file names its holder (host, pid) and carries a heartbeat refreshed in the background.
    A lock is stale when its holder is a dead process on this host, or when its heartbeat is older
    than ``stale_after_s`` (a holder on another machine that died). On a local disk the lock is
    created with O_EXCL; on object stores creation is check-then-write, which is documented as
    best effort.
    """

    def __init__(self, out: str, run_id: str, *, stale_after_s: float = 600.0, heartbeat_s: float = 30.0) -> None:
        self._path = _state_path(out, "lock.json")
        self._run_id = run_id
        self._stale_after_s = stale_after_s
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _info(self) -> _LockInfo:
        return _LockInfo(self._run_id, socket.gethostname(), os.getpid(), time.time())

    def _is_stale(self, holder: Mapping[str, Any]) -> bool:
        if holder.get("host") == socket.gethostname():
            try:
                os.kill(int(holder["pid"]), 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return time.time() - float(holder.get("heartbeat", 0)) > self._stale_after_s

    def _create_exclusive(self) -> bool:
        payload = json.dumps(asdict(self._info())).encode("utf-8")
        if "://" not in self._path:
            os.makedirs(os.path.dirname(self._path), exist_ok=True)
            try:
                fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            return True
        if FileSystems.exists(self._path):
            return False
        _write_json(self._path, asdict(self._info()))
        return True

    def acquire(self) -> None:
        for _ in range(3):
            if self._create_exclusive():
                self._start_heartbeat()
                return
            try:
                holder = _read_json(self._path)
            except (OSError, ValueError):
                holder = {}  # vanished or half-written by a killed run: treat as stale
            if holder and not self._is_stale(holder):
                raise LockHeldError(
                    f"another run ({holder.get('run_id')}, pid {holder.get('pid')} on {holder.get('host')}) "
                    f"is writing to this directory; lock file {self._path}"
                )
            LOGGER.warning("taking over a stale lock from run %s", holder.get("run_id"))
            try:
                FileSystems.delete([self._path])
            except OSError:
                pass
        raise LockHeldError(f"could not take the lock {self._path}")

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(self._heartbeat_s):
                _write_json(self._path, asdict(self._info()))

        self._thread = threading.Thread(target=beat, name="lock-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
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
