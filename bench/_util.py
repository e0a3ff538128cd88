"""Measurement helpers shared by the benchmarks: repeated timings, child-process peak memory, machine facts.

Peak memory is sampled from ``/proc`` over the whole process tree of a child (Beam's multi-processing
mode forks SDK workers, whose memory counts too): ``resource.getrusage(RUSAGE_CHILDREN)`` only keeps
the largest single child ever reaped, which can neither be reset between runs nor sum a tree.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ChildRun", "Stats", "machine_info", "run_child", "stats_of", "repo_root", "corpora_root"]

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def corpora_root() -> Path:
    """``$NEWSINGEST_CORPORA``, or ``../shared/corpora`` beside the repository."""
    configured = os.environ.get("NEWSINGEST_CORPORA")
    root = Path(configured) if configured else repo_root().parent / "shared" / "corpora"
    return root.resolve() if root.is_absolute() else (repo_root() / root).resolve()


@dataclass(frozen=True, slots=True)
class Stats:
    """Median, min and max of repeated measurements (and the raw values)."""

    median: float
    min: float
    max: float
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.min, "max": self.max, "values": list(self.values)}


def stats_of(values: Sequence[float]) -> Stats:
    if not values:
        raise ValueError("no measurements")
    return Stats(statistics.median(values), min(values), max(values), tuple(values))


@dataclass(slots=True)
class ChildRun:
    """One finished child process: wall seconds, peak RSS of its whole tree, exit code and output."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stdout"], data["stderr"] = self.stdout[-2000:], self.stderr[-2000:]
        return data


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces or parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree_rss_bytes(root: int) -> int:
    children, total, todo = _children_of(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return total


class _PeakSampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float) -> None:
        super().__init__(daemon=True)
        self._pid, self._interval_s = pid, interval_s
        self._stop_event = threading.Event()
        self.peak = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _tree_rss_bytes(self._pid))
            self._stop_event.wait(self._interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_child(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
              timeout_s: float = 3600, sample_interval_s: float = 0.05) -> ChildRun:
    """Run ``argv`` to completion, timing it from spawn to exit and sampling its tree's peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = _PeakSampler(process.pid, sample_interval_s)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    return ChildRun(seconds, sampler.peak / 2**20, process.returncode, stdout, stderr)


def repeat(measure: Callable[[], float], runs: int) -> Stats:
    return stats_of([measure() for _ in range(runs)])


def code_fingerprint() -> dict[str, str]:
    """The commit and a hash of the pipeline's sources as measured (the tree may hold uncommitted work)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for d in ("pipeline", "transforms", "schemas") for p in (repo_root() / d).rglob("*.py")):
        digest.update(str(path.relative_to(repo_root())).encode() + b"\0" + path.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        head = ""
    return {"git_head": head, "sources_sha256": digest.hexdigest()[:16]}


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on; the load average says how busy the shared machine was."""
    return {
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": _cpu_model(),
        "loadavg_at_start": os.getloadavg(),
        "code": code_fingerprint(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
