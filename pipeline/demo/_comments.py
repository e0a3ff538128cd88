"""Everything the demo site says about comments, in each system's own markup or wire format.

Inline WordPress threads, a generic "Name says:" list, schema.org ``Comment`` JSON-LD, Disqus and
Facebook embeds, per-post RSS comment feeds (one paginated), the WordPress REST fixture and the
Disqus API fixture are all rendered from the same ``CommentSpec`` list, so their ids agree.
"""

# HTML/XML template lines are kept whole so the markup stays readable.
# ruff: noqa: E501

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from pipeline.demo._content import ArticleSpec, CommentSpec, SiteSpec

__all__ = [
    "FEED_PAGE_SIZE",
    "comment_feed_pages",
    "comments_jsonld",
    "disqus_fixture",
    "render_comment_section",
    "wp_rest_fixture",
]

B = "{{BASE_URL}}"
FEED_PAGE_SIZE = 10
DISQUS_THREAD_ID = "7781234567"


def e(text: str) -> str:
    return html.escape(text, quote=True)


def _paras(text: str) -> str:
    return "".join(f"<p>{e(p.strip())}</p>" for p in text.split("\n\n"))


def _wp_date(dt: datetime) -> str:
    hour = dt.hour % 12 or 12
    return f"{dt:%B} {dt.day}, {dt.year} at {hour}:{dt:%M} {'am' if dt.hour < 12 else 'pm'}"


def _local(c: CommentSpec, art: ArticleSpec) -> datetime:
    """Comment time in the site's local offset, as WordPress prints it."""
    return c.at.astimezone(art.published.tzinfo)


def _children(comments: tuple[CommentSpec, ...], parent: int | None) -> list[CommentSpec]:
    return [c for c in comments if c.parent == parent]


def _wp_item(art: ArticleSpec, comments: tuple[CommentSpec, ...], c: CommentSpec, n: int) -> str:
    kids = _children(comments, c.id)
    name = (f'<a href="{e(c.url)}" class="url" rel="ugc external nofollow">{e(c.author)}</a>'
            if c.url else e(c.author))
    parity = "even" if n % 2 == 0 else "odd"
    when = _local(c, art)
    inner = "".join(_wp_item(art, comments, k, n + i + 1) for i, k in enumerate(kids))
    children = f'<ol class="children">{inner}</ol>' if kids else ""
    return f"""<li id="comment-{c.id}" class="comment {parity} depth-{c.depth}{' parent' if kids else ''}">
<article id="div-comment-{c.id}" class="comment-body">
<footer class="comment-meta"><div class="comment-author vcard"><img alt="" src="{B}/static/avatar.png" class="avatar avatar-56 photo" height="56" width="56"><b class="fn">{name}</b> <span class="says">says:</span></div>
<div class="comment-metadata"><a href="{B}{art.path}#comment-{c.id}"><time datetime="{when.isoformat()}">{_wp_date(when)}</time></a></div></footer>
<div class="comment-content">{_paras(c.text)}</div>
<div class="reply"><a rel="nofollow" class="comment-reply-link" href="#comment-{c.id}" data-commentid="{c.id}" data-postid="{art.wp_id}" data-belowelement="div-comment-{c.id}" data-respondelement="respond" aria-label="Reply to {e(c.author)}">Reply</a></div>
</article>{children}
</li>"""


def _respond(art: ArticleSpec) -> str:
    return f"""<div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">Leave a Reply <small><a rel="nofollow" id="cancel-comment-reply-link" href="#respond" style="display:none;">Cancel reply</a></small></h3>
<form action="{B}/wp-comments-post.php" method="post" id="commentform" class="comment-form"><p class="comment-notes"><span id="email-notes">Your email address will not be published.</span> Required fields are marked <span class="required">*</span></p>
<p class="comment-form-comment"><label for="comment">Comment <span class="required">*</span></label> <textarea id="comment" name="comment" cols="45" rows="8" maxlength="65525" required></textarea></p>
<p class="comment-form-author"><label for="author">Name <span class="required">*</span></label> <input id="author" name="author" type="text" size="30" maxlength="245" required></p>
<p class="comment-form-email"><label for="email">Email <span class="required">*</span></label> <input id="email" name="email" type="email" size="30" maxlength="100" required></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" value="Post Comment"><input type="hidden" name="comment_post_ID" value="{art.wp_id}" id="comment_post_ID"><input type="hidden" name="comment_parent" id="comment_parent" value="0"></p></form></div>"""


def _wp_section(site: SiteSpec, art: ArticleSpec) -> str:
    shown = art.html_comments
    items = "".join(_wp_item(art, shown, c, i) for i, c in enumerate(_children(shown, None)))
    older = ""
    if len(shown) < len(art.comments) and art.wp_rest:
        older = (f'<nav class="navigation comment-navigation" aria-label="Comments"><div class="nav-previous">'
                 f'<a href="{B}{art.path.removesuffix(".html")}/comment-page-2/#comments">Older comments</a></div></nav>')
    count = len(art.comments) if art.wp_rest else len(shown)
    return f"""<div id="comments" class="comments-area">
<h2 class="comments-title">{count} thoughts on &ldquo;{e(art.title)}&rdquo;</h2>
<p class="comment-help">{e(site.commenting_help)}</p>
<ol class="comment-list">{items}</ol>
{older}
{_respond(art)}
</div>"""


def _generic_item(art: ArticleSpec, c: CommentSpec) -> str:
    kids = _children(art.comments, c.id)
    replies = "".join(_generic_item(art, k) for k in kids)
    replies = f'<div class="comment-replies">{replies}</div>' if kids else ""
    when = _local(c, art)
    return (f'<div class="comment" id="c-{c.id}"><div class="comment-header"><span class="name">'
            f'{e(c.author)}</span> says:</div><div class="comment-date">{_wp_date(when)}</div>'
            f'<div class="comment-body">{_paras(c.text)}</div>{replies}</div>')


def _generic_section(site: SiteSpec, art: ArticleSpec) -> str:
    items = "".join(_generic_item(art, c) for c in _children(art.comments, None))
    return f"""<section class="comment-section" id="comment-section"><h2>Reader comments ({len(art.comments)})</h2>
<div class="comments">{items}</div>
<p class="comment-help">{e(site.commenting_help)}</p>
<form class="comment-form" action="{B}/comment/reply" method="post"><label>Your name <input name="name"></label><label>Comment <textarea name="comment_body"></textarea></label><button>Post</button></form>
</section>"""


def _jsonld_section(site: SiteSpec, art: ArticleSpec) -> str:
    return f"""<section class="discussion" id="discussion"><h2>Conversation</h2>
<div class="discussion__widget" data-thread="{art.wp_id}" data-source="json-ld">Loading comments&hellip;</div>
<p class="comment-help">{e(site.commenting_help)}</p>
</section>"""


def _disqus_section(site: SiteSpec, art: ArticleSpec) -> str:
    return f"""<section class="discussion" id="discussion"><h2>Comments</h2>
<p class="comment-help">{e(site.commenting_help)}</p>
<div id="disqus_thread"></div>
<script>
var disqus_config = function () {{
  this.page.url = '{B}{art.path}';
  this.page.identifier = '{art.disqus_ident}';
  this.page.title = {json.dumps(art.title)};
}};
(function() {{
  var d = document, s = d.createElement('script');
  s.src = 'https://{site.disqus_forum}.disqus.com/embed.js';
  s.setAttribute('data-timestamp', +new Date());
  (d.head || d.body).appendChild(s);
}})();
</script>
<noscript>Please enable JavaScript to view the <a href="https://disqus.com/?ref_noscript">comments powered by Disqus.</a></noscript>
</section>"""


def _facebook_section(site: SiteSpec, art: ArticleSpec) -> str:
    return f"""<section class="comments-fb" id="comments"><h2>Join the discussion</h2>
<p class="comment-help">{e(site.commenting_help)}</p>
<div id="fb-root"></div>
<script async defer crossorigin="anonymous" src="https://connect.facebook.net/en_GB/sdk.js#xfbml=1&amp;version=v19.0"></script>
<div class="fb-comments" data-href="{B}{art.path}" data-width="100%" data-numposts="10"></div>
</section>"""


def render_comment_section(site: SiteSpec, art: ArticleSpec) -> str:
    """The comment area of an article page, in the markup of its comment system."""
    renderers = {"wp": _wp_section, "generic": _generic_section, "jsonld": _jsonld_section,
                 "disqus": _disqus_section, "facebook": _facebook_section}
    render = renderers.get(art.comment_system)
    return render(site, art) if render else ""


def comments_jsonld(art: ArticleSpec) -> list[dict[str, Any]] | None:
    """schema.org ``Comment`` objects for the article that publishes its thread as JSON-LD."""
    if art.comment_system != "jsonld":
        return None
    out = []
    for c in art.comments:
        item: dict[str, Any] = {
            "@type": "Comment", "@id": f"{B}{art.path}#comment-{c.id}",
            "author": {"@type": "Person", "name": c.author, **({"url": c.url} if c.url else {})},
            "dateCreated": c.at.isoformat(), "text": c.text,
        }
        if c.parent:
            item["parentItem"] = {"@type": "Comment", "@id": f"{B}{art.path}#comment-{c.parent}"}
        out.append(item)
    return out


def _rfc822(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def _feed_item(art: ArticleSpec, c: CommentSpec, by_id: dict[int, CommentSpec]) -> str:
    link = f"{B}{art.path}#comment-{c.id}"
    prefix_html = prefix_text = ""
    if c.parent:
        parent = by_id[c.parent]
        prefix_html = f'<p>In reply to <a href="{B}{art.path}#comment-{parent.id}">{e(parent.author)}</a>.</p>\n'
        prefix_text = f"In reply to {parent.author}.\n"
    return f"""<item>
<title>By: {e(c.author)}</title>
<link>{link}</link>
<dc:creator><![CDATA[{c.author}]]></dc:creator>
<pubDate>{_rfc822(c.at)}</pubDate>
<guid isPermaLink="false">{link}</guid>
<description><![CDATA[{prefix_text}{c.text}]]></description>
<content:encoded><![CDATA[{prefix_html}{_paras(c.text)}]]></content:encoded>
</item>"""


def comment_feed_pages(site: SiteSpec, art: ArticleSpec) -> list[str]:
    """The article's RSS comment feed, newest first, as one or more pages (``?paged=N``)."""
    comments = sorted(art.comments, key=lambda c: c.at, reverse=True)
    if art.comment_feed == "same":
        comments = [c for c in comments if c.in_html]
    size = FEED_PAGE_SIZE if art.comment_feed == "paged" else len(comments)
    chunks = [comments[i:i + size] for i in range(0, len(comments), size)]
    by_id = {c.id: c for c in art.comments}
    self_url = f"{B}/comments/{art.slug}.xml"
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        paging = [f'<atom:link href="{self_url}{"" if number == 1 else f"?paged={number}"}" rel="self" type="application/rss+xml"/>']
        if len(chunks) > 1:
            paging.append(f'<atom:link href="{self_url}" rel="first"/>')
        if number < len(chunks):
            paging.append(f'<atom:link href="{self_url}?paged={number + 1}" rel="next"/>')
        if number > 1:
            prev = self_url if number == 2 else f"{self_url}?paged={number - 1}"
            paging.append(f'<atom:link href="{prev}" rel="previous"/>')
        items = "\n".join(_feed_item(art, c, by_id) for c in chunk)
        pages.append(f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
<title>Comments on: {e(art.title)}</title>
{chr(10).join(paging)}
<link>{B}{art.path}</link>
<description>{e(site.tagline)}</description>
<lastBuildDate>{_rfc822(comments[0].at)}</lastBuildDate>
<sy:updatePeriod>hourly</sy:updatePeriod>
<sy:updateFrequency>1</sy:updateFrequency>
<generator>https://wordpress.org/?v=6.7.2</generator>
{items}
</channel>
</rss>
""")
    return pages


def wp_rest_fixture(art: ArticleSpec) -> str:
    """``wp/v2/comments`` objects for the article, in WordPress' default order (newest first)."""
    out = []
    for c in sorted(art.comments, key=lambda c: c.at, reverse=True):
        local = _local(c, art)
        out.append({
            "id": c.id, "post": art.wp_id, "parent": c.parent or 0, "author": 0,
            "author_name": c.author, "author_url": c.url,
            "date": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_gmt": c.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "content": {"rendered": _paras(c.text) + "\n"},
            "link": f"{B}{art.path}#comment-{c.id}", "status": "approved", "type": "comment",
            "author_avatar_urls": {"48": f"{B}/static/avatar.png"}, "meta": [],
        })
    return json.dumps(out, ensure_ascii=False, indent=1) + "\n"


def disqus_fixture(site: SiteSpec, art: ArticleSpec) -> str:
    """The thread and its posts in the shape of Disqus' ``threads/listPosts`` (newest first)."""
    posts = []
    for c in sorted(art.comments, key=lambda c: c.at, reverse=True):
        username = "".join(ch for ch in c.author.lower() if ch.isalnum())
        posts.append({
            "id": str(c.id), "parent": c.parent, "forum": site.disqus_forum, "thread": DISQUS_THREAD_ID,
            "author": {"name": c.author, "username": username, "isAnonymous": False,
                       "profileUrl": f"https://disqus.com/by/{username}/"},
            "createdAt": c.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "raw_message": c.text, "message": _paras(c.text),
            "isApproved": True, "isDeleted": False, "isSpam": False, "likes": 0, "dislikes": 0,
        })
    thread = {"id": DISQUS_THREAD_ID, "forum": site.disqus_forum, "identifiers": [art.disqus_ident],
              "link": f"{B}{art.path}", "title": art.title, "posts": len(posts)}
    return json.dumps({"thread": thread, "posts": posts}, ensure_ascii=False, indent=1) + "\n"
