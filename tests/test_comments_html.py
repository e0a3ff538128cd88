"""Inline comment parsers: WordPress, Drupal, Blogger, generic lists, "Name says:", microdata, JSON-LD."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest

from transforms.comments import comment_section_nodes, parse_inline_comments

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://blog.example.org/2024/04/post/"


def _wp_item(cid: int, author: str, when: str, body: str, children: str = "") -> str:
    kids = f'<ol class="children">{children}</ol>' if children else ""
    return f"""
<li id="comment-{cid}" class="comment even depth-1">
  <article id="div-comment-{cid}" class="comment-body">
    <footer class="comment-meta">
      <div class="comment-author vcard"><img class="avatar" src="a.png" alt="">
        <b class="fn"><a href="https://{author.lower()}.example" class="url">{author}</a></b>
        <span class="says">says:</span></div>
      <div class="comment-metadata"><a href="{URL}#comment-{cid}"><time datetime="{when}">April 28, 2024</time></a></div>
    </footer>
    <div class="comment-content">{body}</div>
    <div class="reply"><a class="comment-reply-link" href="?replytocom={cid}#respond">Reply</a></div>
  </article>{kids}
</li>"""


WORDPRESS = f"""<html><head><title>Post</title></head><body>
<article class="post"><div class="entry-content"><p>The article body about trams.</p></div></article>
<div id="comments" class="comments-area"><h2>3 thoughts on Post</h2>
<ol class="comment-list">
{_wp_item(11, "Ann", "2024-04-28T10:17:42+02:00", "<p>First paragraph.</p><p>Second paragraph.</p>",
          _wp_item(12, "Bob", "2024-04-28T11:00:00+02:00", "<p>A reply.</p>",
                   _wp_item(13, "Cy", "2024-04-28T12:00:00+02:00",
                            "<blockquote><p>A reply.</p></blockquote><p>Answer to the answer.</p>")))}
{_wp_item(14, "Dee", "2024-04-29T08:00:00Z", "<p>Second thread.</p>")}
</ol>
<div id="respond" class="comment-respond"><h3>Leave a Reply</h3><form action="/wp-comments-post.php">
<textarea name="comment"></textarea></form></div>
</div></body></html>"""

DRUPAL = """<html><body><div class="node"><p>Story text.</p></div>
<div id="comments"><h2>Comments</h2>
<a id="comment-501"></a>
<div class="comment comment-by-anonymous odd clearfix"><div class="comment-content"><div class="content">
  <h3 class="name"><span class="username">Anonymous</span></h3>
  <div class="field-comment-body text-area"><p>Top level on Drupal.</p></div></div></div>
  <div class="meta"><ul class="links inline"><li class="comment-reply first"><a href="/comment/reply/1/501">reply</a></li>
  <li class="date"><span>April 5, 2018</span></li><li class="time last"><span>6:32 PM</span></li></ul></div></div>
<div class="indented">
<a id="comment-502"></a>
<div class="comment even clearfix"><div class="comment-content"><div class="content">
  <h3 class="name"><span class="username">Lars</span></h3>
  <div class="field-comment-body text-area"><p>Drupal reply.</p></div></div></div>
  <div class="meta"><ul class="links inline"><li class="date"><span>April 6, 2018</span></li>
  <li class="time last"><span>2:20 AM</span></li></ul></div></div>
</div></div></body></html>"""

BLOGGER = """<html><body><div class="post-body"><p>Blog post.</p></div>
<div id="comment-holder"><div class="comment-thread toplevel-thread"><ol id="top-ra">
<li class="comment" id="c7704569152969066600"><div class="avatar-image-container"><img src="x.jpg"/></div>
<div class="comment-block"><div class="comment-header"><cite class="user">
<a href="https://www.blogger.com/profile/1" rel="nofollow">Iwona</a></cite>
<span class="datetime secondary-text"><a href="https://x.blogspot.com/p.html?showComment=1559192764955#c7704569152969066600">May 30, 2019 at 1:06 PM</a></span></div>
<p class="comment-content">Interesting place :)</p>
<span class="comment-actions secondary-text"><a class="comment-reply" data-comment-id="7704569152969066600">Reply</a></span></div>
<div class="comment-replies"><div class="comment-thread inline-thread"><ol class="thread-chrome">
<li class="comment" id="c8804569152969066600"><div class="comment-block"><div class="comment-header"><cite class="user">Author</cite>
<span class="datetime secondary-text"><a href="https://x.blogspot.com/p.html?showComment=1559200000000#c8804569152969066600">May 30, 2019</a></span></div>
<p class="comment-content">Thank you!</p></div></li></ol></div></div>
</li></ol></div></div></body></html>"""

GENERIC = """<html><body><main><p>Article.</p></main>
<section class="user-comments"><ul>
<li class="comment-item"><span class="comment-name">Pat</span><span class="comment-date">2023-02-01 10:00</span>
<div class="comment-text">Generic layout comment.</div></li>
<li class="comment-item"><span class="comment-name">Quin</span><span class="comment-date">2023-02-02 11:30</span>
<div class="comment-text">Another one.<br>With a second line.</div></li>
</ul></section></body></html>"""

SAYS = """<html><body><div class="story"><p>Story.</p></div>
<div id="kommentare"><ol>
<li><strong>Greta</strong> sagt:<br/><small>23.05.2019 - 09:05</small><p>Sehr schön geschrieben.</p></li>
<li><strong>Hans</strong> sagt:<br/><small>24.05.2019 - 10:15</small><p>Finde ich auch.</p></li>
</ol></div></body></html>"""

MICRODATA = """<html><body><article><p>Body.</p>
<div class="discussion">
<div itemprop="comment" itemscope itemtype="https://schema.org/Comment" id="comment-71">
  <span itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Mia</span></span>
  <meta itemprop="dateCreated" content="2022-03-04T05:06:07Z">
  <div itemprop="text"><p>Microdata comment.</p></div>
  <div itemprop="comment" itemscope itemtype="https://schema.org/Comment" id="comment-72">
    <span itemprop="author">Noa</span><meta itemprop="dateCreated" content="2022-03-04T06:00:00Z">
    <div itemprop="text">Microdata reply.</div></div>
</div></div></article></body></html>"""

JSONLD = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "H",
 "comment": [
  {"@type": "Comment", "@id": "https://news.example/a#comment-5", "author": {"@type": "Person", "name": "Lee",
   "url": "https://lee.example"}, "dateCreated": "2021-06-01T08:00:00+01:00", "text": "<p>LD top.</p>",
   "comment": [{"@type": "Comment", "author": "Max", "dateCreated": "2021-06-01T09:00:00Z", "text": "LD nested."}]},
  {"@type": "Comment", "url": "https://news.example/a#comment-7", "author": {"name": "Kim"},
   "parentItem": {"@id": "https://news.example/a#comment-5"}, "text": "LD flat reply."}
 ]}
</script></head><body><p>Article.</p></body></html>"""


def _parse(html: str) -> list:
    return list(parse_inline_comments(html, page_url=URL, article_id="art-1", fetched_at=FETCHED))


def test_wordpress_nested_three_levels() -> None:
    comments = _parse(WORDPRESS)
    assert [c.author for c in comments] == ["Ann", "Bob", "Cy", "Dee"]
    ann, bob, cy, dee = comments
    assert [c.depth for c in comments] == [0, 1, 2, 0]
    assert (bob.parent_id, cy.parent_id, ann.parent_id, dee.parent_id) == (ann.comment_id, bob.comment_id, None, None)
    assert ann.text == "First paragraph.\n\nSecond paragraph."
    assert cy.text == "> A reply.\n\nAnswer to the answer."
    assert ann.published_at == datetime(2024, 4, 28, 8, 17, 42, tzinfo=UTC)
    assert ann.author_url == "https://ann.example"
    assert all(c.origin == "html" and c.article_id == "art-1" and c.article_url == URL for c in comments)
    assert not any("Reply" in c.text or "says" in c.text for c in comments)


def test_drupal_indented_replies_and_split_date() -> None:
    top, reply = _parse(DRUPAL)
    assert (top.author, top.text, top.depth) == ("Anonymous", "Top level on Drupal.", 0)
    assert (reply.author, reply.text, reply.parent_id, reply.depth) == ("Lars", "Drupal reply.", top.comment_id, 1)
    assert top.published_at == datetime(2018, 4, 5, 18, 32, tzinfo=UTC)


def test_blogger_thread_and_millisecond_times() -> None:
    top, reply = _parse(BLOGGER)
    assert (top.author, top.text) == ("Iwona", "Interesting place :)")
    assert top.author_url == "https://www.blogger.com/profile/1"
    assert top.published_at == datetime(2019, 5, 30, 5, 6, 4, 955000, tzinfo=UTC)
    assert (reply.author, reply.text, reply.parent_id) == ("Author", "Thank you!", top.comment_id)


def test_generic_comment_class_list() -> None:
    pat, quin = _parse(GENERIC)
    assert (pat.author, pat.text, pat.published_at) == (
        "Pat", "Generic layout comment.", datetime(2023, 2, 1, 10, 0, tzinfo=UTC))
    assert quin.text == "Another one.\nWith a second line."


def test_name_says_pattern() -> None:
    greta, hans = _parse(SAYS)
    assert (greta.author, greta.text) == ("Greta", "Sehr schön geschrieben.")
    assert greta.published_at == datetime(2019, 5, 23, 9, 5, tzinfo=UTC)
    assert (hans.author, hans.text) == ("Hans", "Finde ich auch.")


def test_microdata_comments() -> None:
    mia, noa = _parse(MICRODATA)
    assert (mia.author, mia.text, mia.published_at) == ("Mia", "Microdata comment.",
                                                         datetime(2022, 3, 4, 5, 6, 7, tzinfo=UTC))
    assert (noa.author, noa.text, noa.parent_id, noa.depth) == ("Noa", "Microdata reply.", mia.comment_id, 1)


def test_jsonld_nested_and_parent_item() -> None:
    lee, max_, kim = _parse(JSONLD)
    assert {c.origin for c in (lee, max_, kim)} == {"jsonld"}
    assert (lee.author, lee.author_url, lee.text) == ("Lee", "https://lee.example", "LD top.")
    assert lee.published_at == datetime(2021, 6, 1, 7, 0, tzinfo=UTC)
    assert (max_.parent_id, kim.parent_id, kim.depth) == (lee.comment_id, lee.comment_id, 1)


def test_html_and_jsonld_of_the_same_comment_are_one_row() -> None:
    page = WORDPRESS.replace("</head>", """<script type="application/ld+json">
      {"@type": "Comment", "url": "https://blog.example.org/2024/04/post/#comment-14", "text": "Second thread.",
       "author": {"name": "Dee"}}</script></head>""")
    comments = _parse(page)
    assert len(comments) == 4
    assert [c.origin for c in comments if c.author == "Dee"] == ["html"]


def test_ids_are_stable_and_article_scoped() -> None:
    first, second = _parse(WORDPRESS), _parse(WORDPRESS)
    assert [c.comment_id for c in first] == [c.comment_id for c in second]
    other = parse_inline_comments(WORDPRESS, page_url=URL, article_id="art-2", fetched_at=FETCHED)
    assert not {c.comment_id for c in first} & {c.comment_id for c in other}


def test_page_without_comments() -> None:
    assert _parse("<html><body><article><p>Just an article with a comment-free body.</p></article></body></html>") == []


def test_recent_comments_widget_is_not_a_thread() -> None:
    page = """<html><body><p>Post.</p><aside id="sidebar"><ul id="recentcomments">
      <li class="recentcomments"><span class="comment-author-link">Zed</span> on <a href="/p#comment-9">Post</a></li>
      <li class="comment" id="comment-9">Zed on Post</li></ul></aside></body></html>"""
    assert _parse(page) == []


@pytest.mark.parametrize("page", [WORDPRESS, DRUPAL, BLOGGER, GENERIC, SAYS], ids=["wp", "drupal", "blogger",
                                                                                 "generic", "says"])
def test_comment_section_nodes_remove_all_comment_text(page: str) -> None:
    tree = lxml.html.document_fromstring(page)
    comments = _parse(page)
    sections = comment_section_nodes(tree)
    assert sections
    for node in sections:
        node.drop_tree()
    remaining = tree.text_content()
    assert not any(c.text.split("\n")[0].lstrip("> ") in remaining for c in comments)
    assert "Leave a Reply" not in remaining
    body = {"wp": "trams", "drupal": "Story text", "blogger": "Blog post", "generic": "Article.", "says": "Story."}
    assert any(text in remaining for text in body.values())
