"""The shared page parser builds trafilatura's tree, with plain element classes."""

from __future__ import annotations

import lxml.html
import pytest
from trafilatura.utils import load_html

from transforms.comments.html import parse_document
from transforms.htmltree import parse_page

PAGES = [
    "<html lang='en'><head><title>T</title></head><body><!-- note --><article><h1>Head</h1><p>One.</p>"
    "<form action='/comment'><input name='a'><select><option>x</option></select><label>L</label></form>"
    "</article></body></html>",
    "<?xml version='1.0' encoding='utf-8'?><html><body><p>Declared encoding in a str page.</p></body></html>",
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x"><html/>\n<body><p>Self-closed html tag.</p></body>',
    "\x00\x08<html><body><p>Control characters before the markup.</p></body></html>",
    "<p>A lone fragment</p>",
    "plain text, no markup at all",
    "",
]


@pytest.mark.parametrize("html", PAGES)
def test_parse_page_builds_the_tree_trafilatura_builds(html: str) -> None:
    ours, theirs = parse_page(html), load_html(html)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert lxml.html.tostring(ours) == lxml.html.tostring(theirs)


def test_every_element_is_a_plain_html_element() -> None:
    for tree in (parse_page(PAGES[0]), parse_document(PAGES[0])):
        assert tree is not None
        assert {type(el) for el in tree.iter() if isinstance(el.tag, str)} == {lxml.html.HtmlElement}
        assert tree.find(".//form").text_content() == "xL"  # the HtmlElement API stays
