"""Inline comment sections in an article page: find the comment items, their threads and sections.

One generic finder covers the layouts seen in the corpora instead of one parser per CMS, because
they share three signals: the site's comment id on the item or an anchor next to it
(WordPress ``li#comment-12``, Drupal ``<a id="comment-12">`` + ``div.comment``, Blogger
``li.comment#c123``, ``<a name="comment-12">``), a ``comment`` class token or schema.org
``Comment`` microdata, and replies nested in the parent's item (``ol.children``,
``.comment-replies``) or in a Drupal ``div.indented`` sibling. Per-item fields are read by
``transforms.comments.fields``. ``comment_section_nodes`` returns the containers an article
extractor must drop so comment text never reaches the article text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import lxml.html
from lxml import etree
from lxml.etree import ParserError

from transforms.comments.fields import item_fields
from transforms.comments.thread import RawComment
from transforms.htmltree import HTML_PARSER

__all__ = ["comment_items", "comment_section_nodes", "parse_html_comments", "parse_document"]

_ID_RE = re.compile(r"^(?:li-|div-|dsq-)?comment(?:[-_]?id)?[-_]?(\d+)$", re.IGNORECASE)
_BLOGGER_ID_RE = re.compile(r"^c(\d{6,})$")
_ITEM_CLASSES = frozenset(
    {"comment", "comment-item", "comment_item", "commentitem", "single-comment", "comment-entry", "pingback",
     "trackback", "js-comment", "comment__item", "comments__item", "comment-list-item"}
)
_SECTION_RE = re.compile(
    r"comment|kommentar|komentar|commentaire|comentario|discussion|reaction|respon|leserbrief|leserpost|reader-?post",
    re.I)
_NOT_SECTION_RE = re.compile(r"recent|widget|sidebar|count|comment-?form|respond|commentform|reply-title", re.I)
_CHILDREN_RE = re.compile(r"(?:^|[\s_-])(?:children|replies|indented|sub-?comments|child-comments|thread-chrome)", re.I)
_SAYS_TAIL_RE = re.compile(
    r"\b(?:says|said|wrote|sagt|schrieb|schreibt|meint|dit|écrit|dice|scrive|zegt|skriver)\s*:\s*$", re.I
)
_SIDEBAR_RE = re.compile(r"^(?:.*recent.?comments.*|widget_recent.*|sidebar|secondary|widget-area)$")
_HEAD_TAGS = frozenset({"strong", "b", "cite", "span", "a", "p", "em", "div"})
_SECTION_TAGS = frozenset({"div", "section", "ol", "ul", "aside"})


def parse_document(html: str | bytes) -> lxml.html.HtmlElement | None:
    """Parse a page into an lxml tree, or None if it holds no markup."""
    try:
        return lxml.html.document_fromstring(html, parser=HTML_PARSER)
    except (ParserError, ValueError):
        return None


def _attr(el: lxml.html.HtmlElement, name: str) -> str:
    return el.get(name) or ""


def _classes(el: lxml.html.HtmlElement) -> set[str]:
    return set(_attr(el, "class").lower().split())


def native_id(el: lxml.html.HtmlElement) -> str | None:
    """The site's comment id carried by an element's id/name, if any."""
    for name in ("id", "name"):
        match = _ID_RE.match(_attr(el, name))
        if match:
            return match.group(1)
    match = _BLOGGER_ID_RE.match(_attr(el, "id"))
    if match and "comment" in _classes(el):
        return match.group(1)
    return None


def _is_microdata_comment(el: lxml.html.HtmlElement) -> bool:
    itemtype = _attr(el, "itemtype")
    return "schema.org/Comment" in itemtype or "schema.org/UserComments" in itemtype


def _anchor_target(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """An empty anchor (``<a id="comment-12"></a>``) stands for the comment next to or around it."""
    if el.text_content().strip() or len(el):
        return el
    sibling = el.getnext()
    if sibling is not None and (_classes(sibling) & _ITEM_CLASSES or "comment" in _attr(sibling, "class").lower()):
        return sibling
    parent = el.getparent()
    return parent if parent is not None and parent.tag in ("li", "div", "article", "section") else None


def _in_excluded_context(el: lxml.html.HtmlElement) -> bool:
    for anc in el.iterancestors():
        if anc.tag in ("form", "textarea", "script", "template", "noscript"):
            return True
        tokens = (_attr(anc, "id") + " " + _attr(anc, "class")).lower().split()
        if anc.tag == "aside" or any(_SIDEBAR_RE.match(t) for t in tokens):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _PageLabels:
    """What one pass over a page's id/name/class/itemtype attributes finds.

    ``maybe_items``: the elements ``_candidates`` can accept, each naming "comment" (any case),
    "pingback" or "trackback" in those attributes (every item test below needs one of the three);
    ``sections``: the elements whose id or class names a comment section, in document order. One
    cheap test per element, so the costlier checks run on a few elements instead of the whole page.
    """

    maybe_items: list[lxml.html.HtmlElement]
    sections: list[lxml.html.HtmlElement]
    section_set: frozenset[lxml.html.HtmlElement]

    @classmethod
    def scan(cls, root: lxml.html.HtmlElement) -> _PageLabels:
        maybe_items, sections = [], []
        for el in root.iter(etree.Element):
            get = el.get
            label = f"{get('id') or ''} {get('class') or ''}"
            names = f"{label} {get('name') or ''} {get('itemtype') or ''}".lower()
            if "comment" in names or "pingback" in names or "trackback" in names:
                maybe_items.append(el)
            if label != " " and _SECTION_RE.search(label):
                sections.append(el)
        return cls(maybe_items, sections, frozenset(sections))

    def in_section(self, el: lxml.html.HtmlElement) -> bool:
        """Whether an ancestor of ``el`` is a comment section."""
        return bool(self.sections) and not self.section_set.isdisjoint(el.iterancestors())

    def outermost_sections(self) -> list[lxml.html.HtmlElement]:
        return [el for el in self.sections if not self.in_section(el)]


# A "Name says:" head is under 120 characters; reading more of a first child (often the whole
# comment list, or the page body) only costs time. Raw text, before stripping indentation.
_SAYS_HEAD_RAW_LIMIT = 2000


def _text_within(el: lxml.html.HtmlElement, limit: int) -> str:
    """``el.text_content()`` if at most ``limit`` characters, else "" (without reading the rest)."""
    parts, size = [], 0
    for text in el.itertext():
        size += len(text)
        if size > limit:
            return ""
        parts.append(text)
    return "".join(parts)


def _says_items(labels: _PageLabels) -> Iterator[lxml.html.HtmlElement]:
    """Items of the markup-less "Name says:" layout: a list item inside a comment section whose
    first line ends in 'says:'."""
    for section in labels.outermost_sections():
        for li in section.iter("li", "div", "article"):
            if li is section or len(li) and isinstance(li[0].tag, str) and li[0].tag == "div" and len(li[0]) > 3:
                continue
            head = (li.text or "").strip()
            first = li[0] if len(li) else None
            if first is not None and not head and first.tag in _HEAD_TAGS:
                head = _text_within(first, _SAYS_HEAD_RAW_LIMIT).strip() + " " + (first.tail or "").strip()
            if head and len(head) < 120 and _SAYS_TAIL_RE.search(head):
                yield li


def _candidates(labels: _PageLabels) -> dict[lxml.html.HtmlElement, str | None]:
    found: dict[lxml.html.HtmlElement, str | None] = {}
    for el in labels.maybe_items:
        nid = native_id(el)
        if nid is not None:
            target = _anchor_target(el)
            if target is not None and found.get(target) is None:
                found[target] = nid
        elif _is_microdata_comment(el) or (_classes(el) & _ITEM_CLASSES and el.tag not in ("span", "a", "i")):
            if _is_microdata_comment(el) or labels.in_section(el):
                found.setdefault(el, None)
    for el in _says_items(labels):
        found.setdefault(el, None)
    return _join_split_items({el: nid for el, nid in found.items() if not _in_excluded_context(el)})


def _join_split_items(found: dict[lxml.html.HtmlElement, str | None]) -> dict[lxml.html.HtmlElement, str | None]:
    """One site id on two sibling elements (header row + body row) means one item: their common parent."""
    by_id: dict[str, list[lxml.html.HtmlElement]] = {}
    for el, nid in found.items():
        if nid is not None:
            by_id.setdefault(nid, []).append(el)
    for nid, els in by_id.items():
        parents = {el.getparent() for el in els}
        if len(els) > 1 and len(parents) == 1 and None not in parents:
            for el in els:
                del found[el]
            found[parents.pop()] = nid
    return found


def _separated(inner: lxml.html.HtmlElement, outer: lxml.html.HtmlElement) -> bool:
    """Is ``inner`` a reply nested in ``outer`` (a list or a children container lies between)?"""
    for anc in inner.iterancestors():
        if anc is outer:
            return False
        if anc.tag in ("ol", "ul") or _CHILDREN_RE.search(_attr(anc, "class") + " " + _attr(anc, "id")):
            return True
    return False


def _distinct(inner: lxml.html.HtmlElement, inner_id: str | None, outer: lxml.html.HtmlElement,
              outer_id: str | None) -> bool:
    """Two different site ids, or a microdata Comment inside another, are two comments."""
    if inner_id is not None and outer_id is not None:
        return inner_id != outer_id
    return _is_microdata_comment(inner) and _is_microdata_comment(outer)


def _repeated_blocks(root: lxml.html.HtmlElement, labels: _PageLabels) -> dict[lxml.html.HtmlElement, str | None]:
    """Fallback for unmarked layouts: the largest run of same-class sibling blocks inside a comment section."""
    body_len = 0
    best: list[lxml.html.HtmlElement] = []
    for section in labels.sections:
        label = _attr(section, "id") + " " + _attr(section, "class")
        if section.tag not in _SECTION_TAGS or _NOT_SECTION_RE.search(label) or _in_excluded_context(section):
            continue
        body_len = body_len or len(root.text_content()) or 1
        if len(section.text_content()) > 0.6 * body_len:
            continue
        for parent in section.iter("div", "section", "ol", "ul"):
            groups: dict[tuple[str, str], list[lxml.html.HtmlElement]] = {}
            for child in parent:
                if isinstance(child.tag, str) and child.tag in ("div", "li", "article", "section"):
                    groups.setdefault((child.tag, _attr(child, "class")), []).append(child)
            for group in groups.values():
                solid = [el for el in group if len(el.text_content().strip()) >= 20 and not el.xpath(".//form")]
                if len(solid) >= 2 and len(solid) > len(best):
                    best = solid
    return {el: None for el in best}


def comment_items(root: lxml.html.HtmlElement) -> dict[lxml.html.HtmlElement, str | None]:
    """The comment item elements of a page in document order, each with the site's id or None."""
    labels = _PageLabels.scan(root)
    cands = _candidates(labels) or _repeated_blocks(root, labels)
    if len(cands) <= 1:
        return cands
    items: dict[lxml.html.HtmlElement, str | None] = {}
    for el in sorted(cands, key=_doc_order(root)):
        outer = next((a for a in el.iterancestors() if a in items), None)
        if outer is not None and not _separated(el, outer) and not _distinct(el, cands[el], outer, items[outer]):
            # The same comment marked twice (li#comment-12 > article#div-comment-12): keep the outer.
            if items[outer] is None:
                items[outer] = cands[el]
            continue
        items[el] = cands[el]
    return items


def _doc_order(root: lxml.html.HtmlElement):  # type: ignore[no-untyped-def]
    order = {el: i for i, el in enumerate(root.iter())}
    return lambda el: order.get(el, 0)


def _parent_item(el: lxml.html.HtmlElement, items: dict[lxml.html.HtmlElement, str | None]) -> lxml.html.HtmlElement | None:
    for anc in el.iterancestors():
        if anc in items:
            return anc
        if "indented" in _classes(anc):
            # Drupal puts replies in a div.indented right after the parent comment.
            for sib in anc.itersiblings(preceding=True):
                if sib in items:
                    return sib
                inner = [d for d in sib.iter() if d in items]
                if inner:
                    return inner[-1]
    return None


def parse_html_comments(root: lxml.html.HtmlElement, *, base: datetime | None = None,
                        items: dict[lxml.html.HtmlElement, str | None] | None = None) -> list[RawComment]:
    """Every inline comment of a parsed page (comment sections and microdata), in document order.

    ``items``: the page's ``comment_items``, when the caller has them already.
    """
    items = comment_items(root) if items is None else items
    refs = {el: (f"site:{nid}" if nid else f"html:{i}") for i, (el, nid) in enumerate(items.items())}
    raws = []
    for el, nid in items.items():
        fields = item_fields(el, set(items) - {el}, base=base)
        if not fields.text:
            continue
        parent = _parent_item(el, items)
        raws.append(
            RawComment(
                origin="html", ref=refs[el], native=nid is not None, text=fields.text,
                parent_ref=refs[parent] if parent is not None else None, author=fields.author,
                author_url=fields.author_url, published_at=fields.published_at,
            )
        )
    return raws


def comment_section_nodes(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The outermost containers of inline comments (and comment forms) in a page, for pruning.

    Removing these nodes from the tree before extracting the article guarantees that comment text
    never reaches the article text. The containers are climbed only while they hold little more
    than the comments, so the article body itself is never returned.
    """
    items = comment_items(tree)
    tops = [el for el in items if not any(a in items for a in el.iterancestors())]
    budget = sum(len(el.text_content()) for el in tops) * 1.5 + 2000
    sections: list[lxml.html.HtmlElement] = []
    for el in tops:
        node = _climb(el, budget)
        if not any(node is s or node in set(s.iterdescendants()) for s in sections):
            sections = [s for s in sections if s not in set(node.iterdescendants())] + [node]
    for form in tree.xpath("//*[@id='respond' or @id='comment-form' or contains(@class,'comment-respond')]"):
        if not any(form is s or s in set(form.iterancestors()) for s in sections):
            sections.append(form)
    return sections


def _climb(el: lxml.html.HtmlElement, budget: float) -> lxml.html.HtmlElement:
    best = el.getparent() if el.getparent() is not None and el.getparent().tag in ("ol", "ul") else el
    for anc in el.iterancestors():
        if anc.tag in ("body", "html", "main") or len(anc.text_content()) > budget:
            break
        label = _attr(anc, "id") + " " + _attr(anc, "class")
        if _SECTION_RE.search(label) and not _NOT_SECTION_RE.search(label):
            best = anc
    return best
