"""The tagging stage in the pipeline: articles and comments get actors (and articles topics), plus mention rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.utils.shared import Shared

from schemas.records import Article, Comment
from transforms.tagging import Tagger, TaggingConfig

__all__ = ["MENTIONS", "TagActorsAndTopics", "tag_document"]

MENTIONS = "mentions"

# One handle for every tagging step, so articles and comments share one registry per worker process.
_SHARED_TAGGER = Shared()


class _SharedTagger:
    """A weak-referenceable holder, as ``Shared`` requires, for the Tagger of a process."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger


def tag_document(tagger: Tagger, document: Article | Comment) -> tuple[Article | Comment, list[Any]]:
    """Tag one article or comment; returns it with tags filled, and its mention rows."""
    if isinstance(document, Article):
        result = tagger.tag(document.text, doc_id=document.article_id, doc_kind="article", title=document.title)
        tagged: Article | Comment = replace(document, actors=result.actors, topics=result.topics)
        doc_id = document.article_id
    else:
        result = tagger.tag(document.text, doc_id=document.comment_id, doc_kind="comment", with_topics=False)
        tagged = replace(document, actors=result.actors)
        doc_id = document.comment_id
    mentions = [replace(m, doc_id=doc_id, date=document.date, source=document.source) for m in result.mentions]
    return tagged, mentions


class _TagFn(beam.DoFn):
    def __init__(self, config: TaggingConfig, shared: Shared) -> None:
        self._config = config
        self._shared = shared
        self._tagger: Tagger | None = None
        self._tagged = beam.metrics.Metrics.counter("tagging", "documents")
        self._entities = beam.metrics.Metrics.counter("tagging", "entities_tagged")

    def setup(self) -> None:
        # One registry per worker process, however many DoFn instances the runner makes.
        config = self._config
        self._tagger = self._shared.acquire(lambda: _SharedTagger(Tagger.load(config)), tag=repr(config)).tagger

    def process(self, document: Article | Comment) -> Iterator[Any]:
        assert self._tagger is not None
        tagged, mentions = tag_document(self._tagger, document)
        self._tagged.inc()
        self._entities.inc(len(mentions))
        yield tagged
        if mentions:
            # One element per document, not per mention: an article has about a hundred, and each
            # element costs Beam its own encoding and dispatch at every step to the writer.
            yield beam.pvalue.TaggedOutput(MENTIONS, tuple(mentions))


class TagActorsAndTopics(beam.PTransform):  # type: ignore[misc]
    """Tags articles (actors and topics) or comments (actors).

    Input: ``PCollection[Article | Comment]``. Outputs: main (the documents, tagged) and
    ``mentions`` (each document's ``Mention`` rows, as one tuple; write with ``batched=True``).

    Args:
        config: the tagging stage's options (registry files, NER backend, topic thresholds).
    """

    def __init__(self, config: TaggingConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, documents: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return documents | "TagDocument" >> beam.ParDo(_TagFn(self._config, _SHARED_TAGGER)).with_outputs(
            MENTIONS, main="documents"
        )
