"""The stories state read: a run reads only what its new articles can meet, with the same result."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.stories import index
from transforms.stories.cluster import candidate_keys, key_window_s, pair_candidates, profile_article
from transforms.stories.config import StoriesConfig
from transforms.stories.records import Candidates, Needs, Profile
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
    keys: dict[str, float] = {}
    for profile in new:
        for key in candidate_keys(profile, CONFIG):
            keys[key] = min(profile.seen_at, keys.get(key, profile.seen_at))
    return Needs(keys, url_keys)


def _pairs(postings: list[tuple[str, tuple[tuple[float, str], str]]], new: list[Profile]) -> set[tuple[str, str]]:
    by_key: dict[str, list[tuple[tuple[float, str], str]]] = {}
    for key, member in postings:
        by_key.setdefault(key, []).append(member)
    for profile in new:
        for key in dict.fromkeys(candidate_keys(profile, CONFIG)):
            by_key.setdefault(key, []).append((profile.order, "new"))
    return {pair for key, members in by_key.items() for pair in pair_candidates(key, members, CONFIG)}


def _read(path: str, needs: Needs) -> Candidates:
    return index.read_candidates([path], needs, lambda p: candidate_keys(p, CONFIG),
                                 lambda key: key_window_s(key, CONFIG), CONFIG.max_postings)


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
    together = index.read_candidates(paths, needs, lambda p: candidate_keys(p, CONFIG),
                                     lambda key: key_window_s(key, CONFIG), CONFIG.max_postings)
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
    assert not _read(path, Needs({"t:nothing-like-it": stored[0].seen_at}, frozenset())).postings


def test_members_outside_the_window_stay_in_the_file(tmp_path: Path) -> None:
    stored = _stored()
    path = _write(tmp_path / "p.parquet", stored)
    late = {key: stored[-1].seen_at + 60 * 86_400 for key in candidate_keys(stored[0], CONFIG)}
    assert not _read(path, Needs(late, frozenset())).postings
