"""Reader comment threads: find, parse, fetch, thread and deduplicate an article's comments.

The public surface is Beam-free; ``FetchCommentThreads`` (in the pipeline) only wires it::

    from transforms.comments import CommentsConfig, collect_comments
    thread = collect_comments(html=page.html, page_url=page.final_url, article_id=entry.article_id,
                              fetched_at=page.fetched_at, comments_feed_url=entry.comments_feed_url,
                              comments_page_url=entry.comments_page_url, client=client,
                              config=CommentsConfig())
    thread.comments, thread.status, thread.failures

Module map: ``html`` + ``fields`` (inline sections and microdata), ``jsonld``, ``feeds``,
``wpjson``, ``disqus``, ``detect`` (embeds and hooks), ``thread`` (ids, parents, depth, dedup),
``text`` (clean text and dates), ``collect`` (orchestration).
"""

from transforms.comments.collect import (
    CommentSources,
    CommentsConfig,
    CommentThread,
    collect_comments,
    find_comment_sources,
    parse_inline_comments,
)
from transforms.comments.detect import detect_embeds
from transforms.comments.html import comment_section_nodes

__all__ = [
    "CommentSources",
    "CommentThread",
    "CommentsConfig",
    "collect_comments",
    "comment_section_nodes",
    "detect_embeds",
    "find_comment_sources",
    "parse_inline_comments",
]
