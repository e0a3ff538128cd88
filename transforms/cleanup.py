"""Page cleanup around trafilatura: prune widgets and comments before it, drop leftover chrome after it.

Before extraction (``prune_page``) works on the parsed page: comment sections go (the comments
helper's ``comment_section_nodes`` plus the common embed containers), and so do inline widgets
(related/trending link blocks, newsletter and donation appeals, share bars, tag lists, author bio
boxes). A widget is removed only when its markup names it *and* its content agrees: mostly links,
short, or worded like chrome; never when it holds a large share of the page's text or the headline.

After extraction (``clean_blocks``) works on trafilatura's XML body, extracted with links kept so
link density is still known: it drops the headline repeated as the first line, link lists and
stand-alone teaser links, short blocks worded as chrome (appeals, "Read more:", commenting notices,
tag lines, copyright lines), author bios at the end, and second copies of a block (captions).

Everything here is generic: vocabularies of widget words and phrases in several languages, never
one site's class names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import lxml.html
from lxml import etree

__all__ = ["WIDGET_MARKUP", "block_is_chrome", "chrome_wording", "clean_blocks", "dedupe_lines", "labelled_elements",
           "link_shares", "normalize_line", "prune_comments", "prune_page", "prune_widgets", "widget_kind"]

# Class/id words that name a widget, by kind. Matched at a token start, so "relatedPosts",
# "share-bar" and "post-tags" match, but WordPress' "tag-politics" article class does not.
WIDGET_MARKUP: dict[str, str] = {
    "related": r"related|more-?stories|more-?from|more-?news|recommend|read-?more|also-?read|see-?also|"
               r"further-?reading|outbrain|taboola|you-?may|popular|most-?(?:read|viewed|shared)|trending|"
               r"top-?stories|latest-?(?:news|stories|articles)|next-?article|more-?articles",
    "newsletter": r"newsletter|subscri|sign-?up|opt-?in|mailing-?list|inline-?signup",
    "donation": r"donat|support-?us|contribut(?:e|ion)|membership-?(?:ask|appeal|cta)",
    "share": r"share|sharing|social|addthis|follow-?us",
    "tags": r"tags|tag-?list|tag-?cloud|keywords|topic-?list|article-?topics|post-?categories|breadcrumb",
    "bio": r"author-?bio|authorbio|author-?box|about-?(?:the-?)?author|author-?info|author-?card|bio-?box|"
           r"contributor-?bio|byline-?bio",
}
_WIDGET_RE = re.compile(
    r"(?:^|[\s_-])(?:" + "|".join(f"(?P<{kind}>{words})" for kind, words in WIDGET_MARKUP.items()) + ")",
    re.IGNORECASE,
)
# One union of attribute tests: half the time of testing every element's concatenated attributes.
_MAY_HAVE_COMMENTS = etree.XPath(
    "boolean(" + " | ".join(f"//body//*/@{name}[contains(translate(., 'COMENT', 'coment'), 'comment')]"
                            for name in ("id", "class", "name")) + " | //body//*/@itemtype[contains(., 'Comment')])"
)
# Class/id words that name reader comments, in several languages (token start; "commentary" is opinion
# journalism, not comments). Matched inside the XPath run like the widget words.
COMMENT_MARKUP = (r"comment(?!ary|aries)|kommentar|commentaire|comentario|commento|commenti|komentar|reactie|"
                  r"leserbrief|reader-?(?:comment|response)|discussion-?thread|respond(?![a-z])|disqus|"
                  r"coral(?:_thread|-)|viafoura|spot-?im|livefyre")
_COMMENT_PATTERN = "(^|[ _-])(" + COMMENT_MARKUP + ")"
_COMMENT_WORD_RE = re.compile(_COMMENT_PATTERN, re.IGNORECASE)
# Labels that flag the post's comment state ("has-comments", "comments-open"), on the article itself.
_COMMENT_STATE_RE = re.compile(r"(?:^|[\s_-])(?:(?:has|no|with)-comments?|comments?-(?:open|closed|enabled|disabled|on|off))"
                               r"(?=$|\s)", re.IGNORECASE)
# Candidates by XPath, the label test in Python: EXSLT re:test runs a Python callback per element anyway.
_WITH_LABEL = etree.XPath("//body//*[@class or @id]")
# Matched against the lower-cased label: re.IGNORECASE makes this alternation 3x slower, and it runs
# on every labelled element of every page (the vocabularies above are lower-case).
_LABEL_RE = re.compile("(^|[ _-])(" + "|".join([*WIDGET_MARKUP.values(), COMMENT_MARKUP]) + ")")
_HAS_H1 = etree.XPath("boolean(.//h1)")
# Markup that names the article body itself: a widget word next to it ("entry-content read-more") is a state.
_CONTENT_RE = re.compile(r"(?:^|[\s_-])(?:entry-?content|article-?(?:body|content|text)|story-?(?:body|content)|"
                         r"post-?(?:body|content)|main-?content|body-?text)(?:$|[\s_-])", re.IGNORECASE)
# Paragraphs of prose (30+ words) inside an element; link-list widgets have none.
_PROSE = etree.XPath("count(.//p[string-length(normalize-space()) > 180])")
# Comment systems whose containers may be empty hooks or server-rendered threads; their class/id
# names are among COMMENT_MARKUP, only Spot.IM's data attribute needs its own look-up.
_COMMENT_XPATH = etree.XPath("//*[@data-spotim-module]")

# Phrases that mark a short block as site chrome, not article prose (several languages). Matched on
# lower-cased text: with re.IGNORECASE every character costs a case-folding test (2.5x slower here).
_CHROME_WORDING = re.compile(
    r"^(?:read|see|also|more|related|trending|popular|recommended|most read|watch|listen|top stories|"
    r"lesen sie (?:auch|mehr)|mehr zum thema|zum artikel|auch interessant|das könnte sie|weiterlesen|"
    r"lire aussi|à lire aussi|voir aussi|leia (?:também|mais)|veja também|lee también|leer más|"
    r"leggi anche|filed under|tags?|topics?|keywords|schlagw[oö]rter|themen|categories|"
    r"photo|image|foto|bild)(?: \w+){0,2}\s*[:|>»]"
    r"|^(?:popular|trending|most read|related|recommended|more|latest) (?:on|from|in|at|stories|news)\b(?:\W+\w+){0,3}\W*$"
    r"|^(?:\d+\s+)?comments?\W*$|^\(?(?:additional )?(?:reporting|writing|editing) by\b|contributed to this report"
    r"|^with (?:files|reporting) from\b|^(?:source|quelle|fonte|fuente)\s*:"
    r"|\bfollow\b.{0,60}\bon (?:facebook|twitter|instagram|x|whatsapp|telegram)\b|\bshare (?:it|this) with\b"
    r"|(?:buy|purchase) (?:something|anything|a product) through|affiliate (?:link|commission)"
    r"|(?:earn|get|receive) (?:us )?(?:a )?(?:small )?(?:share of the sale|commission)"
    r"|^sign(?:ing)? up\b|sign up (?:for|to) (?:our|free|daily|weekly)|sign up (?:here|now|today)\b"
    r"|^subscribe\b|subscribe (?:now|today|here|to our)\b|newsletter|abonnieren|inscrivez|inscreva|suscr[ií]b"
    r"|iscriviti|\bdonate (?:now|today|here)\b|make a (?:one-off |monthly )?(?:donation|contribution)"
    r"|support (?:our|independent|quality|local) journalism|become a (?:member|supporter|subscriber)"
    r"|\b(?:share|teilen) (?:this|on|via|dieses|den artikel)|follow us\b|folgen sie uns|like us on facebook"
    r"|issues with commenting|commenting (?:guidelines|policy|system)"
    r"|comments? (?:are|is) (?:closed|moderated|disabled)|leave a (?:comment|reply)"
    r"|join the (?:conversation|discussion)|log ?in to (?:comment|reply)|kommentar(?:e|funktion)"
    r"|^(?:advertisement|anzeige|werbung|publicidade|publicité|sponsored|story continues below)\b"
    r"|^(?:©|\(c\)|copyright\b)|all rights reserved|alle rechte vorbehalten|tous droits réservés"
    r"|thanks? for (?:signing up|reading|subscribing)|click here|klicken sie hier|jetzt melden"
    r"|reading time|lesedauer|tempo de leitura|temps de lecture|min(?:ute)?s? read\b"
    r"|may be reached at|follow (?:him|her|them) on|you may also like|recommended (?:for you|videos)"
    r"|^more\b(?:\W+\w+){0,3} from\b(?:\W+\w+){0,3}\W*$|^loading\b.{0,30}(?:\.\.\.|…)\s*$"
    r"|^(?:write to|contact|e-?mail) (?:\w+ ){1,4}at \S+@\S+"
    # CJK sites: members-only/paywall prompts, "save article", "details here", editor and error-report tags.
    r"|会員(?:登録|限定|の方)|有料会員|記事保存|詳しくはこちら|こちら\W*$|责任编辑|纠错|무단\s?전재|재배포\s?금지"
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_BIO = re.compile(
    r"^(?:[A-Z][\w.'’-]+ ){1,3}(?:is|was|has been|ist|est|é|es) (?:a|an|the|ein|eine|un|une|uma|um|una)?\s?"
    r"(?:[\w’'-]+ ){0,6}(?:reporter|writer|correspondent|editor|journalist|columnist|contributor|author|"
    r"curator|producer|critic|analyst|Redakteur|Autor|Korrespondent|journaliste|jornalista|periodista)",
    re.UNICODE,
)
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_CHROME_MAX_WORDS = 35
_BIO_MAX_WORDS = 80


@lru_cache(maxsize=4096)  # lead, cleanup and boilerplate each key the same paragraphs of a page
def normalize_line(text: str) -> str:
    """A paragraph's comparison key: case, accents-as-typed, punctuation and spacing folded."""
    return _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def chrome_wording(text: str) -> bool:
    """Whether a text is worded as site chrome ("Read more:", "Sign up for our newsletter", "© 2024 ...")."""
    return bool(_CHROME_WORDING.search(text.lower()))


def _words(text: str) -> int:
    return len(text.split())


def _link_chars(el: lxml.html.HtmlElement, tag: str = "a") -> int:
    return sum(len(a.text_content() if hasattr(a, "text_content") else "".join(a.itertext())) for a in el.iter(tag))


def _outermost(nodes: Iterable[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    chosen = list(dict.fromkeys(nodes))
    ids = {id(n) for n in chosen}
    return [n for n in chosen if not any(id(a) in ids for a in n.iterancestors())]


def _remove(el: lxml.html.HtmlElement) -> None:
    """Drop an element but keep its tail text, which belongs to the parent."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _comment_section_nodes(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    if not _MAY_HAVE_COMMENTS(tree):
        return []  # the item scan is costly; a page without any comment marker has no thread
    try:  # the comments package finds threads by their items; fall back to container names alone
        from transforms.comments import comment_section_nodes
    except ImportError:  # pragma: no cover - only when the comments package is absent
        return []
    return list(comment_section_nodes(tree))


def _labelled_comment_nodes(labelled: Iterable[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """Elements whose class/id names reader comments (any of several languages), not a state flag on the post."""
    return [el for el in labelled
            if not _CONTENT_RE.search(_label(el)) and _COMMENT_WORD_RE.search(_COMMENT_STATE_RE.sub("", _label(el)))]


def _remove_comment_nodes(nodes: Iterable[lxml.html.HtmlElement], page_words: int) -> list[lxml.html.HtmlElement]:
    removed = []
    for node in _outermost(nodes):
        if node.tag in ("html", "body") or _HAS_H1(node):
            continue
        if page_words and _words(node.text_content()) > 0.6 * page_words:
            continue  # a container this large is the page, not its comments
        _remove(node)
        removed.append(node)
    return removed


def _prune_comments(tree: lxml.html.HtmlElement, page_words: int,
                    labelled: list[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    removed = _remove_comment_nodes([*_COMMENT_XPATH(tree), *_labelled_comment_nodes(labelled)], page_words)
    # Threads whose markup names no comment are found by their items (the comments package); that scan
    # is costly, so it runs only when comment markers are left after the named containers went.
    return removed + _remove_comment_nodes(_comment_section_nodes(tree), page_words)


def prune_comments(tree: lxml.html.HtmlElement, page_words: int) -> int:
    """Remove comment threads, comment forms and comment-system containers; returns how many."""
    return len(_prune_comments(tree, page_words, labelled_elements(tree)))


def labelled_elements(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Elements whose class/id holds a widget or comment word (at a token start), in document order."""
    return [el for el in _WITH_LABEL(tree) if _LABEL_RE.search(_label(el).lower())]


def _label(el: lxml.html.HtmlElement) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}"


def widget_kind(el: lxml.html.HtmlElement) -> str | None:
    """The widget kind an element's class/id names (``related``, ``share``, ...), if any."""
    match = _WIDGET_RE.search(_label(el))
    return match.lastgroup if match else None


def _is_widget(el: lxml.html.HtmlElement, page_words: int) -> bool:
    """Markup said widget; the content must agree: little text, mostly links, or chrome wording."""
    if el.tag in ("html", "body", "main", "h1") or _HAS_H1(el) or _CONTENT_RE.search(_label(el)):
        return False
    if _PROSE(el) >= 2:
        return False  # two real paragraphs: article text that merely sits in a "read more" box
    text = el.text_content()
    words = _words(text)
    if words == 0:
        return False  # nothing to gain, and removing icon bars can change trafilatura's choice of body
    if page_words and words > 0.25 * page_words:
        return False
    density = _link_chars(el) / max(1, len(text.strip()))
    return density >= 0.35 or words <= 60 or chrome_wording(text)


def _prune_widgets(page_words: int, labelled: list[lxml.html.HtmlElement],
                   removed: list[lxml.html.HtmlElement]) -> int:
    candidates = [el for el in labelled if widget_kind(el)]
    gone = {id(el) for el in removed}
    count = 0
    for el in _outermost([*removed, *candidates]):  # inside a removed comment thread: already gone
        if id(el) not in gone and _is_widget(el, page_words):
            _remove(el)
            count += 1
    return count


def prune_widgets(tree: lxml.html.HtmlElement, page_words: int) -> int:
    """Remove inline widgets named by their markup and confirmed by their content; returns how many."""
    return _prune_widgets(page_words, labelled_elements(tree), [])


def prune_page(tree: lxml.html.HtmlElement) -> int:
    """Pre-extraction cleanup of a parsed page, in place: comments, then widgets. Returns nodes removed."""
    body = tree.find("body")
    page_words = _words(body.text_content()) if body is not None else 0
    labelled = labelled_elements(tree)  # one scan of the page's class/id labels serves both passes
    removed = _prune_comments(tree, page_words, labelled)
    return len(removed) + _prune_widgets(page_words, labelled, removed)


# ---- after trafilatura: its XML body (p, head, list/item, quote, table); links are gone there ----

# Text blocks holding a link: the others have no linked text (share 0, the default of the look-up).
_BLOCKS = etree.XPath("//body//*[self::p or self::li or self::h2 or self::h3 or self::h4 or self::h5 or self::h6"
                      " or self::dd or self::figcaption or (self::div and not(.//div or .//p))][.//a]")


def link_shares(tree: lxml.html.HtmlElement) -> dict[str, float]:
    """Share of linked text of each text block, by ``normalize_line`` key, read before extraction.

    trafilatura's output keeps no links unless asked, and asking for them changes what it keeps,
    so the link density of an extracted block is looked up here by its text.
    """
    shares: dict[str, float] = {}
    for el in _BLOCKS(tree):
        text = el.text_content()
        key = normalize_line(text)
        if key and key not in shares:
            shares[key] = _link_chars(el) / max(1, len(text.strip()))
    return shares


def _text(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _share(text: str, shares: Mapping[str, float]) -> float:
    return shares.get(normalize_line(text), 0.0)


def _is_link_list(el: etree._Element, shares: Mapping[str, float]) -> bool:
    items = [_text(item) for item in el.iter("item")]
    if not items:
        return False
    linked = sum(1 for item in items if _share(item, shares) >= 0.3)
    return linked >= 0.7 * len(items) and sum(_words(i) for i in items) / len(items) <= 30


def _block_words(text: str) -> int:
    """Words of a block; CJK text has no spaces, so two of its characters count as one word."""
    return _words(text) + len(_CJK.findall(text)) // 2


def block_is_chrome(text: str, *, link_share: float = 0.0, at_end: bool = False) -> bool:
    """Whether one extracted block reads as site chrome rather than article prose."""
    words = _block_words(text)
    if words == 0:
        return True
    if words <= _CHROME_MAX_WORDS and chrome_wording(text):
        return True
    if link_share >= 0.8 and words <= 25:
        return True  # a stand-alone teaser link ("Video shows ...") between paragraphs
    return at_end and words <= _BIO_MAX_WORDS and bool(_BIO.match(text))


def _title_repeat(text: str, title: str | None) -> bool:
    return bool(title) and normalize_line(text) == normalize_line(title or "")


def clean_blocks(body: etree._Element, *, title: str | None = None, shares: Mapping[str, float] | None = None) -> int:
    """Drop chrome blocks from trafilatura's XML body, in place; returns how many were dropped.

    Args:
        body: trafilatura's ``Document.body``.
        title: the article's title, whose repetition at the top is dropped.
        shares: ``link_shares`` of the page, read before extraction.
    """
    shares = shares or {}
    blocks = [el for el in body if isinstance(el.tag, str)]
    seen: set[str] = set()
    dropped = 0
    for position, el in enumerate(blocks):
        text = _text(el)
        key = normalize_line(text)
        at_end = position >= len(blocks) - 5
        drop = (
            (position < 3 and _title_repeat(text, title))
            or (el.tag == "list" and _is_link_list(el, shares))
            or (el.tag != "table" and block_is_chrome(text, link_share=_share(text, shares), at_end=at_end))
            or (bool(key) and key in seen)  # second copy of a caption or pull quote
        )
        seen.add(key)
        if drop:
            _remove(el)
            dropped += 1
    return dropped


def dedupe_lines(lines: Iterable[str]) -> list[str]:
    """Keep the first copy of each line (compared by ``normalize_line``) and drop empty ones."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = normalize_line(line)
        if key and key not in seen:
            seen.add(key)
            kept.append(line)
    return kept
