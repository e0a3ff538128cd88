"""``make bench``: every benchmark, each measuring newsingest against a baseline in the same run.

Usage: python -m bench [NAME ...] [-- ARGS for the throughput bench]. Names: extraction, comments,
tagging, stories, throughput. The corpora are read from $NEWSINGEST_CORPORA (default ../shared/corpora).
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ("extraction", "comments", "tagging", "stories", "throughput")


def main(argv: list[str]) -> int:
    names = [a for a in argv if a in BENCHES] or list(BENCHES)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    failed = []
    for name in names:
        print(f"\n=== bench: {name} ===", flush=True)
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        code = module.main(extra if name == "throughput" else [])
        print(f"=== {name}: exit {code} in {time.monotonic() - started:.0f} s ===", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
