# ruff: noqa: E501  (article prose kept one paragraph per line)
"""Hand-written articles for the stories tests (fictional events, no third-party text).

Story "bridge": a ferry strikes the Vella harbour bridge (three outlets, one wire copy, a follow-up).
Story "drought": farms in the Kestrel valley ration water. Plus an unrelated bridge story (same
topic, other event) that must stay apart.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from schemas.records import ActorTag, Article
from transforms.urls import canonicalize_url, source_of, stable_id

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=timezone.utc)

BRIDGE_WIRE = """PORT VELLA (CPA) — A cargo ferry struck the central span of the Vella harbour bridge early on Monday, closing the only road link between the old town and the container terminal and leaving hundreds of commuters stranded on both banks.

The ferry Mistral Star, operated by the Kestrel Line, lost steering power shortly after leaving the inner basin, the harbour master Ilse Marwick told reporters. Divers were inspecting the damaged pier and engineers said the span would stay closed for at least two weeks.

No one was killed. Four crew members were treated for minor injuries and a cyclist on the bridge deck was taken to hospital as a precaution, according to the city's emergency service.

Mayor Tomas Brandt called the collision a warning. "We have said for years that this bridge carries more traffic than it was built for," he said, promising a temporary ferry shuttle for commuters from Tuesday.

The Kestrel Line said it was cooperating with investigators and that the Mistral Star had passed an inspection in January. Shares in the company fell six percent in early trading.

Port officials expect container traffic to be diverted to the northern gate, adding up to an hour to each truck's journey. Local businesses in the old town warned that a long closure would hit the spring tourist season."""

BRIDGE_OWN = """Engineers in Port Vella spent Monday examining the cracked pier of the harbour bridge after the Mistral Star, a Kestrel Line cargo ferry, drifted into it at dawn with a steering failure.

Harbour master Ilse Marwick said the vessel's crew had sent a distress call two minutes before the collision, too late for tugs to reach it. The bridge, the sole road crossing to the container terminal, will remain shut for at least a fortnight while divers survey the damage.

For commuters, the closure means a detour of forty kilometres around the bay. Mayor Tomas Brandt pledged a shuttle ferry and said the city had long warned about the strain on the ageing crossing.

Four sailors and a cyclist were hurt, none seriously. The Kestrel Line, whose shares slid on the news, said the ship had been inspected in January and that it would support the investigation.

Truckers queued at the northern gate as port officials rerouted container traffic, and shopkeepers in the old town fear the lost weeks will cost them the start of the tourist season."""

BRIDGE_BLOG = """The Mistral Star collision at Port Vella is the accident everyone on the waterfront saw coming. A Kestrel Line ferry with a steering failure hit the harbour bridge on Monday; the crossing is closed for two weeks at least, and Mayor Tomas Brandt is now promising a shuttle ferry.

According to the Vella Harbour Times, which first reported the distress call, the crew had barely two minutes of warning. Harbour master Ilse Marwick has confirmed the timeline.

Brandt's council has known about the bridge's overload for years. Trucks for the container terminal now queue at the northern gate, and the old town's shops face a lost spring. The Kestrel Line points to its January inspection. Investigators should ask who signed it, and why a ship of that size still uses the inner basin at dawn."""

BRIDGE_FOLLOWUP = """Divers working on the damaged pier of the Vella harbour bridge found that the Mistral Star's bow had sheared two of the support piles, harbour master Ilse Marwick said on Wednesday, and the crossing will now stay closed for a month.

The Kestrel Line has suspended the ferry's captain pending the investigation into Monday's collision. Mayor Tomas Brandt's shuttle ferry carried more than three thousand commuters on its first day, but truckers at the container terminal's northern gate reported waits of up to three hours.

Port Vella's council will meet on Friday to discuss an emergency repair budget for the bridge and a long-delayed second crossing."""

DROUGHT = """Farmers in the Kestrel valley began rationing irrigation water on Tuesday after the spring rains failed for a third year, the regional water board announced, cutting allocations for orchards and vineyards by a third.

Board chair Odile Fenwick said reservoir levels stood at forty percent of their usual March volume. Wells in the lower valley have run dry and some growers are already trucking water to young trees.

Apple and pear growers fear smaller harvests and warned of job losses among seasonal pickers. The board promised a review in May and urged households to cut garden watering, while scientists at the valley's agricultural station are testing drought-tolerant rootstocks."""

OTHER_BRIDGE = """The restored Larch Street footbridge in Almsbury reopened to pedestrians on Saturday after eighteen months of work, with a brass band and a ribbon cut by the town's oldest resident.

The Victorian iron bridge over the canal had been closed since inspectors found corrosion in its railings. Volunteers raised a quarter of the cost, and the heritage trust covered the rest.

Shop owners on both sides of the canal said footfall had fallen sharply during the closure and they hoped the reopened crossing would bring back weekend visitors to the market."""


def actor(actor_id: str, name: str, kind: str = "person") -> ActorTag:
    """A tagged actor as the tagging stage would give it."""
    return ActorTag(id=actor_id, name=name, type=kind, country=None, code=None, mentions=1, linked=True)


MARWICK = actor("t:marwick", "Ilse Marwick")
BRANDT = actor("t:brandt", "Tomas Brandt")
KESTREL = actor("t:kestrel-line", "Kestrel Line", "company")


def make_article(url: str, text: str, *, title: str, hours: float = 0.0,
                 actors: tuple[ActorTag, ...] = ()) -> Article:
    """An extracted, tagged article as the stage receives it."""
    canonical = canonicalize_url(url)
    moment = T0 + timedelta(hours=hours)
    return Article(
        article_id=stable_id(canonical), url=url, canonical_url=canonical, feed_url=f"{url.split('/news')[0]}/feed",
        title=title, authors=(), published_at=moment, fetched_at=moment + timedelta(minutes=30), language="en",
        text=text, word_count=len(text.split()), content_hash=hashlib.sha256(text.encode()).hexdigest(),
        schema_version=1, date=moment.date().isoformat(), source=source_of(canonical), actors=actors,
    )


def trimmed(text: str, paragraphs: int) -> str:
    """The first paragraphs of a text, as a syndicating site that cuts the tail."""
    return "\n\n".join(text.split("\n\n")[:paragraphs])


def first_run() -> list[Article]:
    """Run 1: the wire story, its copy on a partner site, an own report, a blog, two unrelated."""
    people = (MARWICK, BRANDT, KESTREL)
    return [
        make_article("https://wire.example/news/vella-bridge", BRIDGE_WIRE, title="Ferry strikes Vella harbour bridge",
                     actors=people),
        make_article("https://partner.example/news/ferry-hits-bridge", trimmed(BRIDGE_WIRE, 5),
                     title="Ferry hits harbour bridge in Port Vella", hours=2, actors=people),
        make_article("https://harbourtimes.example/news/bridge-closed", BRIDGE_OWN,
                     title="Vella harbour bridge shut after ferry collision", hours=3, actors=people),
        make_article("https://blog.example/news/saw-it-coming", BRIDGE_BLOG,
                     title="The Mistral Star crash was coming", hours=26, actors=people),
        make_article("https://farm.example/news/kestrel-rationing", DROUGHT,
                     title="Kestrel valley farms ration water as rains fail", hours=5),
        make_article("https://almsbury.example/news/footbridge", OTHER_BRIDGE,
                     title="Larch Street footbridge reopens", hours=4),
    ]


def second_run() -> list[Article]:
    """Run 2, two days later: a follow-up on the bridge story."""
    return [make_article("https://harbourtimes.example/news/piles-sheared", BRIDGE_FOLLOWUP,
                         title="Vella bridge to stay shut for a month", hours=50, actors=(MARWICK, BRANDT, KESTREL))]
