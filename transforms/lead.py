"""The article's lead paragraph when trafilatura leaves it out because it sits beside the body.

Sites often set the lead apart, just before the body container (a sibling ``div``); trafilatura
then keeps only the body. The page's own description (og:/JSON-LD) identifies the lead: a block
whose whole text is the description, directly followed by the body, is the body's opening.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import lxml.html
from lxml import etree

from transforms.cleanup import normalize_line

__all__ = ["find_lead"]

# Text nodes holding the description's first word; the lead is one of their nearest block ancestors.
_HOLDS_WORD = etree.XPath("//body//text()[contains(., $word)]")
_LEAD_TAGS = frozenset({"p", "div", "section", "span", "h2", "strong", "em", "header", "b"})
_LEAD_BLOCKED = {"a", "nav", "footer", "aside", "li", "figcaption", "blockquote", "form", "button"}
_LEAD_MIN_CHARS = 60
_LEAD_BODY_WORDS = 80
_PARAGRAPHS = etree.XPath("count(.//p)")


def _body_follows(el: lxml.html.HtmlElement, lead_words: int) -> bool:
    """Whether the next sibling with text is the article body: paragraphs, several times the lead's length."""
    for sibling in el.itersiblings():
        if not isinstance(sibling.tag, str) or sibling.tag in ("script", "style", "noscript"):
            continue
        words = _word_count(sibling.text_content())
        if words == 0:
            continue
        return words >= max(_LEAD_BODY_WORDS, 3 * lead_words) and _PARAGRAPHS(sibling) >= 2
    return False


def find_lead(tree: lxml.html.HtmlElement, description: str | None) -> str | None:
    """The page's lead paragraph when it sits beside the body container, found by the page's description.

    Sites often set the lead apart, just before the body container (a sibling ``div``), and
    trafilatura then keeps only the body. A block whose whole text is the og:/JSON-LD description,
    directly followed by the body, is that lead: the page states it is the article's summary and
    shows it as the body's opening. A standfirst in the page header (followed by the byline,
    share buttons or a picture) is not taken: it is a subtitle, not body text. Read before
    pruning; the caller adds the lead when the extracted text lacks it.
    """
    key = normalize_line(description or "")
    if len(key) < _LEAD_MIN_CHARS:
        return None
    for el in _lead_candidates(tree, description or ""):
        text = " ".join(el.text_content().split())
        if normalize_line(text) != key or any(a.tag in _LEAD_BLOCKED for a in (el, *el.iterancestors())):
            continue  # not the whole description, or a teaser link, caption or sidebar showing it
        if _body_follows(el, _word_count(text)):
            return text
    return None


def _lead_candidates(tree: lxml.html.HtmlElement, description: str) -> Iterator[lxml.html.HtmlElement]:
    """Block elements (nearest first, up to three levels) around the text nodes holding the first word."""
    seen: dict[int, lxml.html.HtmlElement] = {}  # holds the proxies, so their ids stay unique
    for node in _HOLDS_WORD(tree, word=description.split()[0]):
        parent = node.getparent()
        if parent is None:
            continue
        for el in (parent, *islice(parent.iterancestors(), 3)):
            if el.tag in _LEAD_TAGS and id(el) not in seen:
                seen[id(el)] = el
                yield el


def _word_count(text: str) -> int:
    return len(text.split())
