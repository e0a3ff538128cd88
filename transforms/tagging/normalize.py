"""Text normalisation for dictionary matching, with a map back to the original offsets.

Both the registry's aliases and a document's text go through the same two steps, so an alias
matches whatever spelling folds to the same key:

1. ``str.translate`` with one precomputed table (length-preserving, runs in C): case folding,
   diacritics stripped (``Ṣadr`` -> ``sadr``), every apostrophe variant -> ``'``, every hyphen or
   dash and every punctuation mark -> space.
2. One regex pass that deletes apostrophes (``Kata'ib`` = ``Kataib``) but turns a possessive
   ``'s`` into `` s`` (``Iran's`` -> ``iran s``) and deletes the dots of initialisms (``U.S.`` ->
   ``us``); other dots become spaces. Only this pass changes lengths; it records a breakpoint
   for each change so that :meth:`Normalized.to_original` can map a position back with bisect.

A consonant *skeleton* (:func:`skeleton`) catches common transliteration variants of names
(Soleimani / Suleimani / Sulaimani, Qassem / Qasem / Qasim) without a hand-made variant list.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

__all__ = ["Normalized", "fold_case_kept", "normalize", "normalize_alias", "skeleton", "skeleton_phrase", "skeleton_text"]

_APOSTROPHES = "'\u2018\u2019\u02bc\u02bb\u0060\u00b4\u2032\u02b9\u02be\u02bf"
_KEEP = set("'.")
# The table covers the BMP; characters outside it (emoji, rare CJK) pass through unchanged.
_TABLE_SIZE = 0x3100


def _fold_char(ch: str, *, lower: bool) -> str:
    if ch in _APOSTROPHES:
        return "'"
    base = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in base if not unicodedata.combining(c)) or ch
    base = base.lower() if lower else base
    if len(base) != 1:  # ligatures, sharp s, ...: keep one character so lengths never change
        base = base[0] if base[0].isalnum() else ch
    if base.isalnum() or base in _KEEP:
        return base
    return " "


def _build_table(*, lower: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(_TABLE_SIZE):
        ch = chr(code)
        folded = _fold_char(ch, lower=lower)
        if folded != ch:
            table[code] = folded
    return table


@lru_cache(maxsize=2)
def _table(lower: bool) -> dict[int, str]:
    return _build_table(lower=lower)


# Order matters: possessive before plain apostrophe; an initialism dot is a dot that follows a
# single letter which itself follows a space or a dot (the text is padded with one leading space).
# Other dots become spaces afterwards, and runs of spaces are kept: an alias never spans
# punctuation, and leaving them keeps this pass (and its Python callback) rare.
_COMPACT = re.compile(r"'s(?=[ .])|'|(?<=[ .]\w)\.")


def _compact_replacement(match: re.Match[str]) -> str:
    return " s" if match.group() == "'s" else ""


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text, padded with one space at each end, and its map to the original."""

    text: str
    # (position in `text`, offset to add to get the original position), sorted by position.
    breaks_at: tuple[int, ...]
    shifts: tuple[int, ...]

    def to_original(self, pos: int) -> int:
        """Map a position of `text` (padding included) to a position in the original string."""
        i = bisect_right(self.breaks_at, pos) - 1
        return pos + (self.shifts[i] if i >= 0 else 0) - 1

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of `text` to the original string (end inclusive of its last char)."""
        return self.to_original(start), self.to_original(end - 1) + 1


# One-for-one replacements of the non-ASCII characters most English news text has: once they are
# gone the text is often pure ASCII, and CPython translates ASCII strings ~50x faster.
_TYPOGRAPHY = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2013", "-"),
               ("\u2014", "-"), ("\u00a0", " "), ("\u2026", "."), ("\u2022", " "))


def _ascii_first(text: str) -> str:
    if not text.isascii():
        for char, ascii_char in _TYPOGRAPHY:
            if char in text:
                text = text.replace(char, ascii_char)
    return text


def normalize(text: str) -> Normalized:
    """Fold `text` for matching and keep the offset map (see the module docstring)."""
    folded = " " + _ascii_first(text).translate(_table(True)) + " "
    breaks: list[int] = []
    shifts: list[int] = []
    state = [0, 0]  # [length change so far, matches seen]: the callback records breakpoints

    def replace(match: re.Match[str]) -> str:
        repl = _compact_replacement(match)
        delta = (match.end() - match.start()) - len(repl)
        if delta:
            state[0] += delta
            breaks.append(match.end() - state[0])
            shifts.append(state[0])
        return repl

    joined = _COMPACT.sub(replace, folded).replace(".", " ")  # the loop runs in C
    return Normalized(joined, tuple(breaks), tuple(shifts))


_PLAIN = re.compile(r"[A-Za-z]+(?:[ -][A-Za-z]+)*")


def normalize_alias(alias: str) -> str:
    """The matching key of an alias: the same folding as :func:`normalize`, without padding."""
    if _PLAIN.fullmatch(alias):  # fast path for most registry aliases (loading speed)
        return alias.lower().replace("-", " ")
    return " ".join(normalize(alias).text.split())


def fold_case_kept(text: str) -> str:
    """Diacritics and punctuation folded but case kept, letters and digits only (case checks)."""
    return "".join(c for c in text.translate(_table(False)) if c.isalnum())


_DOUBLED = re.compile(rb"([bcdfghjklmnpqrstvwxz])\1+")
_FIRST_GROUP = itemgetter(1)  # a C-level callable: faster than a template or a lambda
# Only the unassimilated forms of the Arabic article: "as"/"an"/"ad" are also English words.
_ARTICLES = {"el": "al", "ul": "al"}


def _skeleton_core(text: str) -> str:
    """Shared by tokens and whole texts: letter folds, doubled consonants merged, vowels dropped.
    Works on UTF-8 bytes (bytes.translate/replace are several times faster than on str); only
    ASCII letters change and spaces are kept, so every token keeps its place."""
    data = text.encode().replace(b"q", b"k").replace(b"dh", b"d").replace(b"kh", b"k")
    return _DOUBLED.sub(_FIRST_GROUP, data).translate(None, b"aeiouy").decode()


@lru_cache(maxsize=65536)
def skeleton(token: str) -> str:
    """Consonant skeleton of one normalised token (``soleimani`` = ``suleimani`` = ``slmn``,
    ``qassem`` = ``qasem`` = ``ksm``, ``qods`` = ``quds``); may be empty (``a``)."""
    return _skeleton_core("al" if token in _ARTICLES else token)


def skeleton_phrase(normalized: str) -> str:
    """Skeleton of a whole normalised phrase, token by token."""
    return " ".join(skeleton(t) for t in normalized.split(" "))


def skeleton_text(padded: str) -> str:
    """:func:`skeleton` of every token of a padded normalised text at once; same spaces, same places."""
    return _skeleton_core(padded.replace(" el ", " al ").replace(" ul ", " al "))
