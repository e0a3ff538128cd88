"""``AssignStories``: near-duplicates, stories and citations of a run's new articles, in Beam.

    articles ─ ProfileArticles ─┬─ GatherNeeds (candidate keys, linked URLs) ─┐
    state files ─ ListState ─ ReadCandidates (only rows sharing a needed key) ─┤
                              EmitKeys ─ GroupByKey ─ PairCandidates ─ (join profiles) ─ ScorePairs
                   Resolve (one ordered pass over the run's new articles and their edges) ─┘
                            ├─ SummariseStories (stored aggregates of the touched stories) ─ stories
                            └─ FinishArticles (duplicate_of, similarity, story_id, cites) ─ articles

Everything keyed runs in parallel: profiling, the state read (a batch of files per element), candidate
keys (LSH bands, keyword pairs, actors), pair scoring, summaries (by story id). The state read is
a vectorised match of each stored row's keys against the run's needed keys, so the stored
articles that share nothing with the run never become Python objects, and each needed key brings
at most ``max_postings`` stored members. What grows with the store is that scan, in C, over the
state files of the read window, read in batches (a job writes a file per bundle; the driver merges
small files between jobs).
``Resolve`` is the one global step: story assignment is an online clustering whose result depends
on order, so it sees the run's new articles and their scored edges (small records, no text).
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
    DAY_S, Edge, candidate_keys, key_window_s, pair_candidates, profile_article, resolve, score_pair,
    story_id_for,
)
from transforms.stories.config import StoriesConfig
from transforms.stories.records import Needs, Profile, StorySnapshot
from transforms.stories.summary import story_row, summarise

__all__ = ["AssignStories", "StoriesResult"]

NAMESPACE = "stories"
_STORED_PROFILES, _STORED_SUMMARIES, _ORPHANS = "profiles", "summaries", "orphans"
# State files read together: a store holds a few small files per job until they are merged.
_FILES_PER_READ = 64


class StoriesResult(NamedTuple):
    """The outputs of ``AssignStories``."""

    articles: beam.PCollection
    stories: beam.PCollection


# Each candidate key's new-article orders, and the linked URL keys.
_NeedsAcc = tuple[dict[str, set[tuple[float, str]]], set[str]]


class _GatherNeeds(beam.CombineFn):  # type: ignore[misc]
    """The run's ``Needs``: each candidate key with the orders of its new articles, and linked URL keys."""

    def create_accumulator(self) -> _NeedsAcc:
        return {}, set()

    def add_input(self, acc: _NeedsAcc, need: tuple[str, str, tuple[float, str] | None]) -> Any:
        keys, urls = acc
        kind, key, order = need
        if kind == "url":
            urls.add(key)
        else:
            keys.setdefault(key, set()).add(order)
        return acc

    def merge_accumulators(self, accumulators: Iterable[_NeedsAcc]) -> Any:
        merged = self.create_accumulator()
        for keys, urls in accumulators:
            for key, orders in keys.items():
                merged[0].setdefault(key, set()).update(orders)
            merged[1].update(urls)
        return merged

    def extract_output(self, acc: _NeedsAcc) -> Needs:
        return Needs({key: tuple(sorted(orders)) for key, orders in acc[0].items()}, frozenset(acc[1]))


def _key_needs(profile: Profile, config: StoriesConfig) -> Iterator[tuple[str, str, tuple[float, str]]]:
    for key in candidate_keys(profile, config):
        yield "key", key, profile.order


def _link_need(link: tuple[str, tuple[str, str]]) -> tuple[str, str, None]:
    return "url", link[0], None


class _ListStateFn(beam.DoFn):
    """Lists the committed state files the run needs and the orphan articles files to rebuild."""

    def __init__(self, out: str, run_id: str, config: StoriesConfig) -> None:
        self._out, self._run_id, self._config = out, run_id, config

    def process(self, _: Any, needs: Needs) -> Iterator[Any]:
        committed = index.committed_state(self._out)
        for path in index.orphan_article_files(self._out, committed, self._run_id):
            yield beam.pvalue.TaggedOutput(_ORPHANS, path)
        if needs.earliest is not None:  # else no new article: nothing to compare, only orphans to rebuild
            since = datetime.fromtimestamp(needs.earliest - self._config.read_window_days * DAY_S, tz=timezone.utc)
            day = since.date().isoformat()
            for spec, tag in ((index.PROFILES_STATE, _STORED_PROFILES), (index.SUMMARIES_STATE, _STORED_SUMMARIES)):
                files = index.state_files(self._out, spec, day, committed)
                for start in range(0, len(files), _FILES_PER_READ):
                    yield beam.pvalue.TaggedOutput(tag, (day, tuple(files[start:start + _FILES_PER_READ])))


class _ReadCandidatesFn(beam.DoFn):
    """Reads from some stored profiles files only what the run's new articles can meet."""

    def __init__(self, config: StoriesConfig) -> None:
        self._config = config
        self._read = beam.metrics.Metrics.counter(NAMESPACE, "stored_candidates")

    def process(self, batch: tuple[str, tuple[str, ...]], needs: Needs) -> Iterator[Any]:
        config, (since, paths) = self._config, batch
        for kind, item in index.read_candidates(paths, needs, lambda p: candidate_keys(p, config),
                                                lambda key: key_window_s(key, config), config.max_postings,
                                                since=since):
            if kind == index.PROFILE:
                self._read.inc()
                yield item
            else:
                yield beam.pvalue.TaggedOutput(kind, item)


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
    """Writes a bundle's state rows to one file in the run's temp dir, noting it for commit.

    The file goes to the partition of its latest row's date. One file per date instead cost a
    file per date a job touched (hundreds for a backfill), and opening a file costs far more than
    its few rows; readers drop the rows dated before the partitions they ask for.
    """

    def __init__(self, spec: TableSpec, out: str, run_id: str) -> None:
        self._spec, self._out, self._run_id = spec, out, run_id

    def start_bundle(self) -> None:
        self._rows: list[dict[str, Any]] = []

    def process(self, row: dict[str, Any]) -> None:
        self._rows.append(row)

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._rows:
            sink = SinkConfig(out=self._out, run_id=self._run_id)
            pending = write_rows(self._rows, self._spec, sink, (max(row["date"] for row in self._rows),))
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

    def _needs(self, new: beam.PCollection, links: beam.PCollection) -> beam.PCollection:
        return (
            (new | "KeyNeeds" >> beam.FlatMap(_key_needs, self._config),
             links | "LinkNeeds" >> beam.Map(_link_need))
            | "FlattenNeeds" >> beam.Flatten() | "GatherNeeds" >> beam.CombineGlobally(_GatherNeeds())
        )

    def _read_state(self, needs: beam.PCollection) -> tuple[beam.pvalue.DoOutputsTuple, beam.PCollection,
                                                             beam.PCollection]:
        listed = (
            needs.pipeline | "StateRoot" >> beam.Create([None])
            | "ListState" >> beam.ParDo(_ListStateFn(self._out, self._run_id, self._config),
                                        beam.pvalue.AsSingleton(needs))
            .with_outputs(_STORED_PROFILES, _STORED_SUMMARIES, _ORPHANS)
        )
        stored = (
            listed[_STORED_PROFILES] | "SpreadProfileFiles" >> beam.Reshuffle()
            | "ReadCandidates" >> beam.ParDo(_ReadCandidatesFn(self._config), beam.pvalue.AsSingleton(needs))
            .with_outputs(index.POSTING, index.LINKED_URL, main=index.PROFILE)
        )
        orphans = listed[_ORPHANS] | "SpreadOrphanFiles" >> beam.Reshuffle()
        _ = orphans | "NoteRecovered" >> beam.Map(_note_recovered, self._out, self._run_id)
        recovered = (orphans | "ReadOrphans" >> beam.FlatMap(index.read_orphan_articles)
                     | "ProfileRecovered" >> beam.ParDo(_ProfileFn(self._config, "recovered")))
        summary_files = listed[_STORED_SUMMARIES] | "SpreadSummaryFiles" >> beam.Reshuffle()
        return stored, recovered, summary_files

    def _edges(self, new: beam.PCollection, recovered: beam.PCollection, stored_postings: beam.PCollection,
               known: beam.PCollection) -> beam.PCollection:
        config = self._config
        pairs = (
            (new | "EmitNewKeys" >> beam.FlatMap(_emit_keys, config),
             recovered | "EmitRecoveredKeys" >> beam.FlatMap(_emit_keys, config), stored_postings)
            | "FlattenPostings" >> beam.Flatten() | "GroupByCandidateKey" >> beam.GroupByKey()
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

    def _cites(self, links: beam.PCollection, fresh: beam.PCollection,
               stored_urls: beam.PCollection) -> beam.PCollection:
        index_by_url = (fresh | "KeyByUrl" >> beam.Map(lambda p: (p.url_key, p.article_id)), stored_urls) | (
            "FlattenUrlIndex" >> beam.Flatten())
        return (
            {"links": links, "index": index_by_url}
            | "JoinLinks" >> beam.CoGroupByKey() | "ResolveLinks" >> beam.FlatMap(_resolve_links)
        )

    def _summaries(self, members: beam.PCollection, summary_files: beam.PCollection) -> beam.PCollection:
        touched = (members | "TouchedStories" >> beam.Keys()
                   | "GatherTouched" >> beam.CombineGlobally(beam.combiners.ToSetCombineFn()))
        snapshots = summary_files | "ReadSummaries" >> beam.FlatMap(
            lambda batch, ids: index.read_snapshots(batch[1], frozenset(ids), since=batch[0]),
            beam.pvalue.AsSingleton(touched))
        return (
            {"stored": snapshots | "KeySnapshots" >> beam.Map(lambda s: (s.story_id, s)), "members": members}
            | "JoinStories" >> beam.CoGroupByKey()
            | "SummariseStories" >> beam.FlatMap(_summarise, self._run_id, self._now)
        )

    def _write_state(self, assigned: beam.PCollection, recovered: beam.PCollection,
                     summaries: beam.PCollection) -> None:
        config = self._config
        profiles = (assigned, recovered) | "StateProfiles" >> beam.Flatten()
        _ = (profiles | "ProfileRows" >> beam.Map(lambda p: index.profile_row(p, candidate_keys(p, config)))
             | "WriteProfileState" >> beam.ParDo(_WriteStateFn(index.PROFILES_STATE, self._out, self._run_id)))
        _ = (summaries | "SummaryRows" >> beam.Map(index.snapshot_row)
             | "WriteSummaryState" >> beam.ParDo(_WriteStateFn(index.SUMMARIES_STATE, self._out, self._run_id)))

    def expand(self, articles: beam.PCollection) -> StoriesResult:
        new = articles | "ProfileArticles" >> beam.ParDo(_ProfileFn(self._config, "new"))
        links = articles | "FindLinks" >> beam.FlatMap(_link_requests)  # one scan serves needs and cites
        needs = self._needs(new, links)
        stored, recovered, summary_files = self._read_state(needs)
        fresh = (new, recovered) | "FreshProfiles" >> beam.Flatten()
        known = (fresh, stored[index.PROFILE]) | "KnownProfiles" >> beam.Flatten()
        edges = self._edges(new, recovered, stored[index.POSTING], known)
        assigned = (
            {"new": new | "OneKeyNew" >> beam.Map(_to_single_key),
             "edges": edges | "OneKeyEdges" >> beam.Map(_to_single_key)}
            | "GatherRun" >> beam.CoGroupByKey() | "Resolve" >> beam.ParDo(_ResolveFn(self._config))
        )
        members = (assigned, recovered) | "Members" >> beam.Flatten() | "ByStory" >> beam.FlatMap(_by_story)
        summaries = self._summaries(members, summary_files)
        self._write_state(assigned, recovered, summaries)
        finished = (
            {"article": articles | "KeyArticles" >> beam.Map(_by_id),
             "profile": assigned | "KeyAssigned" >> beam.Map(_by_id),
             "cites": self._cites(links, fresh, stored[index.LINKED_URL])}
            | "JoinDecisions" >> beam.CoGroupByKey() | "FinishArticles" >> beam.FlatMap(_finish)
        )
        return StoriesResult(finished, summaries | "ToStoryRows" >> beam.Map(story_row))


def _by_story(profile: Profile) -> Iterator[tuple[str, Profile]]:
    if profile.story_id is not None:
        yield profile.story_id, profile
