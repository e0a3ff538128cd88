"""Citations: which outlets an article names as its source, and which links it gives.

Outlet names are found by attribution cues ("according to the Long War Journal", "told Reuters",
"first reported by ...") followed by a capitalised name that is a known outlet or ends in an
outlet word (Journal, Times, Agency, Institute, ...). People and governments cited the same way
("according to the Pentagon") are not outlets and are left out: the column says who relays whom.

Hand-written: no library we know of extracts attributed *outlets* (NER tools give every
organisation); the cue list is small and data-like, and the tests pin its behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from transforms.urls import canonicalize_url, source_of, stable_id

__all__ = ["KNOWN_OUTLETS", "cited_outlets", "link_keys", "links_in_text"]

KNOWN_OUTLETS = frozenset({
    "Reuters", "Associated Press", "AP", "AFP", "Agence France-Presse", "Bloomberg", "BBC", "CNN",
    "Al Jazeera", "Al Arabiya", "Xinhua", "TASS", "RIA Novosti", "Interfax", "Kyodo", "Yonhap", "dpa",
    "ANSA", "EFE", "Anadolu", "IRNA", "Tasnim", "Fars", "ISNA", "Sputnik", "RT", "NPR", "PBS", "Axios",
    "Politico", "Fox News", "MSNBC", "CNBC", "ABC", "CBS", "NBC", "NHK", "Haaretz", "Ynet", "Rudaw",
    "Kurdistan24", "Shafaq News", "Bellingcat", "ProPublica", "Vox", "Slate", "Gizmodo", "TechCrunch",
    "The Verge", "Wired", "Forbes", "Newsweek", "Variety", "Billboard", "Deadline", "Semafor",
})
_OUTLET_WORDS = frozenset({
    "journal", "times", "post", "news", "press", "agency", "herald", "tribune", "guardian", "telegraph",
    "gazette", "review", "magazine", "monitor", "observer", "reporter", "chronicle", "independent",
    "mail", "express", "daily", "weekly", "radio", "tv", "television", "network", "broadcasting", "wire",
    "insider", "examiner", "register", "mirror", "bulletin", "dispatch", "today", "online", "media",
    "channel", "institute", "centre", "center", "report", "newswire", "newsletter", "blog", "digest",
})
_NAME_WORD = r"[A-Z][\w'’&-]*"
# Lower-case words allowed inside a name ("Institute for the Study of War"); not "and"/"on", which
# would glue the name to the next clause ("told Reuters on Monday").
_NAME = rf"(?:[Tt]he\s+)?{_NAME_WORD}(?:\s+(?:(?:of|for|the|&)\s+)*{_NAME_WORD})*"
# A cue, then the outlet's name ("according to X"). _REPORT_BY is one more, kept last as it always was.
_CUES_BEFORE = [
    rf"\b(?i:according\s+to)\s+(?P<n0>{_NAME})",
    rf"\b(?i:(?:first\s+)?reported\s+(?:first\s+)?by)\s+(?P<n1>{_NAME})",
    rf"\b(?i:told|citing|via|cited\s+by|quoted\s+by|in\s+an\s+interview\s+with)\s+(?P<n2>{_NAME})",
]
# The name before its verb: "X, which first ...", "X reported ...". Only one end of a name can be
# followed by a lower-case verb, so one alternative serves both forms. It is tried at every capitalised
# word, which made it most of the time spent here, so a text without any of its verbs skips it.
_NAME_FIRST = (rf"(?P<n3>{_NAME})(?:,?\s+(?:which|who)\s+first\s+\w+"
               rf"|\s+(?:first\s+)?(?:reported|reports|revealed|geolocated)\b)")
_NAME_FIRST_VERB = re.compile(r"(?:which|who)\s+first\s|reported|reports|revealed|geolocated")
_REPORT_BY = rf"\b(?i:(?:a|an|the)\s+(?:report|analysis|investigation|story)\s+(?:by|from|in))\s+(?P<n4>{_NAME})"
_CUE = re.compile("|".join([*_CUES_BEFORE, _NAME_FIRST, _REPORT_BY]))
_CUE_WITHOUT_NAME_FIRST = re.compile("|".join([*_CUES_BEFORE, _REPORT_BY]))
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_POSSESSIVE = re.compile(r"['’]s$")


def _clean_name(raw: str) -> str:
    name = re.sub(r"^[Tt]he\s+", "", raw.strip()).rstrip(".,;:")
    return _POSSESSIVE.sub("", name)


def _is_outlet(name: str) -> bool:
    if name in KNOWN_OUTLETS:
        return True
    words = name.lower().split()
    return len(words) >= 2 and any(word in _OUTLET_WORDS for word in words)


def cited_outlets(text: str) -> tuple[str, ...]:
    """Outlet names the text attributes information to, in order of first mention, each once."""
    found: dict[str, None] = {}
    cue = _CUE if _NAME_FIRST_VERB.search(text) else _CUE_WITHOUT_NAME_FIRST
    for match in cue.finditer(text):
        raw = next(value for value in match.groupdict().values() if value)
        name = _clean_name(raw)
        if _is_outlet(name):
            found.setdefault(name, None)
    return tuple(found)


def links_in_text(text: str, links: Iterable[str] = ()) -> tuple[str, ...]:
    """Canonical forms of the URLs written in the text plus any outbound ``links`` given."""
    urls = [u.rstrip(".,;:") for u in _URL.findall(text)] + list(links)
    return tuple(dict.fromkeys(canonicalize_url(u) for u in urls if u))


def link_keys(urls: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``(url key, source)`` of each link: the key matches a stored article's ``url_key``."""
    return tuple((stable_id(url), source_of(url)) for url in urls)
