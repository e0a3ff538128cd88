"""Plain-function tests of the stories stage: fingerprints, keys, clustering, citations, summaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from transforms.errors import ConfigError
from transforms.stories.citations import cited_outlets, links_in_text
from transforms.stories.cluster import (
    candidate_keys, pair_candidates, profile_article, resolve, score_pair, story_id_for,
)
from transforms.stories.config import StoriesConfig
from transforms.stories.fingerprint import (
    band_keys, containment, estimated_jaccard, keyword_vector, minhash_signature, shingles,
)
from transforms.stories.summary import story_row, summarise
from tests.test_stories_fixtures import (
    BRIDGE_OWN, BRIDGE_WIRE, DROUGHT, first_run, make_article, second_run, trimmed,
)

CONFIG = StoriesConfig()


def _sig(text: str) -> bytes:
    return minhash_signature(shingles(text, 5), 128, 1)


def test_signature_is_deterministic_and_chrome_insensitive() -> None:
    assert _sig(BRIDGE_WIRE) == _sig(BRIDGE_WIRE)
    restyled = BRIDGE_WIRE.replace("\u2014", "-").upper().replace("\n\n", "\n")
    assert estimated_jaccard(_sig(BRIDGE_WIRE), _sig(restyled)) > 0.95


def test_containment_recovers_trimmed_copies() -> None:
    full, cut = shingles(BRIDGE_WIRE, 5), shingles(trimmed(BRIDGE_WIRE, 3), 5)
    jaccard = estimated_jaccard(_sig(BRIDGE_WIRE), _sig(trimmed(BRIDGE_WIRE, 3)))
    assert jaccard < 0.8
    assert containment(jaccard, len(full), len(cut)) > 0.85
    assert containment(0.0, 10, 20) == 0.0 and containment(1.0, 0, 0) == 0.0


def test_unrelated_texts_share_no_band() -> None:
    assert not set(band_keys(_sig(BRIDGE_WIRE), 3)) & set(band_keys(_sig(DROUGHT), 3))
    assert len(band_keys(_sig(BRIDGE_WIRE), 3)) == 42


def test_keywords_prefer_rare_words_and_are_normalised() -> None:
    vector = keyword_vector(BRIDGE_WIRE, "Ferry strikes Vella harbour bridge", "en", 10)
    words = [w for w, _ in vector]
    assert "vella" in words[:3] and "the" not in words and "said" not in words
    assert sum(x * x for _, x in vector) == pytest.approx(1.0, abs=1e-3)
    assert keyword_vector("", None, "xx", 5) == ()


def test_scores_separate_copy_story_and_unrelated() -> None:
    wire, copy, own, _, drought, footbridge = (profile_article(a, CONFIG) for a in first_run())
    assert score_pair(copy, wire, CONFIG).duplicate >= CONFIG.duplicate_threshold
    same_event = score_pair(own, wire, CONFIG)
    assert same_event.duplicate < 0.3 and same_event.story >= CONFIG.story_threshold
    assert score_pair(drought, wire, CONFIG).story < CONFIG.story_threshold
    assert score_pair(footbridge, own, CONFIG).story < CONFIG.story_threshold


def test_story_window_excludes_far_articles() -> None:
    wire = profile_article(first_run()[0], CONFIG)
    late = profile_article(make_article("https://x.example/news/late", BRIDGE_OWN, title="Bridge", hours=24 * 9), CONFIG)
    assert score_pair(late, wire, CONFIG).story == 0.0


def test_pair_candidates_are_bounded_and_ordered() -> None:
    config = replace(CONFIG, max_postings=3)
    members = [((float(i), f"s{i}"), "stored") for i in range(10)] + [((20.0, "n"), "new")]
    assert list(pair_candidates("t:vella", members, config)) == [("n", "s9"), ("n", "s8"), ("n", "s7")]
    assert list(pair_candidates("t:vella", members[:-1], config)) == []


def test_resolve_chains_copies_to_the_original_and_stories_to_the_first() -> None:
    profiles = [profile_article(a, CONFIG) for a in first_run()]
    wire, copy, own, blog, drought, footbridge = profiles
    edges = [score_pair(b, a, CONFIG) for i, b in enumerate(profiles) for a in profiles[:i]]
    decisions = {d.article_id: d for d in resolve(profiles, edges, CONFIG)}
    story = story_id_for(wire.article_id)
    assert decisions[copy.article_id].duplicate_of == wire.article_id
    assert {decisions[p.article_id].story_id for p in (wire, copy, own, blog)} == {story}
    assert decisions[drought.article_id].story_id == story_id_for(drought.article_id)
    assert decisions[footbridge.article_id].story_id == story_id_for(footbridge.article_id)


def test_resolve_joins_a_stored_story() -> None:
    stored = replace(profile_article(first_run()[2], CONFIG), origin="stored", story_id="story-1")
    follow = profile_article(second_run()[0], CONFIG)
    decision, = resolve([follow], [score_pair(follow, stored, CONFIG)], CONFIG)
    assert decision.story_id == "story-1" and decision.duplicate_of is None


def test_candidate_keys_cover_bands_hash_terms_and_actors() -> None:
    keys = candidate_keys(profile_article(first_run()[0], CONFIG), CONFIG)
    kinds = {k.split(":")[0][0] for k in keys}
    assert kinds == {"d", "h", "t", "a"}


@pytest.mark.parametrize(("text", "expected"), [
    ("According to the Long War Journal, which first geolocated the images, troops moved.", ("Long War Journal",)),
    ("Officials told Reuters on Monday that talks stalled.", ("Reuters",)),
    ("The Institute for the Study of War reported that lines held.", ("Institute for the Study of War",)),
    ("according to the Pentagon and according to John Smith", ()),
    ("A report by the New York Times said so; Al Jazeera reported it too.", ("New York Times", "Al Jazeera")),
])
def test_cited_outlets(text: str, expected: tuple[str, ...]) -> None:
    assert cited_outlets(text) == expected


def test_links_in_text_are_canonical() -> None:
    assert links_in_text("see https://www.example.org/a?utm_source=x.") == ("https://www.example.org/a",)


def test_summarise_accumulates_across_runs() -> None:
    now = datetime(2025, 3, 12, tzinfo=timezone.utc)
    members = [replace(profile_article(a, CONFIG), story_id="s") for a in first_run()[:3]]
    members[1] = replace(members[1], duplicate_of=members[0].article_id)
    first = summarise("s", None, members, run_id="r1", now=now)
    later = summarise("s", first, [replace(profile_article(second_run()[0], CONFIG), story_id="s")], run_id="r2", now=now)
    assert (first.article_count, first.duplicate_count, later.article_count) == (3, 1, 4)
    assert later.title == first.title == "Ferry strikes Vella harbour bridge"
    row = story_row(later)
    assert row.source_count == 3 and row.sources[0] == "harbourtimes.example" and row.date == "2025-03-12"
    assert row.top_actors[0].articles == 4
    with pytest.raises(ValueError):
        summarise("s", None, [], run_id="r", now=now)


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        StoriesConfig(duplicate_threshold=1.5)
    with pytest.raises(ConfigError):
        StoriesConfig(key_terms=50, keywords=10)
    assert StoriesConfig().bands == 42


def test_languages_wordfreq_cannot_tokenize_here_fall_back_instead_of_failing() -> None:
    """Korean and Japanese need MeCab in wordfreq; an article in them must not fail the run."""
    from transforms.stories.fingerprint import keyword_vector

    for language in ("ko", "ja", "zh", "xx"):
        assert keyword_vector("서울 시장은 오늘 새로운 교통 정책을 발표했다", None, language, 5)
