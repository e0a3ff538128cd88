"""HTML templates of the demo site: three article layouts plus the non-article pages.

The site "went through a redesign", so the same chrome (nav, trending strip, share bar, appeals, tag
list, author bio, most-read rail, footer) appears under three different markups: a classic WordPress
theme, a 2024 BEM-style redesign and an older Drupal-style template for wire copy. Extraction
cleanup therefore cannot key on one class name.
"""

# HTML/XML template lines are kept whole so the markup stays readable.
# ruff: noqa: E501

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pipeline.demo._content import ArticleSpec, SiteSpec

__all__ = ["render_about", "render_article", "render_index", "render_tag_page", "tag_path"]

B = "{{BASE_URL}}"


def e(text: str) -> str:
    return html.escape(text, quote=True)


def tag_path(tag: str) -> str:
    return "/tag/" + tag.lower().replace(" ", "-").replace("'", "") + ".html"


def _url(path: str) -> str:
    return B + path


def _classic_date(dt: datetime) -> str:
    return f"{dt:%B} {dt.day}, {dt.year}"


def _modern_date(dt: datetime) -> str:
    hour = dt.hour % 12 or 12
    return f"{dt.day} {dt:%B %Y}, {hour}:{dt:%M}{'am' if dt.hour < 12 else 'pm'}"


def _drupal_date(dt: datetime) -> str:
    return f"{dt:%a, %m/%d/%Y - %H:%M}"


def _jsonld(site: SiteSpec, art: ArticleSpec, comments: list[dict[str, Any]] | None) -> str:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": _url(art.path)},
        "headline": art.title,
        "description": art.dek,
        "image": [_url(art.figure.src)],
        "datePublished": art.published.isoformat(),
        "dateModified": art.modified.isoformat(),
        "author": [
            {"@type": "Person", "name": a.name, "url": _url(f"/author/{a.key}/")} for a in art.authors
        ],
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": site.name,
            "logo": {"@type": "ImageObject", "url": _url("/static/logo.png")},
        },
        "isAccessibleForFree": art.free,
        "articleSection": art.section,
        "keywords": list(art.tags),
        "inLanguage": "en",
    }
    if comments is not None:
        data["commentCount"] = len(comments)
        data["comment"] = comments
    return json.dumps(data, ensure_ascii=False, indent=1)


def _head(site: SiteSpec, art: ArticleSpec, comments_ld: list[dict[str, Any]] | None) -> str:
    api = f'<link rel="https://api.w.org/" href="{B}/wp-json/">\n' if art.wp_rest else ""
    feeds = ""
    if art.comment_feed != "none":
        feeds = (f'<link rel="alternate" type="application/rss+xml" title="{e(site.name)} &raquo; '
                 f'{e(art.title)} Comments Feed" href="{B}/comments/{art.slug}.xml">\n')
    return f"""<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(art.title)} | {e(site.name)}</title>
<meta name="description" content="{e(art.dek)}">
<link rel="canonical" href="{_url(art.path)}">
<link rel="alternate" type="application/rss+xml" title="{e(site.name)} Feed" href="{B}/feed.xml">
{feeds}{api}<meta property="og:type" content="article">
<meta property="og:site_name" content="{e(site.name)}">
<meta property="og:title" content="{e(art.title)}">
<meta property="og:description" content="{e(art.dek)}">
<meta property="og:url" content="{_url(art.path)}">
<meta property="og:image" content="{_url(art.figure.src)}">
<meta property="article:published_time" content="{art.published.isoformat()}">
<meta property="article:modified_time" content="{art.modified.isoformat()}">
<meta property="article:section" content="{e(art.section)}">
<meta name="twitter:card" content="summary_large_image">
<link rel="stylesheet" href="{B}/static/{art.layout}.css">
<script type="application/ld+json">
{_jsonld(site, art, comments_ld)}
</script>
</head>"""


def _links(items: Sequence[tuple[str, str]], own: str, fmt: str) -> str:
    return "".join(fmt.format(href=_url(f"/articles/{slug}.html"), label=e(label))
                   for label, slug in items if slug != own)


def _share(art: ArticleSpec, cls: str) -> str:
    url, title = _url(art.path), e(art.title)
    return (f'<div class="{cls}"><span class="{cls}__label">Share this story</span>'
            f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={url}">Facebook</a>'
            f'<a class="share-x" href="https://x.com/intent/tweet?url={url}&amp;text={title}">X</a>'
            f'<a class="share-email" href="mailto:?subject={title}&amp;body={url}">Email</a></div>')


def _byline_links(art: ArticleSpec, cls: str) -> str:
    links = [f'<a class="{cls}" rel="author" href="{_url(f"/author/{a.key}/")}">{e(a.name)}</a>'
             for a in art.authors]
    return " and ".join(links)


def _related(site: SiteSpec, art: ArticleSpec, heading: str, cls: str, titles: dict[str, str]) -> str:
    items = "".join(f'<li><a href="{_url(f"/articles/{s}.html")}">{e(titles[s])}</a></li>'
                    for s in art.related)
    return f'<aside class="{cls}"><h3>{heading}</h3><ul>{items}</ul></aside>'


def _bios(art: ArticleSpec, cls: str) -> str:
    return "".join(f'<div class="{cls}"><h2>About {e(a.name)}</h2><p>{e(a.bio)}</p></div>'
                   for a in art.authors)


def _tags(art: ArticleSpec, cls: str) -> str:
    links = ", ".join(f'<a href="{_url(tag_path(t))}" rel="tag">{e(t)}</a>' for t in art.tags)
    return f'<div class="{cls}"><span>Tags:</span> {links}</div>'


def _figure(art: ArticleSpec, cls: str) -> str:
    f = art.figure
    return (f'<figure class="{cls}"><img src="{_url(f.src)}" alt="{e(f.alt)}" title="{e(f.title)}" '
            f'width="1200" height="675" loading="lazy"><figcaption>{e(f.caption)} '
            f'<span class="credit">{e(f.credit)}</span></figcaption></figure>')


def _body(art: ArticleSpec, figure_at: int, extras: dict[int, str]) -> str:
    """Paragraphs with the figure and the inline boxes slotted in after given paragraph indexes."""
    parts = []
    for index, para in enumerate(art.paragraphs):
        parts.append(f"<p>{para}</p>")
        if index == figure_at:
            parts.append(_figure(art, "wp-block-image size-large"
                                 if art.layout == "classic" else "inline-figure"))
        if index in extras:
            parts.append(extras[index])
    return "\n".join(parts)


def _newsletter(site: SiteSpec, cls: str) -> str:
    n = site.newsletter
    return (f'<div class="{cls}"><h3>{e(n["heading"])}</h3><p>{e(n["text"])}</p>'
            f'<form action="{B}/newsletter/subscribe" method="post"><input type="email" name="email" '
            f'placeholder="Your email address"><button type="submit">Sign up</button></form></div>')


def _donation(site: SiteSpec, cls: str) -> str:
    d = site.donation
    return (f'<div class="{cls}"><p><strong>{e(d["heading"])}</strong> {e(d["text"])}</p>'
            f'<a class="button" href="{B}/support/">Donate now</a></div>')


def _footer(site: SiteSpec, cls: str) -> str:
    return (f'<footer class="{cls}"><nav class="footer-links"><a href="{B}/about.html">About us</a> '
            f'<a href="{B}/about.html#contact">Contact</a> <a href="{B}/about.html#privacy">Privacy policy</a> '
            f'<a href="{B}/feed.xml">RSS</a></nav><p class="copyright">{e(site.copyright)}</p></footer>')


def _nav(site: SiteSpec, cls: str) -> str:
    return "".join(f'<li class="{cls}"><a href="{_url(href)}">{e(label)}</a></li>' for label, href in site.nav)


def render_article(site: SiteSpec, art: ArticleSpec, *, titles: dict[str, str], comments_html: str,
                   comments_ld: list[dict[str, Any]] | None) -> str:
    """One article page in the layout its content asks for."""
    render = {"classic": _classic, "modern": _modern, "drupal": _drupal}[art.layout]
    body = render(site, art, titles, comments_html)
    return f'<!DOCTYPE html>\n<html lang="en">\n{_head(site, art, comments_ld)}\n{body}\n</html>\n'


def _classic(site: SiteSpec, art: ArticleSpec, titles: dict[str, str], comments: str) -> str:
    mid = len(art.paragraphs) // 2
    extras = {1: _newsletter(site, "wp-block-group newsletter-signup"),
              mid: _related(site, art, "Related stories", "related-posts", titles)}
    pub, mod = art.published, art.modified
    return f"""<body class="post-template-default single single-post postid-{art.wp_id} single-format-standard">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#content">Skip to content</a>
<header id="masthead" class="site-header">
<div class="site-branding"><p class="site-title"><a href="{B}/" rel="home">{e(site.name)}</a></p>
<p class="site-description">{e(site.tagline)}</p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">{_nav(site, "menu-item")}</ul></nav>
<div class="trending-bar"><span class="trending-label">Trending:</span><ul>{_links(site.trending, art.slug, '<li><a href="{href}">{label}</a></li>')}</ul></div>
</header>
<div id="content" class="site-content">
<div id="primary" class="content-area"><main id="main" class="site-main">
<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="{B}/">Home</a> &raquo; <a href="{_url(tag_path(art.section))}">{e(art.section)}</a> &raquo; <span class="breadcrumb_last">{e(art.title)}</span></nav>
<article id="post-{art.wp_id}" class="post-{art.wp_id} post type-post status-publish format-standard has-post-thumbnail hentry">
<header class="entry-header"><h1 class="entry-title">{e(art.title)}</h1>
<div class="entry-meta"><span class="byline">By <span class="author vcard">{_byline_links(art, "url fn n")}</span></span>
<span class="posted-on">Posted on <time class="entry-date published" datetime="{pub.isoformat()}">{_classic_date(pub)}</time><time class="updated" datetime="{mod.isoformat()}">{_classic_date(mod)}</time></span></div>
</header>
{_share(art, "share-buttons")}
<div class="entry-content">
<p class="standfirst"><em>{e(art.dek)}</em></p>
{_body(art, 0, extras)}
{_donation(site, "support-box")}
</div>
<footer class="entry-footer">{_tags(art, "tags-links")}</footer>
{_bios(art, "author-info")}
</article>
{comments}
</main></div>
<aside id="secondary" class="widget-area"><section class="widget widget_most_read"><h2 class="widget-title">Most read</h2><ol>{_links(site.most_read, art.slug, '<li><a href="{href}">{label}</a></li>')}</ol></section></aside>
</div>
{_footer(site, "site-footer")}
</div>
</body>"""


def _modern(site: SiteSpec, art: ArticleSpec, titles: dict[str, str], comments: str) -> str:
    mid = len(art.paragraphs) // 2
    extras = {mid - 1: _related(site, art, "Read more", "inline-related", titles),
              mid + 1: _newsletter(site, "promo promo--newsletter")}
    pub, mod = art.published, art.modified
    trending = _links(site.trending, art.slug, '<a class="gh__trend" href="{href}">{label}</a> ')
    return f"""<body class="page-article theme-2024">
<header class="gh" role="banner"><div class="gh__bar"><a class="gh__logo" href="{B}/">{e(site.name)}</a>
<nav class="gh__nav" aria-label="Sections"><ul>{_nav(site, "gh__item")}</ul></nav>
<a class="gh__cta" href="{B}/support/">Support us</a></div>
<div class="gh__trending" data-module="trending"><strong>Trending:</strong> {trending}</div></header>
<main id="main-content" class="layout layout--article">
<ol class="crumbs"><li><a href="{B}/">Home</a></li><li><a href="{_url(tag_path(art.section))}">{e(art.section)}</a></li></ol>
<div class="layout__grid">
<article class="story" data-story-id="{art.wp_id}">
<header class="story__head"><p class="story__kicker">{e(art.section)}</p>
<h1 class="story__title">{e(art.title)}</h1>
<p class="story__dek">{e(art.dek)}</p>
<div class="story__byline"><span>By</span> {_byline_links(art, "story__author")}
<time class="story__date" datetime="{pub.isoformat()}">{_modern_date(pub)}</time>
<span class="story__updated">Updated <time datetime="{mod.isoformat()}">{_modern_date(mod)}</time></span></div>
{_share(art, "share-rail")}
</header>
{_figure(art, "story__lead-media")}
<section class="story__body" data-component="article-body">
{_body(art, -1, extras)}
</section>
{_donation(site, "promo promo--support")}
{_tags(art, "story__tags")}
<section class="author-card">{_bios(art, "author-card__bio")}</section>
</article>
<aside class="rail"><section class="most-read"><h2>Most read</h2><ol>{_links(site.most_read, art.slug, '<li><a href="{href}">{label}</a></li>')}</ol></section>
{_newsletter(site, "rail__newsletter")}</aside>
</div>
{comments}
</main>
{_footer(site, "gf")}
</body>"""


def _drupal(site: SiteSpec, art: ArticleSpec, titles: dict[str, str], comments: str) -> str:
    mid = len(art.paragraphs) // 2
    extras = {mid: _related(site, art, "Read more", "field--name-field-related", titles)}
    pub = art.published
    return f"""<body class="path-node page-node-type-article">
<div class="dialog-off-canvas-main-canvas"><div class="layout-container">
<header role="banner" class="region-header"><div class="block-system-branding-block"><a href="{B}/" rel="home">{e(site.name)}</a></div>
<nav role="navigation" class="menu--main"><ul class="menu">{_nav(site, "menu-item")}</ul></nav></header>
<div class="region-highlighted"><div class="block-trending"><h2>Trending:</h2><div class="item-list"><ul>{_links(site.trending, art.slug, '<li><a href="{href}">{label}</a></li>')}</ul></div></div></div>
<div class="region-breadcrumb"><nav class="breadcrumb"><ol><li><a href="{B}/">Home</a></li><li><a href="{_url(tag_path(art.section))}">{e(art.section)}</a></li><li>{e(art.title)}</li></ol></nav></div>
<main role="main"><div class="layout-content">
<article role="article" class="node node--type-article node--view-mode-full">
<h1 class="page-title"><span class="field--name-title">{e(art.title)}</span></h1>
<div class="node__meta"><span class="field--name-uid">{_byline_links(art, "username")}</span>
<span class="field--name-created"><time datetime="{pub.isoformat()}">{_drupal_date(pub)}</time></span></div>
{_share(art, "sharethis-inline")}
<div class="node__content"><div class="clearfix text-formatted field field--name-body field--type-text-with-summary">
{_body(art, 0, extras)}
</div>
<div class="field--name-field-tags">{_tags(art, "field__items")}</div>
{_newsletter(site, "block-newsletter")}
{_donation(site, "block-donate")}
{_bios(art, "field--name-field-author-bio")}
</div>
</article>
{comments}
</div>
<aside class="layout-sidebar-second" role="complementary"><div class="block-most-read"><h2>Most read</h2><ol>{_links(site.most_read, art.slug, '<li><a href="{href}">{label}</a></li>')}</ol></div></aside>
</main>
{_footer(site, "site-footer region-footer")}
</div></div>
</body>"""


def _listing(site: SiteSpec, title: str, articles: Sequence[ArticleSpec], intro: str) -> str:
    items = "\n".join(
        f'<li class="teaser"><h2><a href="{_url(a.path)}">{e(a.title)}</a></h2><p>{e(a.dek)}</p>'
        f'<p class="meta">{", ".join(e(x.name) for x in a.authors)} &middot; '
        f'<time datetime="{a.published.isoformat()}">{_classic_date(a.published)}</time></p></li>'
        for a in sorted(articles, key=lambda a: a.published, reverse=True))
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{e(title)}</title>
<link rel="alternate" type="application/rss+xml" title="{e(site.name)} Feed" href="{B}/feed.xml">
<link rel="alternate" type="application/atom+xml" title="{e(site.name)} Atom" href="{B}/atom.xml">
<meta property="og:type" content="website"></head>
<body class="home blog">
<header class="site-header"><p class="site-title"><a href="{B}/">{e(site.name)}</a></p>
<nav><ul>{_nav(site, "menu-item")}</ul></nav></header>
<main><h1>{e(title)}</h1><p class="intro">{e(intro)}</p>
<ul class="teasers">
{items}
</ul></main>
{_footer(site, "site-footer")}
</body>
</html>
"""


def render_index(site: SiteSpec, articles: Sequence[ArticleSpec]) -> str:
    return _listing(site, site.name, articles, site.tagline)


def render_tag_page(site: SiteSpec, tag: str, articles: Sequence[ArticleSpec]) -> str:
    tagged = [a for a in articles if tag in a.tags]
    return _listing(site, f"Tag: {tag}", tagged, f"All our coverage tagged {tag}.")


def render_about(site: SiteSpec) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>About us | {e(site.name)}</title></head>
<body class="page"><header class="site-header"><p class="site-title"><a href="{B}/">{e(site.name)}</a></p></header>
<main><h1>About us</h1>
<p>{e(site.name)} is a fictional, reader-funded news outlet. It exists only as demonstration material
for the newsingest pipeline: every article, person quoted as a local resident and comment on this
site is invented.</p>
<h2 id="contact">Contact</h2><p>There is nobody to contact: this site is served from your own machine.</p>
<h2 id="privacy">Privacy policy</h2><p>This demo site sets no cookies and records nothing.</p></main>
{_footer(site, "site-footer")}
</body>
</html>
"""
