"""Render the demo news site (``pipeline/demo/site/``) from its hand-written content.

The pages, feeds, API fixtures and the ground truth ``expected.json`` are all derived from
``pipeline/demo/content/`` so they cannot drift apart; ``tests/test_demo_site.py`` checks that the
committed ``site/`` equals a fresh render. Regenerate after editing the content with::

    python -m pipeline.demo.sitegen
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.demo import _comments, _feeds, _layouts
from pipeline.demo._content import ArticleSpec, SiteSpec, load_content, plain_text, to_utc_iso

__all__ = ["CONTENT_DIR", "SITE_DIR", "main", "render_site", "write_site"]

CONTENT_DIR = Path(__file__).parent / "content"
SITE_DIR = Path(__file__).parent / "site"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"\u201c])")
_ORIGINS = {
    "html": "inline in the article page (WordPress comment-list or generic div.comment markup)",
    "rss": "the per-post comment feed (wfw:commentRss), all pages",
    "wp_rest": "GET /wp-json/wp/v2/comments?post=<id>, all pages",
    "disqus": "GET /api/3.0/threads/listPosts.json, all cursor pages",
    "jsonld": "schema.org Comment objects in the page's NewsArticle JSON-LD",
}
_ROBOTS = "User-agent: *\nDisallow: /private/\n\nUser-agent: GPTBot\nDisallow: /\n"
_PRIVATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>EMBARGOED DRAFT</title><meta name="robots" content="noindex"></head>
<body><h1>Embargoed draft: not for publication</h1>
<p>This page is disallowed by robots.txt. A polite crawler never fetches it.</p></body></html>
"""


def _first_sentence(paragraph: str) -> str:
    return _SENTENCE_END.split(plain_text(paragraph).strip())[0]


def _must_include(art: ArticleSpec) -> list[str]:
    # Skip the last paragraph: the syndicated copy trims it.
    paras = art.paragraphs
    picks = [paras[0], paras[len(paras) // 2], paras[-2]]
    return list(dict.fromkeys(_first_sentence(p) for p in picks))


def _snippet(text: str) -> str:
    words = text.split()
    return " ".join(words[: min(8, len(words))])


def _must_exclude(site: SiteSpec, art: ArticleSpec) -> list[str]:
    trending = next(label for label, slug in site.trending if slug != art.slug)
    most_read = next(label for label, slug in site.most_read if slug != art.slug)
    out = [trending, most_read, site.newsletter["text"], site.donation["text"], art.figure.alt,
           site.copyright, *(a.bio for a in art.authors)]
    if art.comment_system != "none":
        out.append(site.commenting_help)
    if art.comment_system in {"wp", "generic", "jsonld"} and art.html_comments:
        out.append(_snippet(art.html_comments[0].text))
    return out


def _origins(art: ArticleSpec, in_html: bool) -> list[str]:
    system = art.comment_system
    if system in {"jsonld", "disqus"}:
        return [system]
    out = ["html"] if in_html else []
    if art.comment_feed in {"paged", "extra"} or (art.comment_feed == "same" and in_html):
        out.append("rss")
    if art.wp_rest:
        out.append("wp_rest")
    return out


def _comments_expected(art: ArticleSpec) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{
        "id": str(c.id), "parent": str(c.parent) if c.parent else None, "depth": c.depth,
        "author": c.author, "published": to_utc_iso(c.at), "origins": _origins(art, c.in_html),
        "text_start": _snippet(c.text),
    } for c in art.comments]
    by_origin: dict[str, int] = {}
    for item in items:
        for origin in item["origins"]:
            by_origin[origin] = by_origin.get(origin, 0) + 1
    out: dict[str, Any] = {
        "system": art.comment_system, "expected_total": len(items), "by_origin": by_origin,
        "max_depth": max((c.depth for c in art.comments), default=0), "items": items,
    }
    if art.comment_feed != "none":
        pages = -(-len(art.comments) // _comments.FEED_PAGE_SIZE) if art.comment_feed == "paged" else 1
        out["comment_feed"] = {"path": f"/comments/{art.slug}.xml", "pages": pages}
    if art.wp_rest:
        out["wp_rest"] = {"post": art.wp_id, "pages_at_default_per_page": -(-len(items) // 10)}
    if art.comment_system == "disqus":
        out["disqus"] = {"forum": "meridian-ledger", "ident": art.disqus_ident,
                         "pages_at_default_limit": -(-len(items) // 25)}
    return out


def _expected(site: SiteSpec, articles: Sequence[ArticleSpec]) -> dict[str, Any]:
    embeds = {"disqus": "disqus", "facebook": "facebook"}
    entries = {a.slug: {
        "path": a.path,
        "feed_link": _feeds.feed_link(a),
        "title": a.title,
        "authors": [x.name for x in a.authors],
        "published": to_utc_iso(a.published),
        "modified": to_utc_iso(a.modified),
        "section": a.section,
        "topic": a.topic,
        "layout": a.layout,
        "word_count": sum(len(plain_text(p).split()) for p in a.paragraphs),
        "must_include": _must_include(a),
        "must_exclude": _must_exclude(site, a),
        "embed": "wp_rest" if a.wp_rest else embeds.get(a.comment_system),
        "comments": _comments_expected(a),
        "actors": list(a.actors),
        "story_group": a.story_group,
        "syndicated_of": a.syndicated_of,
    } for a in articles}
    return {
        "site": {"name": site.name, "feed": "/feed.xml", "atom": "/atom.xml",
                 "base_url_placeholder": "{{BASE_URL}}", "comment_origins": _ORIGINS},
        "articles": entries,
        "non_articles": ["/", "/index.html", "/tag/iraq.html", "/about.html"],
        "robots_disallowed": ["/private/draft.html"],
    }


def render_site(content_dir: Path = CONTENT_DIR) -> dict[str, str]:
    """Every file of the site, keyed by its path relative to the site directory."""
    site, articles = load_content(content_dir)
    titles = {a.slug: a.title for a in articles}
    files: dict[str, str] = {}
    for art in articles:
        files[f"articles/{art.slug}.html"] = _layouts.render_article(
            site, art, titles=titles, comments_html=_comments.render_comment_section(site, art),
            comments_ld=_comments.comments_jsonld(art))
        if art.comment_feed != "none":
            for number, page in enumerate(_comments.comment_feed_pages(site, art), start=1):
                files[f"comments/{art.slug}{'' if number == 1 else f'.page{number}'}.xml"] = page
        if art.wp_rest:
            files[f"wp-json/comments-{art.wp_id}.json"] = _comments.wp_rest_fixture(art)
        if art.comment_system == "disqus":
            files[f"disqus/{art.disqus_ident}.json"] = _comments.disqus_fixture(site, art)
    files["feed.xml"] = _feeds.render_rss(site, articles)
    files["atom.xml"] = _feeds.render_atom(site, articles)
    files["index.html"] = _layouts.render_index(site, articles)
    files["tag/iraq.html"] = _layouts.render_tag_page(site, "Iraq", articles)
    files["about.html"] = _layouts.render_about(site)
    files["private/draft.html"] = _PRIVATE
    files["robots.txt"] = _ROBOTS
    files["wp-json/index.json"] = json.dumps({
        "name": site.name, "description": site.tagline, "url": "{{BASE_URL}}",
        "namespaces": ["wp/v2"], "routes": {"/wp/v2/comments": {"methods": ["GET"]}}}, indent=1) + "\n"
    files["expected.json"] = json.dumps(_expected(site, articles), ensure_ascii=False, indent=1) + "\n"
    return files


def write_site(out_dir: Path = SITE_DIR, content_dir: Path = CONTENT_DIR) -> list[Path]:
    """Render the site into ``out_dir``, removing files a previous render left there."""
    files = render_site(content_dir)
    written = []
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")  # keep mtimes (Last-Modified) of unchanged files
        written.append(path)
    for stale in set(p for p in out_dir.rglob("*") if p.is_file()) - set(written):
        stale.unlink()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SITE_DIR, help="site directory to write")
    args = parser.parse_args(argv)
    written = write_site(args.out)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
