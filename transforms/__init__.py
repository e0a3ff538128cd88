"""The stages of newsingest: plain functions plus the PTransforms that wire them.

Each module is one stage: ``feeds``, ``fetch``, ``extract``, ``comments``, ``tagging``, ``sink``,
with ``http``/``politeness`` (the HTTP client), ``urls``, ``state``, ``failures`` and ``errors``.
"""
