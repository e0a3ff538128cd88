"""Story summaries: fold a run's new members into a story's stored aggregate, and render its row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from schemas.arrow import SCHEMA_VERSION, utc_date
from transforms.stories.records import Profile, StoryRow, StorySnapshot, StoryTag

__all__ = ["TOP_TAGS", "story_row", "summarise"]

TOP_TAGS = 5


def _merge_counts(stored: Iterable[tuple[str, int]], new: Iterable[str]) -> tuple[tuple[str, int], ...]:
    counts = Counter(dict(stored))
    counts.update(new)
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _merge_tags(stored: Iterable[tuple[str, str, int]],
                new: Iterable[tuple[str, str]]) -> tuple[tuple[str, str, int], ...]:
    names = {tag_id: name for tag_id, name, _ in stored}
    counts = Counter({tag_id: n for tag_id, _, n in stored})
    for tag_id, name in new:
        names.setdefault(tag_id, name)
        counts[tag_id] += 1
    return tuple(sorted(((i, names[i], n) for i, n in counts.items()), key=lambda t: (-t[2], t[0])))


def _representative(members: Sequence[Profile]) -> Profile:
    """The earliest original (not a copy) with a title, else the earliest member."""
    originals = [m for m in members if m.duplicate_of is None and m.title]
    return min(originals or members, key=lambda m: m.order)


def summarise(story_id: str, stored: StorySnapshot | None, members: Sequence[Profile], *,
              run_id: str, now: datetime) -> StorySnapshot:
    """The story's aggregate after adding ``members`` (each counted once, by article id)."""
    if not members and stored is None:
        raise ValueError(f"story {story_id} has neither a stored summary nor new members")
    members = sorted({m.article_id: m for m in members}.values(), key=lambda m: m.order)
    base = stored or StorySnapshot(story_id, float("inf"), float("-inf"), 0, 0, (), (), (), None, "")
    first = _representative(members) if members else None
    keep_stored = stored is not None and bool(stored.representative_id)
    return StorySnapshot(
        story_id=story_id,
        first_seen=min([base.first_seen, *(m.seen_at for m in members)]),
        last_seen=max([base.last_seen, *(m.seen_at for m in members)]),
        article_count=base.article_count + len(members),
        duplicate_count=base.duplicate_count + sum(1 for m in members if m.duplicate_of),
        sources=_merge_counts(base.sources, (m.source for m in members)),
        actors=_merge_tags(base.actors, (a for m in members for a in m.actors)),
        topics=_merge_tags(base.topics, (t for m in members for t in m.topics)),
        title=base.title if keep_stored or first is None else first.title,
        representative_id=base.representative_id if keep_stored or first is None else first.article_id,
        updated_at=now.timestamp(), run_id=run_id,
    )


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def story_row(snapshot: StorySnapshot) -> StoryRow:
    """The stories-table row of a story's aggregate."""
    updated = _time(snapshot.updated_at)
    return StoryRow(
        story_id=snapshot.story_id, run_id=snapshot.run_id, updated_at=updated,
        first_seen=_time(snapshot.first_seen), last_seen=_time(snapshot.last_seen),
        article_count=snapshot.article_count, duplicate_count=snapshot.duplicate_count,
        source_count=len(snapshot.sources), sources=tuple(s for s, _ in snapshot.sources),
        top_actors=tuple(StoryTag(*t) for t in snapshot.actors[:TOP_TAGS]),
        top_topics=tuple(StoryTag(*t) for t in snapshot.topics[:TOP_TAGS]),
        title=snapshot.title, representative_id=snapshot.representative_id,
        schema_version=SCHEMA_VERSION, date=utc_date(updated),
    )
