"""Registry matching: Aho-Corasick over normalised text, then in-document resolution.

Index (built once per :class:`ActorMatcher`):

* every alias key (see :mod:`.normalize`) is stored as ``" key "`` in one pyahocorasick
  automaton, so every hit is already word-aligned;
* a second automaton holds the consonant skeletons of multi-word names of people and armed
  groups from the hand-curated and user layers (transliteration variants);
* person surnames (``Amiri``, ``al Amiri``) become *back-references* automatically.

Per document: collect hits, drop those failing the case rules (``US`` is not ``us``; a
single-word name must be capitalised), keep the leftmost-longest non-overlapping ones, then
resolve: a key owned by one actor links; a key shared by several actors, or a back-reference,
links only to the one candidate that the same document names unambiguously elsewhere.
Everything else stays an unresolved name (reported unlinked, never guessed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

import ahocorasick

from transforms.tagging.normalize import (
    Normalized,
    fold_case_kept,
    normalize,
    normalize_alias,
    skeleton_phrase,
    skeleton_text,
)
from transforms.tagging.registry import Actor, ActorRegistry

__all__ = ["ActorMatcher", "Hit"]

_SKELETON_TYPES = frozenset({"person", "armed_group"})
_ARTICLE_TOKENS = frozenset({"al", "el", "ul", "bin", "ibn", "abu"})
_NOT_SURNAMES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_TITLE_WORDS = frozenset(
    "president prime minister mr mrs ms dr sir king queen prince princess crown emir sheikh ayatollah grand "
    "supreme leader general gen secretary chancellor premier vice speaker senator sen rep pm former".split()
)
_JUNIOR = re.compile(r",? (?:Jr|Sr)\b")


@dataclass(slots=True)
class _Entry:
    """What one alias key means: full owners, back-reference owners, case constraints."""

    full: set[int] = field(default_factory=set)
    full_layer: int = -1
    backref: set[int] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)  # case-kept forms; empty = case-insensitive
    lower_ok: bool = False  # the alias itself starts lower-case (al-Qaeda): no capital required
    skeleton_only: bool = False  # a transliteration back-reference: dropped unless it resolves


@dataclass(frozen=True, slots=True)
class Hit:
    """One resolved registry match: span in the original text, actor index or None."""

    start: int
    end: int
    surface: str
    actor: int | None
    candidates: tuple[int, ...]
    key: str


def _is_exact(alias: str) -> bool:
    bare = alias.replace(".", "")
    return alias.startswith("=") or (bare.isupper() and bare.isalpha() and len(bare) <= 5)


def _with_variants(aliases: tuple[str, ...]) -> list[str]:
    """Aliases plus their possessive-free spelling (People's Liberation Army -> Peoples ...)."""
    out = list(aliases)
    for alias in aliases:
        for mark in ("'s ", "\u2019s "):
            if mark in alias:
                out.append(alias.replace(mark, "s "))
    return out


def _surnames(key: str) -> list[str]:
    tokens = key.split()
    while tokens and tokens[-1] in _NOT_SURNAMES:
        tokens.pop()
    if len(tokens) < 2 or len(tokens[-1]) < 3:
        return []
    out = [tokens[-1]]
    if tokens[-2] in _ARTICLE_TOKENS and len(tokens) > 2:
        out.append(f"{tokens[-2]} {tokens[-1]}")
    return out


class ActorMatcher:
    """Alias index over a registry plus the per-document matching and resolution."""

    def __init__(self, registry: ActorRegistry) -> None:
        ordered = sorted(registry.actors.values(), key=lambda a: -registry.layers[a.id])
        self.actors: list[Actor] = ordered
        self._layers = [registry.layers[a.id] for a in ordered]
        self._entries: dict[str, _Entry] = {}
        self._skel: dict[str, _Entry] = {}
        self._codes: dict[int, Actor] = {}
        self.canonical: dict[str, str] = {}  # record id -> id it was merged into (or itself)
        for index, actor in enumerate(ordered):
            self._index_actor(index, actor)
        self._automaton = self._build(self._entries)
        self._skel_automaton = self._build(self._skel)

    # ---- index -------------------------------------------------------------------------------

    def _entry(self, key: str, *, table: dict[str, _Entry] | None = None) -> _Entry:
        table = self._entries if table is None else table
        entry = table.get(key)
        if entry is None:
            entry = table[key] = _Entry()
        return entry

    def _merge_target(self, index: int, actor: Actor, name_key: str) -> int:
        """The actor this record duplicates, or itself.

        A record named like a higher-layer one is that actor (Phoenix's Hezbollah is the curated
        Hezbollah); so is one sharing a full alias with a single higher-layer actor of the same
        type (Phoenix's "Dmitr Medvedev" lists "Dmitry Medvedev"), and a same-layer non-person
        record with the same name (Phoenix lists "Al-Jazeera" twice).
        """
        layer = self._layers[index]
        keys = [name_key, *(normalize_alias(a) for a in actor.aliases if not a.startswith(("~", "=")))]
        for key in keys:
            entry = self._entries.get(key)
            if entry is None or len(entry.full) != 1 or entry.full_layer < layer:
                continue
            (target,) = entry.full
            same_type = self.actors[target].type == actor.type
            if entry.full_layer > layer and (key == name_key or same_type):
                return target  # same name whatever the type, or a shared alias and the same type
            if entry.full_layer == layer and key == name_key and same_type and actor.type != "person":
                return target
        return index

    def _index_actor(self, index: int, actor: Actor) -> None:
        layer = self._layers[index]
        name_key = normalize_alias(actor.name)
        canon = self._merge_target(index, actor, name_key)
        self.canonical[actor.id] = self.actors[canon].id
        if canon != index and not self.actors[canon].codes and actor.codes:
            self._codes[canon] = actor
        full_keys: list[str] = []
        for raw in _with_variants((actor.name, *actor.aliases)):
            back = raw.startswith("~")
            alias = raw.lstrip("~=")
            key = normalize_alias(alias)
            if not key:
                continue
            if back:
                self._entry(key).backref.add(canon)
            else:
                full_keys.append(key)
                self._add_full(key, canon, layer, alias, raw)
        if actor.type == "person":
            for key in full_keys:
                for surname in _surnames(key):
                    self._entry(surname).backref.add(canon)
        if actor.type in _SKELETON_TYPES and layer > 0:
            self._index_skeletons(canon, layer, full_keys)

    def _add_full(self, key: str, canon: int, layer: int, alias: str, raw: str) -> None:
        entry = self._entry(key)
        if entry.full_layer > layer:
            return  # a higher layer owns this alias
        if entry.full_layer < layer:
            entry.full, entry.full_layer = set(), layer
        entry.full.add(canon)
        if _is_exact(raw):
            entry.exact.add(fold_case_kept(alias))
        if alias[:1].islower():
            entry.lower_ok = True

    def _index_skeletons(self, canon: int, layer: int, full_keys: list[str]) -> None:
        for key in full_keys:
            tokens = key.split()
            skel = skeleton_phrase(key)
            # Short skeletons and title-led aliases ("President Assad" ~ "President said") hit English.
            if len(tokens) >= 2 and len(skel.replace(" ", "")) >= 5 and tokens[0] not in _TITLE_WORDS:
                entry = self._entry(skel, table=self._skel)
                entry.full.add(canon)
                entry.full_layer = max(entry.full_layer, layer)
            for surname in _surnames(key) if self.actors[canon].type == "person" else []:
                skel = skeleton_phrase(surname)
                if len(skel.replace(" ", "")) >= 4:  # short skeletons ("rs") match common words
                    self._entry(skel, table=self._skel).backref.add(canon)

    @staticmethod
    def _build(table: dict[str, _Entry]) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for key in table:
            automaton.add_word(f" {key} ", (key, len(key) + 2))
        if len(automaton):
            automaton.make_automaton()
        return automaton

    def actor_codes(self, index: int) -> Actor:
        """The record whose role codes apply to actor `index` (itself, or a merged Phoenix record)."""
        return self._codes.get(index, self.actors[index])

    # ---- matching ----------------------------------------------------------------------------

    def _raw_hits(self, norm: Normalized) -> list[tuple[int, int, str, bool]]:
        hits: list[tuple[int, int, str, bool]] = []
        if len(self._automaton):
            for end, (key, length) in self._automaton.iter(norm.text):
                hits.append((end - length + 2, end, key, False))
        if len(self._skel_automaton):
            hits.extend(self._skeleton_hits(norm))
        return hits

    def _skeleton_hits(self, norm: Normalized) -> list[tuple[int, int, str, bool]]:
        skel_text = skeleton_text(norm.text)
        hits = [(end - length + 2, end, key) for end, (key, length) in self._skel_automaton.iter(skel_text)]
        if not hits:
            return []
        # Same tokens in the same order: map a hit to token numbers, then to offsets of `norm`
        # (parts[0] is the leading pad; token i starts at cum[i] + i + 1).
        parts = norm.text.split(" ")
        cum = list(accumulate(map(len, parts)))
        out = []
        for start, _, key in hits:
            first = skel_text.count(" ", 0, start)
            last = first + key.count(" ")
            if 0 < first and last < len(parts):
                out.append((cum[first - 1] + first, cum[last] + last, key, True))
        return out

    @staticmethod
    def _case_ok(entry: _Entry, surface: str) -> bool:
        if entry.exact:
            if surface in entry.exact:  # the common case, without folding
                return True
            return fold_case_kept(surface) in entry.exact
        if entry.lower_ok or not surface[0].islower():
            return True
        first = next((c for c in surface if c.isalpha()), "")
        return not first or not first.islower()

    def find(self, text: str, norm: Normalized | None = None) -> list[Hit]:
        """All registry mentions in `text` (whose :func:`normalize` may be passed in), resolved."""
        norm = normalize(text) if norm is None else norm
        kept: list[tuple[int, int, str, _Entry]] = []
        for nstart, nend, key, is_skel in self._raw_hits(norm):
            entry = (self._skel if is_skel else self._entries)[key]
            if is_skel and not entry.full:
                entry = _Entry(backref=entry.backref, skeleton_only=True)
            start, end = norm.span_to_original(nstart, nend)
            if self._case_ok(entry, text[start:end]):
                kept.append((start, end, text[start:end], entry))
        kept = [h for h in kept if not _JUNIOR.match(text, h[1])]  # "Donald Trump Jr." is not Trump
        kept.sort(key=lambda h: (h[0], h[0] - h[1]))
        selected = []
        last_end = -1
        for hit in kept:
            if hit[0] >= last_end:
                selected.append(hit)
                last_end = hit[1]
        return self._resolve(selected)

    def _resolve(self, selected: list[tuple[int, int, str, _Entry]]) -> list[Hit]:
        named = {next(iter(e.full)) for *_, e in selected if len(e.full) == 1}
        hits = []
        for start, end, surface, entry in selected:
            candidates = entry.full or entry.backref
            actor = None
            if len(entry.full) == 1:
                actor = next(iter(entry.full))
            else:
                in_doc = candidates & named
                actor = next(iter(in_doc)) if len(in_doc) == 1 else None
            if actor is None and entry.skeleton_only:
                continue
            key = "" if actor is not None else normalize_alias(surface)  # only unlinked names need it
            hits.append(Hit(start, end, surface, actor, tuple(sorted(candidates)), key))
        return hits
