"""Record types and Arrow schemas of every newsingest table: the contract between stages."""

from schemas.arrow import ARTICLES, COMMENTS, FAILURES, MENTIONS, SCHEMA_VERSION, TABLES, TableSpec, to_row, to_table
from schemas.records import (
    ActorTag,
    Article,
    Comment,
    FeedEntry,
    FeedSpec,
    Failure,
    Mention,
    RawPage,
    Rejection,
    TopicTag,
)

__all__ = [
    "ARTICLES",
    "COMMENTS",
    "FAILURES",
    "MENTIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "ActorTag",
    "Article",
    "Comment",
    "FeedEntry",
    "FeedSpec",
    "Failure",
    "Mention",
    "RawPage",
    "Rejection",
    "TableSpec",
    "TopicTag",
    "to_row",
    "to_table",
]
