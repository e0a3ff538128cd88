"""Read one inline comment item: its author, author link, time and clean text.

Each field is a priority list of XPaths, most specific first (microdata, then the class names of
WordPress, Drupal, Blogger and common themes, then generic ones). The item is copied without its
nested replies before anything is read, so a parent never absorbs its children's text.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime

import lxml.html

from transforms.comments.text import element_text, normalize_space, parse_time, strip_chrome

__all__ = ["ItemFields", "item_fields"]


def _has_class(name: str) -> str:
    return f"contains(concat(' ',normalize-space(@class),' '),' {name} ')"


def _class_contains(*names: str) -> str:
    return " or ".join(f"contains(@class,'{n}')" for n in names)


_AUTHOR_XPATHS = (
    ".//*[@itemprop='author']//*[@itemprop='name']",
    ".//*[@itemprop='author']",
    f".//*[contains(@class,'comment-author')]//*[{_has_class('fn')}]",
    f".//*[{_has_class('fn')}]",
    ".//cite[contains(@class,'user')]",
    f".//*[{_class_contains('comment-author', 'comment_author', 'commentauthor', 'comment__author')}]",
    f".//*[{_class_contains('username', 'user-name', 'author-name', 'authorname', 'comment-name', 'nickname')}]",
    f".//*[{_class_contains('author')}]",
    ".//cite",
)
_CONTENT_XPATHS = (
    ".//*[@itemprop='text' or @itemprop='commentText']",
    f".//*[{_class_contains('field-comment-body', 'comment-text', 'comment_text', 'commenttext', 'comment-message', 'comment__text', 'comment-copy', 'comment-body__content')}]",
    f".//*[{_class_contains('comment-content', 'comment_content', 'commentcontent', 'comment__content', 'comment-entry')}]",
    f".//*[{_has_class('entry-content')} or {_has_class('comment-body')} or {_has_class('content')} or {_has_class('text')}]",
)
_CHROME_XPATH = (
    f".//*[{_class_contains('comment-author', 'vcard', 'comment-meta', 'commentmetadata', 'reply', 'comment-actions', 'avatar', 'says', 'comment-header', 'edit-link', 'screen-reader', 'comment-footer', 'awaiting', 'comment-date', 'comment-time', 'datetime', 'submitted', 'vote', 'share')}"
    f" or {_has_class('meta')} or {_has_class('date')} or {_has_class('time')} or @itemprop='author']"
    " | .//time | .//img | .//button | .//form | .//script | .//style"
)
_TIME_ATTR_XPATH = (
    ".//time/@datetime | .//*[@itemprop='dateCreated' or @itemprop='datePublished' or @itemprop='commentTime']"
    "/@content | .//*[@itemprop='dateCreated' or @itemprop='datePublished']/@datetime | .//@data-timestamp"
)
_TIME_TEXT_XPATH = (
    f".//*[{_class_contains('date', 'time', 'meta', 'submitted', 'posted', 'published')}] | .//time | .//abbr"
)
_BLOGGER_TIME_RE = re.compile(r"showComment=(\d{13})")
_DATE_RES = (
    re.compile(r"\d{1,2}\.\s?[^\W\d_]{3,}\.?\s\d{4}(?:\D{1,8}\d{1,2}[:.]\d{2}(?:\s?[AaPp]\.?[Mm]\.?)?)?"),
    re.compile(r"[^\W\d_]{3,}\.?\s\d{1,2}(?:st|nd|rd|th)?,?\s\d{4}(?:\D{1,8}\d{1,2}:\d{2}(?:\s?[AaPp]\.?[Mm]\.?)?)?"),
    re.compile(r"\d{1,2}\s[^\W\d_]{3,}\.?,?\s\d{4}(?:\D{1,8}\d{1,2}[:.h]\d{2}(?:\s?[AaPp]\.?[Mm]\.?)?)?"),
    re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}(?:\D{1,8}\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp]\.?[Mm]\.?)?)?"),
)
_SAYS_SPLIT_RE = re.compile(
    r"\s*\b(?:says|said|wrote|sagt|schrieb|schreibt|meint|dit|écrit|dice|scrive|zegt|skriver)\s*:.*$", re.I | re.S
)


@dataclass(frozen=True, slots=True)
class ItemFields:
    """What one comment item says about itself."""

    text: str
    author: str | None
    author_url: str | None
    published_at: datetime | None


def item_fields(
    item: lxml.html.HtmlElement, others: set[lxml.html.HtmlElement], *, base: datetime | None = None
) -> ItemFields:
    """Read a comment item's fields, ignoring the replies (``others``) nested in it."""
    clone = _copy_without(item, others)
    author_el = _first(clone, _AUTHOR_XPATHS, _author_ok)
    author = _author_name(author_el) if author_el is not None else _says_author(clone)
    published = _time(clone, base)
    return ItemFields(
        text=_text(clone, author),
        author=author,
        author_url=_author_url(author_el),
        published_at=published,
    )


def _copy_without(item: lxml.html.HtmlElement, others: set[lxml.html.HtmlElement]) -> lxml.html.HtmlElement:
    nested = [el for el in item.iterdescendants() if el in others]
    paths = [_path(item, el) for el in nested]
    clone = copy.deepcopy(item)
    for target in [_follow(clone, p) for p in paths]:
        if target.getparent() is not None:
            target.drop_tree()
    return clone


def _path(root: lxml.html.HtmlElement, el: lxml.html.HtmlElement) -> list[int]:
    path = []
    while el is not root:
        parent = el.getparent()
        path.append(parent.index(el))
        el = parent
    return path[::-1]


def _follow(root: lxml.html.HtmlElement, path: list[int]) -> lxml.html.HtmlElement:
    for i in path:
        root = root[i]
    return root


def _first(root, xpaths, accept=lambda el: True):  # type: ignore[no-untyped-def]
    for xpath in xpaths:
        for el in root.xpath(xpath):
            if accept(el):
                return el
    return None


def _author_ok(el: lxml.html.HtmlElement) -> bool:
    name = _author_name(el)
    return name is not None


def _author_name(el: lxml.html.HtmlElement) -> str | None:
    name = normalize_space(_SAYS_SPLIT_RE.sub("", el.text_content()))
    name = re.sub(r"^(?:by|von|par|por|di)\s+", "", name, flags=re.I)
    return name if 0 < len(name) <= 80 else None


def _says_author(clone: lxml.html.HtmlElement) -> str | None:
    head = normalize_space(element_text(clone).split("\n")[0]) if len(clone) or clone.text else ""
    match = _SAYS_SPLIT_RE.search(head)
    name = head[: match.start()].strip() if match else ""
    return name if 0 < len(name) <= 80 else None


def _author_url(author_el: lxml.html.HtmlElement | None) -> str | None:
    if author_el is None:
        return None
    links = [author_el] if author_el.tag == "a" else list(author_el.iter("a")) + list(author_el.iterancestors("a"))
    for link in links:
        href = (link.get("href") or "").strip()
        if href.startswith(("http://", "https://")) and "#comment" not in href and "replytocom" not in href:
            return href
    return None


def _time(clone: lxml.html.HtmlElement, base: datetime | None) -> datetime | None:
    for value in clone.xpath(_TIME_ATTR_XPATH):
        parsed = parse_time(str(value), base=base, textual=False)
        if parsed is not None:
            return parsed
    for href in clone.xpath(".//a/@href"):
        match = _BLOGGER_TIME_RE.search(str(href))
        if match:
            return parse_time(match.group(1))
    matches = clone.xpath(_TIME_TEXT_XPATH)
    leaves = [el for el in matches if not any(d in matches for d in el.iterdescendants())]
    # Drupal and others split date and time over two elements: read them together first.
    joined = normalize_space(" ".join(el.text_content() for el in leaves))
    parsed = _date_in(joined, base)
    if parsed is not None:
        return parsed
    for el in matches:
        parsed = _date_in(normalize_space(el.text_content()), base) or parse_time(el.get("title"), base=base)
        if parsed is not None:
            return parsed
    return _date_line(clone, base)


def _date_line(clone: lxml.html.HtmlElement, base: datetime | None) -> datetime | None:
    """A short line near the top of an unmarked item that is mostly a date ("Name says: / 23.05.2019 - 09:05")."""
    for line in element_text(clone).split("\n")[:4]:
        line = line.strip()
        for pattern in _DATE_RES:
            match = pattern.search(line) if len(line) <= 60 else None
            if match and len(match.group(0)) >= 0.6 * len(line):
                return parse_time(match.group(0), base=base)
    return None


def _date_in(text: str, base: datetime | None) -> datetime | None:
    if not text or len(text) > 200:
        return None
    for pattern in _DATE_RES:
        match = pattern.search(text)
        if match:
            parsed = parse_time(match.group(0), base=base)
            if parsed is not None:
                return parsed
    return None


def _text(clone: lxml.html.HtmlElement, author: str | None) -> str:
    nodes = _content_nodes(clone)
    for node in nodes:
        for junk in node.xpath(_CHROME_XPATH):
            if junk is not node and junk.getparent() is not None:
                junk.drop_tree()
    text = _drop_date_lines(strip_chrome("\n\n".join(filter(None, (element_text(n) for n in nodes)))))
    if author and text.startswith(author) and _SAYS_SPLIT_RE.match(text[len(author):].split("\n")[0]):
        text = text.split("\n", 1)[1].strip() if "\n" in text else ""
    return text


def _drop_date_lines(text: str) -> str:
    """Remove a first or last line that is only a date (the item's meta line, when no class marks it)."""
    lines = text.split("\n")
    for index in (0, -1):
        if lines and any(p.fullmatch(lines[index].strip(" -–|·()[]")) for p in _DATE_RES):
            lines.pop(index)
    return "\n".join(lines).strip()


def _content_nodes(clone: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    for xpath in _CONTENT_XPATHS:
        found = [el for el in clone.xpath(xpath) if normalize_space(el.text_content())]
        tops = [el for el in found if not any(a in found for a in el.iterancestors())]
        if tops:
            return tops
    return [clone]
