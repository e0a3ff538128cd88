"""Pages parsed into lxml trees, the same way in every stage, with lxml's C-level element lookup.

lxml.html's parsers choose each element's Python class with a Python callback (forms, inputs,
selects and labels get classes of their own), run whenever Python code first touches an element.
Nothing in this project or in trafilatura uses those classes, and on the bench pages the callback
took about 8% of the time of comments, cleanup and extraction together. The parsers here give every
element the plain ``HtmlElement`` class (C-level ``ElementDefaultClassLookup``); the trees are
otherwise the same, down to the serialized markup.
"""

from __future__ import annotations

import lxml.html
from lxml import etree
from trafilatura.utils import is_dubious_html, repair_faulty_html

__all__ = ["HTML_PARSER", "PAGE_PARSER", "html_parser", "parse_page"]

_PLAIN_CLASSES = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def html_parser(**options: bool | str) -> lxml.html.HTMLParser:
    """An ``lxml.html.HTMLParser`` with ``options`` whose elements are all plain ``HtmlElement``s."""
    parser = lxml.html.HTMLParser(**options)
    parser.set_element_class_lookup(_PLAIN_CLASSES)
    return parser


# lxml.html's default options (HTML comments kept): the comments stage's pages and fragments.
HTML_PARSER = html_parser()
# trafilatura.utils.HTML_PARSER's options: comments and processing instructions dropped.
PAGE_PARSER = html_parser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                          remove_pis=True)


def _from_bytes(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.fromstring(html.encode("utf8", "surrogatepass"), parser=PAGE_PARSER)
    except (etree.ParserError, ValueError):
        return None


def parse_page(html: str) -> lxml.html.HtmlElement | None:
    """A decoded page parsed as ``trafilatura.utils.load_html`` parses it, or None if it is not HTML.

    The same repairs, fallback to bytes and rejection of markup-less text as trafilatura's, which
    takes the tree as it is (``load_html`` returns a tree it is given unchanged).
    """
    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    tree, from_bytes = None, False
    try:
        tree = lxml.html.fromstring(html, parser=PAGE_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported"
        tree, from_bytes = _from_bytes(html), True
    except etree.ParserError:
        tree = None
    if (tree is None or len(tree) < 1) and not from_bytes:
        tree = _from_bytes(html)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None
    return tree
