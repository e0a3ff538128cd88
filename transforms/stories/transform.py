"""``AssignStories``: near-duplicates, stories and citations of a run's new articles, in Beam.

    articles ─ ProfileArticles ─┬─ EmitKeys ─ GroupByKey ─ PairCandidates ─ (join profiles) ─ ScorePairs
    state ─ ListState ─ Read*  ─┘                                                              │
                   Resolve (one ordered pass over the run's new articles and their edges) ─┘
                            ├─ SummariseStories ─ stories rows + story state
                            └─ FinishArticles (duplicate_of, similarity, story_id, cites) ─ articles

Everything keyed runs in parallel: profiling, candidate keys (LSH bands, keywords, actors), pair
scoring, summaries (by story id). ``Resolve`` is the one global step: story assignment is an
online clustering whose result depends on order, so it sees the run's new articles and their
scored edges (small records, no text), never the stored articles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.config import SinkConfig
from schemas.arrow import TableSpec
from schemas.records import Article
from transforms.sink import PendingFile, write_rows
from transforms.stories import index
from transforms.stories.citations import cited_outlets, link_keys, links_in_text
from transforms.stories.cluster import (
    DAY_S, Edge, candidate_keys, pair_candidates, profile_article, resolve, score_pair, story_id_for,
)
from transforms.stories.config import StoriesConfig
from transforms.stories.records import Profile, StorySnapshot
from transforms.stories.summary import story_row, summarise

__all__ = ["AssignStories", "StoriesResult"]

NAMESPACE = "stories"
_STORED_PROFILES, _STORED_SUMMARIES, _ORPHANS = "profiles", "summaries", "orphans"


class StoriesResult(NamedTuple):
    """The outputs of ``AssignStories``."""

    articles: beam.PCollection
    stories: beam.PCollection


def _earliest(values: Iterable[float]) -> float | None:
    return min(values, default=None)


class _ListStateFn(beam.DoFn):
    """Lists the committed state files the run needs and the orphan articles files to rebuild."""

    def __init__(self, out: str, run_id: str, config: StoriesConfig) -> None:
        self._out, self._run_id, self._config = out, run_id, config

    def process(self, _: Any, earliest: float | None) -> Iterator[Any]:
        committed = index.committed_state(self._out)
        for path in index.orphan_article_files(self._out, committed, self._run_id):
            yield beam.pvalue.TaggedOutput(_ORPHANS, path)
        if earliest is not None:  # else no new article: nothing to compare, only orphans to rebuild
            since = datetime.fromtimestamp(earliest - self._config.read_window_days * DAY_S, tz=timezone.utc)
            day = since.date().isoformat()
            for path in index.state_files(self._out, index.PROFILES_STATE, day, committed):
                yield beam.pvalue.TaggedOutput(_STORED_PROFILES, path)
            for path in index.state_files(self._out, index.SUMMARIES_STATE, day, committed):
                yield beam.pvalue.TaggedOutput(_STORED_SUMMARIES, path)


class _ProfileFn(beam.DoFn):
    def __init__(self, config: StoriesConfig, origin: str) -> None:
        self._config, self._origin = config, origin
        self._profiled = beam.metrics.Metrics.counter(NAMESPACE, f"{origin}_profiles")

    def process(self, article: Article) -> Iterator[Profile]:
        self._profiled.inc()
        yield profile_article(article, self._config, origin=self._origin)


def _emit_keys(profile: Profile, config: StoriesConfig) -> Iterator[tuple[str, tuple[tuple[float, str], str]]]:
    for key in dict.fromkeys(candidate_keys(profile, config)):
        yield key, (profile.order, profile.origin)


def _pairs(grouped: tuple[str, Iterable[tuple[tuple[float, str], str]]],
           config: StoriesConfig) -> Iterator[tuple[str, str]]:
    key, members = grouped
    yield from pair_candidates(key, list(members), config)


def _route_other(joined: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[tuple[str, Profile]]:
    """Send a candidate's profile to each new article that wants it."""
    _, sides = joined
    profile = next(iter(sides["profile"]), None)
    if profile is not None:
        for new_id in sides["wanted_by"]:
            yield new_id, profile


def _score(joined: tuple[str, dict[str, Iterable[Any]]], config: StoriesConfig) -> Iterator[Edge]:
    _, sides = joined
    new = next(iter(sides["self"]), None)
    if new is not None:
        for other in sides["others"]:
            yield score_pair(new, other, config)


class _ResolveFn(beam.DoFn):
    """The ordered pass: every new article becomes a copy, a story member, or a new story."""

    def __init__(self, config: StoriesConfig) -> None:
        self._config = config
        self._duplicates = beam.metrics.Metrics.counter(NAMESPACE, "duplicates")
        self._new_stories = beam.metrics.Metrics.counter(NAMESPACE, "new_stories")
        self._joined = beam.metrics.Metrics.counter(NAMESPACE, "joined_stories")
        self._edges = beam.metrics.Metrics.distribution(NAMESPACE, "edges_per_article")

    def process(self, joined: tuple[int, dict[str, Iterable[Any]]]) -> Iterator[Profile]:
        _, sides = joined
        profiles = {p.article_id: p for p in sides["new"]}
        edges = list(sides["edges"])
        counts: dict[str, int] = defaultdict(int)
        for edge in edges:
            counts[edge.new_id] += 1
        for decision in resolve(profiles.values(), edges, self._config):
            self._edges.update(counts[decision.article_id])
            if decision.duplicate_of:
                self._duplicates.inc()
            started = decision.story_id == story_id_for(decision.article_id)
            (self._new_stories if started else self._joined).inc()
            yield replace(profiles[decision.article_id], story_id=decision.story_id,
                          duplicate_of=decision.duplicate_of, similarity=decision.similarity)


def _latest(snapshots: Iterable[StorySnapshot]) -> StorySnapshot | None:
    return max(snapshots, key=lambda s: (s.updated_at, s.run_id), default=None)


def _summarise(joined: tuple[str, dict[str, Iterable[Any]]], run_id: str, now: datetime) -> Iterator[StorySnapshot]:
    story_id, sides = joined
    members = list(sides["members"])
    if members:
        yield summarise(story_id, _latest(sides["stored"]), members, run_id=run_id, now=now)


def _link_requests(article: Article) -> Iterator[tuple[str, tuple[str, str]]]:
    for url_key, source in link_keys(links_in_text(article.text)):
        yield url_key, (article.article_id, source)


def _resolve_links(joined: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[tuple[str, str]]:
    """A link to a stored article cites its id; a link elsewhere cites the linked site."""
    _, sides = joined
    target = next(iter(sides["index"]), None)
    for citing_id, source in sides["links"]:
        if target != citing_id:
            yield citing_id, target or source


def _finish(joined: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Article]:
    _, sides = joined
    for article in sides["article"]:
        profile = next(iter(sides["profile"]), None)
        cites = tuple(dict.fromkeys([*sorted(sides["cites"]), *cited_outlets(article.text)]))
        if profile is None:
            yield replace(article, cites=cites)
        else:
            yield replace(article, story_id=profile.story_id, duplicate_of=profile.duplicate_of,
                          similarity=profile.similarity, cites=cites)


class _WriteStateFn(beam.DoFn):
    """Writes state rows per partition and bundle to the run's temp dir, noting each file for commit."""

    def __init__(self, spec: TableSpec, out: str, run_id: str) -> None:
        self._spec, self._out, self._run_id = spec, out, run_id

    def start_bundle(self) -> None:
        self._buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def process(self, row: dict[str, Any]) -> None:
        self._buffers[row["date"]].append(row)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        sink = SinkConfig(out=self._out, run_id=self._run_id)
        for date, rows in self._buffers.items():
            pending = write_rows(rows, self._spec, sink, (date,))
            index.write_pending_manifest(self._out, self._run_id, pending)
            yield WindowedValue(pending, MIN_TIMESTAMP, [GlobalWindow()])


def _note_recovered(path: str, out: str, run_id: str) -> PendingFile:
    return index.write_pending_manifest(out, run_id, index.recovered_note(path))


def _by_id(element: Any) -> tuple[str, Any]:
    return element.article_id, element


def _to_single_key(element: Any) -> tuple[int, Any]:
    return 0, element


class AssignStories(beam.PTransform):  # type: ignore[misc]
    """Marks near-copies, groups articles into stories across runs and records citations.

    Input: ``PCollection[Article]`` (new articles, actors/topics tagged). Output: ``StoriesResult``
    with ``articles`` (the same articles with ``duplicate_of``, ``similarity``, ``story_id`` and
    ``cites`` set) and ``stories`` (``StoryRow`` of every story this run added articles to). State
    goes to ``DIR/_tmp/<run_id>/``; ``commit_story_state(out, run_id)`` promotes it after the run.

    Args:
        config: thresholds, windows and sketch sizes.
        out: the output root ``DIR``.
        run_id: this run's id (names its state files and stories rows).
        now: the run's timestamp for ``updated_at`` (default: when the transform is built).
    """

    def __init__(self, config: StoriesConfig, *, out: str, run_id: str, now: datetime | None = None) -> None:
        super().__init__()
        if not out or not run_id or "/" in run_id:
            raise ValueError("AssignStories needs an output root and a plain run id")
        self._config, self._out, self._run_id = config, out, run_id
        self._now = now or datetime.now(timezone.utc)

    def _read_state(self, new: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
        earliest = new | "SeenTimes" >> beam.Map(lambda p: p.seen_at) | "Earliest" >> beam.CombineGlobally(_earliest)
        listed = (
            new.pipeline | "StateRoot" >> beam.Create([None])
            | "ListState" >> beam.ParDo(_ListStateFn(self._out, self._run_id, self._config),
                                        beam.pvalue.AsSingleton(earliest))
            .with_outputs(_STORED_PROFILES, _STORED_SUMMARIES, _ORPHANS)
        )
        stored = (listed[_STORED_PROFILES] | "SpreadProfileFiles" >> beam.Reshuffle()
                  | "ReadProfiles" >> beam.FlatMap(index.read_profiles))
        snapshots = (listed[_STORED_SUMMARIES] | "SpreadSummaryFiles" >> beam.Reshuffle()
                     | "ReadSummaries" >> beam.FlatMap(index.read_snapshots))
        orphans = listed[_ORPHANS] | "SpreadOrphanFiles" >> beam.Reshuffle()
        _ = orphans | "NoteRecovered" >> beam.Map(_note_recovered, self._out, self._run_id)
        recovered = (orphans | "ReadOrphans" >> beam.FlatMap(index.read_orphan_articles)
                     | "ProfileRecovered" >> beam.ParDo(_ProfileFn(self._config, "recovered")))
        return stored, snapshots, recovered

    def _edges(self, new: beam.PCollection, known: beam.PCollection) -> beam.PCollection:
        config = self._config
        pairs = (
            known | "EmitKeys" >> beam.FlatMap(_emit_keys, config) | "GroupByCandidateKey" >> beam.GroupByKey()
            | "PairCandidates" >> beam.FlatMap(_pairs, config) | "DistinctPairs" >> beam.Distinct()
        )
        others = (
            {"profile": known | "KeyProfiles" >> beam.Map(_by_id),
             "wanted_by": pairs | "KeyByOther" >> beam.Map(lambda pair: (pair[1], pair[0]))}
            | "JoinCandidateProfiles" >> beam.CoGroupByKey() | "RouteCandidates" >> beam.FlatMap(_route_other)
        )
        return (
            {"self": new | "KeyNew" >> beam.Map(_by_id), "others": others}
            | "JoinPairs" >> beam.CoGroupByKey() | "ScorePairs" >> beam.FlatMap(_score, config)
        )

    def _cites(self, articles: beam.PCollection, known: beam.PCollection) -> beam.PCollection:
        return (
            {"links": articles | "FindLinks" >> beam.FlatMap(_link_requests),
             "index": known | "KeyByUrl" >> beam.Map(lambda p: (p.url_key, p.article_id))}
            | "JoinLinks" >> beam.CoGroupByKey() | "ResolveLinks" >> beam.FlatMap(_resolve_links)
        )

    def _write_state(self, assigned: beam.PCollection, recovered: beam.PCollection,
                     summaries: beam.PCollection) -> None:
        profiles = (assigned, recovered) | "StateProfiles" >> beam.Flatten()
        _ = (profiles | "ProfileRows" >> beam.Map(index.profile_row)
             | "WriteProfileState" >> beam.ParDo(_WriteStateFn(index.PROFILES_STATE, self._out, self._run_id)))
        _ = (summaries | "SummaryRows" >> beam.Map(index.snapshot_row)
             | "WriteSummaryState" >> beam.ParDo(_WriteStateFn(index.SUMMARIES_STATE, self._out, self._run_id)))

    def expand(self, articles: beam.PCollection) -> StoriesResult:
        new = articles | "ProfileArticles" >> beam.ParDo(_ProfileFn(self._config, "new"))
        stored, snapshots, recovered = self._read_state(new)
        known = (new, stored, recovered) | "AllProfiles" >> beam.Flatten()
        edges = self._edges(new, known)
        assigned = (
            {"new": new | "OneKeyNew" >> beam.Map(_to_single_key),
             "edges": edges | "OneKeyEdges" >> beam.Map(_to_single_key)}
            | "GatherRun" >> beam.CoGroupByKey() | "Resolve" >> beam.ParDo(_ResolveFn(self._config))
        )
        members = (assigned, recovered) | "Members" >> beam.Flatten() | "ByStory" >> beam.FlatMap(_by_story)
        summaries = (
            {"stored": snapshots | "KeySnapshots" >> beam.Map(lambda s: (s.story_id, s)), "members": members}
            | "JoinStories" >> beam.CoGroupByKey()
            | "SummariseStories" >> beam.FlatMap(_summarise, self._run_id, self._now)
        )
        self._write_state(assigned, recovered, summaries)
        finished = (
            {"article": articles | "KeyArticles" >> beam.Map(_by_id),
             "profile": assigned | "KeyAssigned" >> beam.Map(_by_id),
             "cites": self._cites(articles, known)}
            | "JoinDecisions" >> beam.CoGroupByKey() | "FinishArticles" >> beam.FlatMap(_finish)
        )
        return StoriesResult(finished, summaries | "ToStoryRows" >> beam.Map(story_row))


def _by_story(profile: Profile) -> Iterator[tuple[str, Profile]]:
    if profile.story_id is not None:
        yield profile.story_id, profile
