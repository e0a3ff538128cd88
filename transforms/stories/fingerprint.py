"""Text fingerprints: MinHash over normalised word shingles, and a keyword vector for stories.

Both are plain functions of an article's text, deterministic across processes and runs (fixed
MinHash seed, no Python ``hash()``), so what one run stores another can compare against.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "Signature",
    "band_keys",
    "containment",
    "estimated_jaccard",
    "keyword_vector",
    "minhash_signature",
    "normalize_text",
    "shingles",
    "tokens",
]

_WORD = re.compile(r"\w+", re.UNICODE)
# A text whose "words" average this many characters has no spaces between words (Chinese, Japanese,
# Thai): shingle characters instead.
_UNSPACED_CHARS_PER_WORD = 12
_CHAR_SHINGLE = 4
# Zipf frequency (wordfreq's log scale, "the" is 7.7) above which a word says nothing about an event.
_COMMON_ZIPF = 5.5
_IDF_CEILING = 7.0
# Languages whose wordfreq lookup needs an optional tokenizer (MeCab, jieba) we do not install.
_NEEDS_TOKENIZER = frozenset({"ja", "ko", "zh"})
_TITLE_WEIGHT = 2
# Pinned: stored signatures are only comparable with signatures of the same permutation scheme.
_SCHEME = "affine32"


class Signature(bytes):
    """A MinHash signature: ``num_perm`` little-endian uint32 values."""


def normalize_text(text: str) -> str:
    """NFKC, case-folded, with the typographic variants that differ between copies unified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


def tokens(text: str) -> list[str]:
    """The word tokens of normalised ``text`` (punctuation and markup-ish noise dropped)."""
    return _WORD.findall(normalize_text(text))


def shingles(text: str, size: int) -> set[str]:
    """Word ``size``-grams of the text (character 4-grams for unspaced scripts)."""
    words = tokens(text)
    if words and sum(map(len, words)) / len(words) > _UNSPACED_CHARS_PER_WORD:
        joined = "".join(words)
        return {joined[i:i + _CHAR_SHINGLE] for i in range(max(1, len(joined) - _CHAR_SHINGLE + 1))}
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


# datasketch (through scipy) and wordfreq (through its frequency tables) take about a second to
# import: they load with the first article, so that a run with nothing new never pays for them.
@lru_cache(maxsize=1)
def _datasketch() -> Any:
    import datasketch

    return datasketch


@lru_cache(maxsize=1)
def _wordfreq() -> Any:
    import wordfreq

    return wordfreq


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # datasketch draws the permutations from the seed on every MinHash(); draw them once per process.
    template = _datasketch().MinHash(num_perm=num_perm, seed=seed, scheme=_SCHEME)
    return template.permutations


def minhash_signature(items: Iterable[str], num_perm: int, seed: int) -> Signature:
    """The MinHash signature of a set of strings (datasketch, SHA-1 based, fixed seed)."""
    sketch = _datasketch().MinHash(num_perm=num_perm, seed=seed, permutations=_permutations(num_perm, seed), scheme=_SCHEME)
    sketch.update_batch([item.encode("utf-8") for item in items])
    return Signature(sketch.hashvalues.astype("<u4").tobytes())


def _values(signature: bytes) -> np.ndarray:
    return np.frombuffer(signature, dtype="<u4")


def estimated_jaccard(a: bytes, b: bytes) -> float:
    """Share of equal MinHash values: an unbiased estimate of the shingle sets' Jaccard index."""
    if len(a) != len(b):
        raise ValueError("signatures of different sizes cannot be compared")
    return float(np.mean(_values(a) == _values(b)))


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Estimated share of the smaller set inside the larger one, from Jaccard and the set sizes.

    |A∩B| = J·(|A|+|B|)/(1+J); a copy trimmed to its first half has J≈0.5 but containment≈1.
    """
    smaller = min(size_a, size_b)
    if smaller <= 0:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / (1.0 + jaccard) / smaller)


def band_keys(signature: bytes, rows: int) -> list[str]:
    """LSH band keys: two signatures share a key iff one band of ``rows`` values is equal."""
    width = 4 * rows
    count = len(signature) // width
    return [
        f"d{band}:{hashlib.blake2b(signature[band * width:(band + 1) * width], digest_size=8).hexdigest()}"
        for band in range(count)
    ]


def _wordfreq_language(language: str | None) -> str | None:
    code = (language or "en").split("-")[0].split("_")[0].lower()
    if code in _NEEDS_TOKENIZER or code not in _languages() or not _usable(code):
        return None
    return code


@lru_cache(maxsize=64)
def _usable(code: str) -> bool:
    """Whether wordfreq can look words up in this language here (some need tokenizers not installed)."""
    try:
        _wordfreq().zipf_frequency("news", code)
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    return frozenset(_wordfreq().available_languages())


@lru_cache(maxsize=200_000)
def _zipf(word: str, language: str) -> float:
    # wordfreq re-tokenises every word it is asked about; news vocabularies repeat, so ask once.
    return float(_wordfreq().zipf_frequency(word, language))


def _idf(word: str, language: str | None) -> float:
    """Inverse-frequency weight from wordfreq's background frequencies (no corpus statistics needed)."""
    if language is None:
        return 1.0
    return max(0.0, _IDF_CEILING - _zipf(word, language))


def _is_keyword(word: str, language: str | None) -> bool:
    if len(word) < 3 or not any(ch.isalpha() for ch in word):
        return False
    return language is None or _zipf(word, language) < _COMMON_ZIPF


def keyword_vector(text: str, title: str | None, language: str | None, size: int) -> tuple[tuple[str, float], ...]:
    """The ``size`` strongest keywords (log tf × wordfreq idf, title words counted extra), L2-normalised."""
    lang = _wordfreq_language(language)
    # Count every token, then test each distinct word once: a text repeats most of its words.
    counts: Counter[str] = Counter(tokens(text))
    for word in [w for w in counts if not _is_keyword(w, lang)]:
        del counts[word]
    for word in tokens(title or ""):
        if _is_keyword(word, lang):
            counts[word] += _TITLE_WEIGHT
    weights = {w: (1.0 + math.log(c)) * _idf(w, lang) for w, c in counts.items()}
    top = sorted(((w, x) for w, x in weights.items() if x > 0), key=lambda item: (-item[1], item[0]))[:size]
    norm = math.sqrt(sum(x * x for _, x in top)) or 1.0
    return tuple((w, round(x / norm, 6)) for w, x in top)


def cosine(a: Sequence[tuple[str, float]], b: Sequence[tuple[str, float]]) -> float:
    """Cosine of two L2-normalised sparse keyword vectors."""
    weights = dict(a)
    return sum(weights[w] * x for w, x in b if w in weights)
