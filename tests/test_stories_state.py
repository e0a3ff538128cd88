"""The stories state read: a run reads only what its new articles can meet, with the same result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.arrow import to_table
from transforms.stories import index
from transforms.stories.cluster import candidate_keys, key_window_s, pair_candidates, profile_article
from transforms.stories.config import StoriesConfig
from transforms.stories.records import Needs, Profile, StorySnapshot
from tests.test_stories_fixtures import BRIDGE_OWN, BRIDGE_WIRE, DROUGHT, OTHER_BRIDGE, make_article

CONFIG = StoriesConfig(max_postings=3)


def _stored() -> list[Profile]:
    """Twelve stored reports: eight on the bridge (one popular key), four on the drought."""
    texts = [BRIDGE_WIRE] * 8 + [DROUGHT] * 4
    profiles = []
    for i, text in enumerate(texts):
        article = make_article(f"https://site{i}.example/news/{i}", f"{text}\n\nUpdate {i}.", title=f"Report {i}",
                               hours=-48 + i)
        profiles.append(replace(profile_article(article, CONFIG, origin="stored"), story_id=f"s{i}"))
    return profiles


def _new() -> list[Profile]:
    own = make_article("https://own.example/news/bridge", BRIDGE_OWN, title="Engineers examine harbour bridge")
    link = make_article("https://blog.example/news/link", f"{OTHER_BRIDGE} See https://site9.example/news/9",
                        title="A footbridge", hours=1)
    return [profile_article(own, CONFIG), profile_article(link, CONFIG)]


def _write(path: Path, profiles: list[Profile], *, with_keys: bool = True) -> str:
    rows = [index.profile_row(p, candidate_keys(p, CONFIG)) for p in profiles]
    table = pa.Table.from_pylist(rows, schema=index.PROFILES_STATE.schema)
    if not with_keys:
        table = table.drop_columns(["keys"])
    pq.write_table(table, path)
    return str(path)


def _needs(new: list[Profile], url_keys: frozenset[str] = frozenset()) -> Needs:
    keys: dict[str, set[tuple[float, str]]] = {}
    for profile in new:
        for key in candidate_keys(profile, CONFIG):
            keys.setdefault(key, set()).add(profile.order)
    return Needs({key: tuple(sorted(orders)) for key, orders in keys.items()}, url_keys)


def _pairs(postings: list[tuple[str, tuple[tuple[float, str], str]]], new: list[Profile]) -> set[tuple[str, str]]:
    by_key: dict[str, list[tuple[tuple[float, str], str]]] = {}
    for key, member in postings:
        by_key.setdefault(key, []).append(member)
    for profile in new:
        for key in dict.fromkeys(candidate_keys(profile, CONFIG)):
            by_key.setdefault(key, []).append((profile.order, "new"))
    return {pair for key, members in by_key.items() for pair in pair_candidates(key, members, CONFIG)}


@dataclass
class Found:
    """What ``read_candidates`` yielded, by kind."""

    postings: list[tuple[str, tuple[tuple[float, str], str]]] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    urls: list[tuple[str, str]] = field(default_factory=list)


def _collect(items: Iterable[tuple[str, object]]) -> Found:
    found = Found()
    lists = {index.POSTING: found.postings, index.PROFILE: found.profiles, index.LINKED_URL: found.urls}
    for kind, item in items:
        lists[kind].append(item)
    return found


def _read_all(paths: list[str], needs: Needs, since: str | None = None) -> Found:
    return _collect(index.read_candidates(paths, needs, lambda p: candidate_keys(p, CONFIG),
                                          lambda key: key_window_s(key, CONFIG), CONFIG.max_postings, since=since))


def _read(path: str, needs: Needs) -> Found:
    return _read_all([path], needs)


def test_reading_only_matches_gives_the_pairs_of_reading_everything(tmp_path: Path) -> None:
    stored, new = _stored(), _new()
    found = _read(_write(tmp_path / "p.parquet", stored), _needs(new))
    everything = [(key, (p.order, "stored")) for p in stored for key in dict.fromkeys(candidate_keys(p, CONFIG))]
    assert _pairs(found.postings, new) == _pairs(everything, new)
    # Profiles leave the file only when a pair can use them: the capped popular key keeps 3 of 8.
    returned = {p.article_id for p in found.profiles}
    assert {other for _, other in _pairs(found.postings, new)} <= returned
    assert len(returned) < len(stored)
    assert all(p.origin == "stored" and p.story_id for p in found.profiles)


def test_reading_a_slice_of_matches_at_a_time_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, needs = _write(tmp_path / "p.parquet", _stored()), _needs(_new())
    whole = _read(path, needs)
    # Slices that split keys' members and the profiles between them.
    monkeypatch.setattr(index, "_HITS_PER_SLICE", 3)
    monkeypatch.setattr(index, "_PROFILES_PER_SLICE", 2)
    assert _read(path, needs) == whole and whole.postings and len(whole.profiles) > 2


def test_files_without_stored_keys_read_the_same(tmp_path: Path) -> None:
    stored, new = _stored(), _new()
    needs = _needs(new)
    with_keys = _read(_write(tmp_path / "new.parquet", stored), needs)
    legacy = _read(_write(tmp_path / "old.parquet", stored, with_keys=False), needs)
    assert sorted(legacy.postings) == sorted(with_keys.postings)
    assert {p.article_id for p in legacy.profiles} == {p.article_id for p in with_keys.profiles}


def test_files_read_together_give_the_pairs_of_files_read_alone(tmp_path: Path) -> None:
    stored, new = _stored(), _new()
    needs = _needs(new)
    # One run's file and an older one without stored keys, as a store of several runs holds them.
    paths = [_write(tmp_path / "a.parquet", stored[::2]), _write(tmp_path / "b.parquet", stored[1::2], with_keys=False)]
    together = _read_all(paths, needs)
    alone = [_read(path, needs) for path in paths]
    assert _pairs(together.postings, new) == _pairs([p for found in alone for p in found.postings], new)
    assert {other for _, other in _pairs(together.postings, new)} <= {p.article_id for p in together.profiles}
    assert together.urls == [u for found in alone for u in found.urls]


def test_linked_urls_are_found_and_unneeded_files_give_nothing(tmp_path: Path) -> None:
    stored = _stored()
    path = _write(tmp_path / "p.parquet", stored)
    linked = stored[9]
    found = _read(path, Needs({}, frozenset({linked.url_key})))
    assert found.urls == [(linked.url_key, linked.article_id)]
    assert not found.postings and not found.profiles
    assert not _read(path, Needs({"t:nothing-like-it": (stored[0].order,)}, frozenset())).postings


def test_members_outside_the_window_stay_in_the_file(tmp_path: Path) -> None:
    stored = _stored()
    path = _write(tmp_path / "p.parquet", stored)
    late = {key: ((stored[-1].seen_at + 60 * 86_400, "late"),) for key in candidate_keys(stored[0], CONFIG)}
    assert not _read(path, Needs(late, frozenset())).postings


def test_copies_stored_at_the_same_time_are_capped_per_new_article(tmp_path: Path) -> None:
    """A store holding many copies of a new article's report, seen at the same moment (syndication, or
    a bench that repeats its pages), gives each key at most ``max_postings`` of them per new article."""
    copies = [replace(profile_article(make_article(f"https://copy{i}.example/news/{i}", BRIDGE_WIRE, title="Report"),
                                      CONFIG, origin="stored"), story_id="s") for i in range(12)]
    new = [profile_article(make_article("https://own.example/news/bridge", BRIDGE_WIRE, title="Report"), CONFIG)]
    found = _read(_write(tmp_path / "p.parquet", copies), _needs(new))
    everything = [(key, (p.order, "stored")) for p in copies for key in dict.fromkeys(candidate_keys(p, CONFIG))]
    assert _pairs(found.postings, new) == _pairs(everything, new)
    per_key = Counter(key for key, _ in found.postings)
    assert per_key and max(per_key.values()) <= CONFIG.max_postings
    assert len(found.profiles) < len(copies)


def _state_file(out: Path, spec: index.TableSpec, run_id: str, rows: list[dict]) -> Path:
    """A state file in the partition of its rows' date, as a job writes it."""
    path = out / spec.name / f"date={rows[0]['date']}" / f"part-{run_id}-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows, spec), path)
    return path


def _snapshot(profile: Profile, run_id: str) -> StorySnapshot:
    return StorySnapshot(story_id=profile.story_id or "", first_seen=profile.seen_at, last_seen=profile.seen_at,
                         article_count=1, duplicate_count=0, sources=((profile.source, 1),), actors=(), topics=(),
                         title=profile.title, representative_id=profile.article_id, updated_at=1.0, run_id=run_id)


def _store(out: Path) -> None:
    """Three committed runs' state over two dates (one file without stored keys), and a killed run's."""
    stored = _stored()
    stored[9:] = [replace(p, seen_at=p.seen_at + 86_400) for p in stored[9:]]  # a day later
    rows = [index.profile_row(p, candidate_keys(p, CONFIG)) for p in stored]
    for run_id, part in (("r1", rows[:3]), ("r2", rows[3:6]), ("r2b", rows[9:]), ("killed", rows[:1])):
        _state_file(out, index.PROFILES_STATE, run_id, part)
    legacy = pa.Table.from_pylist(rows[6:9], schema=index.PROFILES_STATE.schema).drop_columns(["keys", "date"])
    pq.write_table(legacy, out / index.PROFILES_STATE.name / f"date={rows[6]['date']}" / "part-r3-0.parquet")
    for run_id, profiles in (("r1", stored[:4]), ("r2", stored[4:9])):
        _state_file(out, index.SUMMARIES_STATE, run_id, [index.snapshot_row(_snapshot(p, run_id)) for p in profiles])
    runs = out / index.STATE_ROOT / "runs"
    runs.mkdir(parents=True)
    for run_id in ("r1", "r2", "r2b", "r3"):
        (runs / f"{run_id}.json").write_text("{}")


def _what_a_run_reads(out: Path, since: str = "2025-03-01") -> tuple[set[tuple[str, str]], set[str], list, list]:
    new = _new()
    needs = _needs(new, frozenset({_stored()[9].url_key, _stored()[1].url_key}))
    committed = index.committed_state(str(out))
    profiles = index.state_files(str(out), index.PROFILES_STATE, since, committed)
    found = _read_all(profiles, needs, since)
    summaries = index.state_files(str(out), index.SUMMARIES_STATE, since, committed)
    snapshots = list(index.read_snapshots(summaries, frozenset(f"s{i}" for i in range(12)), since=since))
    return (_pairs(found.postings, new), {p.article_id for p in found.profiles}, sorted(found.urls),
            sorted(snapshots, key=lambda s: s.story_id))


def _state_names(out: Path) -> set[str]:
    root = out / index.STATE_ROOT
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_compaction_merges_small_files_and_runs_read_the_same(tmp_path: Path) -> None:
    _store(tmp_path)
    before, later_only = _what_a_run_reads(tmp_path), _what_a_run_reads(tmp_path, "2025-03-09")
    assert before[0] and len(before[2]) == 2 and len(before[3]) == 9
    assert len(later_only[2]) == 1 and not later_only[3]  # only the later file: one linked URL, no stories
    # All committed small files of a table, whatever their date: 4 profiles files, 2 summaries files.
    assert index.compact_story_state(str(tmp_path), min_files=2) == 6
    assert _what_a_run_reads(tmp_path) == before
    # The merged file sits in the partition of its latest date; a read from that date on drops the rest.
    assert _what_a_run_reads(tmp_path, "2025-03-09") == later_only
    names = _state_names(tmp_path)
    assert sorted(n.rsplit("/", 1)[0] for n in names if n.startswith("profiles/")) == [
        "profiles/date=2025-03-08", "profiles/date=2025-03-09"]  # the killed run's file (not ours), the merged one
    assert "profiles/date=2025-03-08/part-killed-0.parquet" in names
    assert len([n for n in names if n.startswith("summaries/")]) == 1
    assert not [n for n in names if "replaces" in n]
    assert index.compact_story_state(str(tmp_path), min_files=2) == 0


def test_small_files_are_merged_once_there_are_enough(tmp_path: Path) -> None:
    _store(tmp_path)  # 4 committed small profiles files, 2 summaries files
    assert index.MERGE_AT_FILES == 4 and index.compact_story_state(str(tmp_path)) == 4
    assert len(list((tmp_path / index.SUMMARIES_STATE.name).glob("*/*.parquet"))) == 2


def test_large_files_are_left_alone(tmp_path: Path) -> None:
    _store(tmp_path)
    before = _what_a_run_reads(tmp_path)
    profiles = tmp_path / index.PROFILES_STATE.name
    committed = sorted((p for p in profiles.glob("*/*.parquet") if "killed" not in p.name),
                       key=lambda p: p.stat().st_size)
    largest = committed[-1]
    index.compact_story_state(str(tmp_path), small_bytes=largest.stat().st_size, min_files=2)
    left = {p.name for p in profiles.glob("*/*.parquet")}
    assert largest.name in left and not any(p.name in left for p in committed[:-1])
    assert len(left) == 3  # the large file, the merged one and the killed run's
    assert _what_a_run_reads(tmp_path) == before


def test_compaction_killed_before_its_marker_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path)
    before, names = _what_a_run_reads(tmp_path), _state_names(tmp_path)
    merge = index._merge

    def killed_after_writing(paths: list[str], target: str, pool: object) -> None:
        merge(paths, target, pool)
        raise RuntimeError("killed")

    monkeypatch.setattr(index, "_merge", killed_after_writing)
    with pytest.raises(RuntimeError):
        index.compact_story_state(str(tmp_path), min_files=2)
    assert _what_a_run_reads(tmp_path) == before  # the merged file has no marker: not read
    monkeypatch.setattr(index, "_merge", merge)
    # The next one undoes the half-done one, then merges.
    assert index.compact_story_state(str(tmp_path), min_files=2) == 6
    assert _what_a_run_reads(tmp_path) == before
    assert len(_state_names(tmp_path)) == len(names) - 6 + 2 + 1  # 2 merged files, 1 marker


def test_compaction_killed_after_its_marker_is_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path)
    before = _what_a_run_reads(tmp_path)
    drop = index._drop

    def killed_before_deleting(out: str, compaction: str, names: list[str]) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(index, "_drop", killed_before_deleting)
    with pytest.raises(RuntimeError):
        index.compact_story_state(str(tmp_path), min_files=2)
    # Merged and replaced files both on disk: the list makes readers skip the replaced ones.
    assert any(n.endswith(".replaces.json") for n in _state_names(tmp_path))
    assert _what_a_run_reads(tmp_path) == before
    monkeypatch.setattr(index, "_drop", drop)
    assert index.compact_story_state(str(tmp_path), min_files=2) == 0
    assert not any("replaces" in n or "part-r1-" in n for n in _state_names(tmp_path))
    assert _what_a_run_reads(tmp_path) == before
