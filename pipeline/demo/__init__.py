"""The embedded demo news site ("The Meridian Ledger") and the loopback server that serves it.

``pipeline.demo.server`` serves ``site/``; ``pipeline.demo.sitegen`` renders ``site/`` from the
hand-written ``content/``. ``site/expected.json`` is the ground truth later stages are tested on.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoServer", "start_demo_server"]


def __getattr__(name: str) -> Any:
    # Lazy, so ``python -m pipeline.demo.server`` does not import the module twice.
    if name in __all__:
        from pipeline.demo import server

        return getattr(server, name)
    raise AttributeError(name)
