"""Syndication and stories: near-duplicates, same-event stories and citations, kept across runs.

``AssignStories`` is the Beam transform the pipeline runs after tagging and before the sink;
``commit_story_state`` promotes the run's state once its data is committed, and
``compact_story_state`` then merges the small state files runs leave. See docs/stories.md.
"""

from transforms.stories.config import StoriesConfig
from transforms.stories.index import commit_story_state, compact_story_state
from transforms.stories.records import STORIES, StoryRow, StoryTag
from transforms.stories.transform import AssignStories, StoriesResult

__all__ = ["STORIES", "AssignStories", "StoriesConfig", "StoriesResult", "StoryRow", "StoryTag", "commit_story_state",
           "compact_story_state"]
