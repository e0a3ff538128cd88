"""Tests of transforms.tagging: normalisation, registry format, alias groups, resolution, topics."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from schemas.records import ActorTag, Mention
from transforms.tagging import RegistryError, Tagger, TaggingConfig
from transforms.tagging.normalize import normalize, normalize_alias, skeleton_phrase
from transforms.tagging.registry import ActorRegistry, RoleCode, load_actor_file


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load(TaggingConfig(ner="rules"))


def _ids(tagger: Tagger, text: str) -> dict[str, ActorTag]:
    return {a.id: a for a in tagger.tag(text, doc_id="d", doc_kind="article").actors}


def _linked_id(tagger: Tagger, text: str) -> set[str]:
    return {a.id for a in tagger.tag(text, doc_id="d", doc_kind="article").actors if a.linked}


# ---- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Kata'ib Hezbollah", "Kataib Hezbollah"),
        ("Kata\u2019ib Hezbollah", "Kataib Hezbollah"),
        ("Hadi al-Amiri", "Hadi Al Amiri"),
        ("U.S.", "US"),
        ("Erdo\u011fan", "Erdogan"),
        ("IRGC\u2013QF", "IRGC-QF"),
    ],
)
def test_normalize_alias_folds_variants(a: str, b: str) -> None:
    assert normalize_alias(a) == normalize_alias(b)


def test_normalize_maps_offsets_back() -> None:
    text = "  Iran's  U.S.-led Kata\u2019ib \u1e62adr."
    norm = normalize(text)
    for token in norm.text.split():
        start = norm.text.index(f" {token} ") + 1
        s, e = norm.span_to_original(start, start + len(token))
        assert normalize_alias(text[s:e]) == token


def test_skeleton_merges_transliterations() -> None:
    assert skeleton_phrase("qassem soleimani") == skeleton_phrase("qasem suleimani") == skeleton_phrase("qasim sulaimani")
    assert skeleton_phrase("qods force") == skeleton_phrase("quds force")
    assert skeleton_phrase("hadi el amiri") == skeleton_phrase("hadi al amiri")


# ---- alias groups of the issue: each resolves to one id -----------------------------------------

ALIAS_GROUPS = {
    "nsi:qasem-soleimani": ["Qassem Soleimani", "Qasem Suleimani", "Qasim Sulaimani", "Ghasem Soleimani"],
    "nsi:quds-force": ["Qods Force", "Quds Force", "IRGC-QF", "IRGC\u2019s Quds Force"],
    "Q2429253": ["ISIS", "ISIL", "Islamic State", "Daesh", "the Islamic State group"],
    "nsi:hadi-al-amiri": ["Hadi al-Amiri", "Hadi al Amiri", "Hadi Al-Amiri", "Hadi el-Amiri"],
    "nsi:kataib-hezbollah": ["Kata'ib Hezbollah", "Kataib Hezbollah", "Hezbollah Brigades", "Kata\u2019ib Hizbullah"],
    "nsi:pmf": ["Popular Mobilization Units", "Popular Mobilization Forces", "PMF", "PMU", "Hashd al-Shaabi"],
    "nsi:nujaba": ["Harakat al-Nujaba", "al-Nujaba", "Harakat Hezbollah al-Nujaba"],
    "nsi:abu-mahdi-al-muhandis": ["Abu Mahdi al-Muhandis", "Abu Mahdi al Muhandis", "Muhandis"],
}


@pytest.mark.parametrize(("actor_id", "surface"), [(k, s) for k, v in ALIAS_GROUPS.items() for s in v])
def test_alias_groups_resolve_to_one_id(tagger: Tagger, actor_id: str, surface: str) -> None:
    text = f"Officials said {surface} was involved in the attack on Tuesday."
    assert actor_id in _linked_id(tagger, text)


def test_surname_back_reference(tagger: Tagger) -> None:
    text = "Qassem Soleimani met Hadi al-Amiri. Later Soleimani left and Amiri stayed; Suleimani called."
    result = tagger.tag(text, doc_id="d", doc_kind="article")
    by_id = {a.id: a for a in result.actors}
    assert by_id["nsi:qasem-soleimani"].mentions == 3
    assert by_id["nsi:hadi-al-amiri"].mentions == 2
    amiri = [m for m in result.mentions if m.surface == "Amiri"]
    assert amiri and amiri[0].actor_id == "nsi:hadi-al-amiri"


def test_back_reference_without_full_name_is_not_linked(tagger: Tagger) -> None:
    # "Amiri" is only a back-reference: alone it is reported unlinked, never guessed.
    actors = _ids(tagger, "A man called Amiri was seen in the market.")
    assert "nsi:hadi-al-amiri" not in actors
    assert "unlinked:amiri" in actors and not actors["unlinked:amiri"].linked


def test_shared_surname_is_not_guessed(tagger: Tagger) -> None:
    # Two Clintons in the registry: a bare "Clinton" links only if one of them is named.
    assert not {"Q1124", "Q6294"} & _linked_id(tagger, "Clinton spoke on Friday.")
    assert "Q6294" in _linked_id(tagger, "Hillary Clinton spoke. Later Clinton left.")
    result = tagger.tag("Hillary Clinton spoke. Later Clinton left.", doc_id="d", doc_kind="article")
    assert [a.mentions for a in result.actors if a.id == "Q6294"] == [2]


def test_case_rules(tagger: Tagger) -> None:
    assert "Q30" in _linked_id(tagger, "The US imposed sanctions.")
    assert "Q30" not in _linked_id(tagger, "Tell us what happened.")
    assert "Q2429253" not in _linked_id(tagger, "The plan is dead.")
    assert "Q264766" not in _linked_id(tagger, "It may rain in May.")


def test_possessive_and_offsets(tagger: Tagger) -> None:
    text = "\u201cIran\u2019s foreign minister Javad Zarif met NATO\u2019s chief.\u201d"
    result = tagger.tag(text, doc_id="a1", doc_kind="article")
    for mention in result.mentions:
        assert text[mention.start:mention.end] == mention.surface
        assert isinstance(mention, Mention) and mention.doc_id == "a1"
    assert {"Q794", "nsi:javad-zarif", "Q7184"} <= {m.actor_id for m in result.mentions}


def test_title_counts_but_has_no_mention_rows(tagger: Tagger) -> None:
    result = tagger.tag("He was killed on Friday.", doc_id="d", doc_kind="article", title="Soleimani killed")
    assert [a.id for a in result.actors] == ["nsi:qasem-soleimani"]
    assert result.mentions == ()


def test_unlinked_names_reported(tagger: Tagger) -> None:
    text = "Gordon Sondland testified before Adam Schiff. Sondland said he acted on orders."
    actors = _ids(tagger, text)
    assert actors["unlinked:gordon-sondland"].mentions == 2
    assert actors["unlinked:gordon-sondland"].type == "person"
    assert not actors["unlinked:gordon-sondland"].linked


def test_role_code_by_date(tagger: Tagger) -> None:
    text = "Donald Trump spoke."
    code_2018 = tagger.tag(text, doc_id="d", doc_kind="article", date="2018-05-01").actors[0].code
    code_2022 = tagger.tag(text, doc_id="d", doc_kind="article", date="2022-05-01").actors[0].code
    assert code_2018 == "USAGOV" and code_2022 == "USAGOV"  # latest range when none is valid
    assert RoleCode("X", "2020-01-01", "2020-12-31").valid_on("2020-06-01")


def test_comments_and_no_topics(tagger: Tagger) -> None:
    result = tagger.tag("The Houthis fired missiles at ships.", doc_id="c1", doc_kind="comment", with_topics=False)
    assert result.topics == () and result.mentions[0].doc_kind == "comment"


def test_topics_with_parents(tagger: Tagger) -> None:
    text = "Protesters clashed with police. Demonstrators marched; tear gas was fired at the protest rally."
    ids = [t.id for t in tagger.tag(text, doc_id="d", doc_kind="article").topics]
    assert "medtop:20000066" in ids and "medtop:16000000" in ids


# ---- user registry files ------------------------------------------------------------------------


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "actors.tsv"
    path.write_text("id\tname\ttype\tcountry\tcodes\taliases\n" + body, encoding="utf-8")
    return path


def test_user_actor_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "my:zork\tZork Brigade\tarmed_group\tIRQ\tIRQREB@2021-01-01..\tZork Brigades|~ZB\n")
    tagger = Tagger.load(TaggingConfig(actor_files=(str(path),), ner="off"))
    actors = _ids(tagger, "The Zork Brigades attacked. ZB denied it.")
    assert actors["my:zork"].mentions == 2 and actors["my:zork"].code == "IRQREB"


def test_user_layer_wins_shared_alias(tmp_path: Path) -> None:
    path = _write(tmp_path, "my:pmf2\tPMF Custom\tarmed_group\tIRQ\t\tPMF\n")
    tagger = Tagger.load(TaggingConfig(actor_files=(str(path),), ner="off"))
    assert _linked_id(tagger, "The PMF said.") == {"my:pmf2"}


@pytest.mark.parametrize(
    "body",
    ["bad line\n", "x\tX\tplanet\t\t\t\n", "x\tX\tperson\t\tIRQ@2020\t\n", "unlinked:x\tX\tperson\t\t\t\n"],
)
def test_malformed_registry_lines_raise(tmp_path: Path, body: str) -> None:
    with pytest.raises(RegistryError):
        load_actor_file(_write(tmp_path, body))


def test_missing_registry_file_raises(tmp_path: Path) -> None:
    with pytest.raises(RegistryError):
        ActorRegistry.load((tmp_path / "nope.tsv",))


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        TaggingConfig(ner="bert")


def test_tagger_pickles(tagger: Tagger) -> None:
    clone = pickle.loads(pickle.dumps(tagger))
    assert "Q796" in _linked_id(clone, "Iraq and Iran.")


def test_shipped_registry_covers_every_country(tagger: Tagger) -> None:
    countries = [a for a in tagger._matcher.actors if a.type == "country"]
    assert len(countries) >= 195
    for name in ("Iraq", "Burkina Faso", "Tuvalu", "Eswatini", "South Sudan", "Palestine"):
        assert _linked_id(tagger, f"News from {name} today.")
