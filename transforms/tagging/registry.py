"""The actor registry: one record per actor, read from hand-writable TSV files.

File format (UTF-8, tab-separated, ``#`` starts a comment line, the header line is required)::

    id      name            type          country  codes                          aliases
    Q796    Iraq            country       IRQ      IRQ                            Iraqi|Republic of Iraq|Baghdad
    Q4444   Nouri al-Maliki person        IRQ      IRQGOV@2006-05-20..2014-09-08  Nuri al-Maliki|~Maliki

* ``codes``: ``;``-separated CAMEO-style codes, each optionally date-ranged with
  ``@START..END`` (ISO dates, either side may be empty: ``IRNMIL@2020-01-03..``).
* ``aliases``: ``|``-separated. A leading ``~`` makes an alias a *back-reference*: it links only
  when the actor is also named by a full alias in the same document (surnames, short acronyms).
  A leading ``=`` makes it case-sensitive (all-capital aliases of up to five letters, such as
  ``US`` or ``IS``, are case-sensitive anyway).

Files are layered: the shipped files first, then ``--actors`` files in order. A later record
with the same ``id`` replaces the earlier one; when two layers claim the same alias, the later
layer wins it, and inside one layer a shared alias is ambiguous and never guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from transforms.errors import ConfigError

__all__ = [
    "SHIPPED_FILES",
    "Actor",
    "ActorRegistry",
    "RegistryError",
    "RoleCode",
    "load_actor_file",
    "write_actor_file",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "actors"
# Lowest priority first.
SHIPPED_FILES = (DATA_DIR / "phoenix.tsv", DATA_DIR / "countries.tsv", DATA_DIR / "curated.tsv")
COLUMNS = ("id", "name", "type", "country", "codes", "aliases")
ACTOR_TYPES = frozenset(
    {"person", "organization", "country", "igo", "ngo", "armed_group", "party", "company", "media", "location",
     "group", "unknown"}
)
_CODE = re.compile(r"^([A-Z0-9~]{3,15})(?:@(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?)?$")


class RegistryError(ConfigError):
    """An actor file cannot be read or has a malformed line (the run does not start)."""

    kind = "registry_error"


@dataclass(frozen=True, slots=True)
class RoleCode:
    """A CAMEO-style code, valid from `start` to `end` (ISO dates, inclusive; None = open)."""

    code: str
    start: str | None = None
    end: str | None = None

    def valid_on(self, day: str) -> bool:
        """Whether the code applies on the ISO date `day`."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def render(self) -> str:
        """The file form: ``CODE`` or ``CODE@START..END``."""
        if self.start is None and self.end is None:
            return self.code
        return f"{self.code}@{self.start or ''}..{self.end or ''}"


@dataclass(frozen=True, slots=True)
class Actor:
    """One registry record."""

    id: str
    name: str
    type: str
    country: str | None = None
    codes: tuple[RoleCode, ...] = ()
    aliases: tuple[str, ...] = ()

    def code_on(self, day: str | None = None) -> str | None:
        """The role code valid on `day`; without a day (or none valid) the most recent one."""
        if not self.codes:
            return None
        if day:
            for code in self.codes:
                if code.valid_on(day):
                    return code.code
        return max(self.codes, key=lambda c: (c.end is None, c.end or "", c.start or "")).code


@dataclass(slots=True)
class ActorRegistry:
    """Actors by id, each with the layer (file priority) it came from."""

    actors: dict[str, Actor] = field(default_factory=dict)
    layers: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: tuple[str | Path, ...]) -> ActorRegistry:
        """Read `paths` in priority order (lowest first)."""
        registry = cls()
        for layer, path in enumerate(paths):
            for actor in load_actor_file(path):
                registry.add(actor, layer)
        return registry

    def add(self, actor: Actor, layer: int) -> None:
        """Add or replace an actor."""
        self.actors[actor.id] = actor
        self.layers[actor.id] = layer

    def __len__(self) -> int:
        return len(self.actors)


def _parse_codes(raw: str, where: str) -> tuple[RoleCode, ...]:
    codes = []
    for item in filter(None, (c.strip() for c in raw.split(";"))):
        match = _CODE.match(item)
        if not match:
            raise RegistryError(f"{where}: bad code {item!r} (want CODE or CODE@YYYY-MM-DD..YYYY-MM-DD)")
        codes.append(RoleCode(match.group(1), match.group(2), match.group(3)))
    return tuple(codes)


def _parse_row(row: list[str], where: str) -> Actor:
    if len(row) != len(COLUMNS):
        raise RegistryError(f"{where}: expected {len(COLUMNS)} tab-separated columns, got {len(row)}")
    actor_id, name, actor_type, country, codes, aliases = (c.strip() for c in row)
    if not actor_id or not name:
        raise RegistryError(f"{where}: id and name are required")
    if actor_id.startswith("unlinked:"):
        raise RegistryError(f"{where}: ids starting with 'unlinked:' are reserved")
    if actor_type not in ACTOR_TYPES:
        raise RegistryError(f"{where}: unknown type {actor_type!r} (one of {sorted(ACTOR_TYPES)})")
    alias_list = tuple(a.strip() for a in aliases.split("|") if a.strip())
    return Actor(actor_id, name, actor_type, country or None, _parse_codes(codes, where), alias_list)


def load_actor_file(path: str | Path) -> list[Actor]:
    """Parse one registry TSV file.

    Raises:
        RegistryError: the file is missing or a line is malformed (with file and line number).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RegistryError(f"cannot read actor file {path}: {exc}") from exc
    body = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]
    if not body or body[0][1].split("\t")[: len(COLUMNS)] != list(COLUMNS):
        raise RegistryError(f"{path}: the first non-comment line must be the header {chr(9).join(COLUMNS)!r}")
    rows = csv.reader((line for _, line in body[1:]), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [_parse_row(row, f"{path}:{number}") for (number, _), row in zip(body[1:], rows)]


def write_actor_file(path: str | Path, actors: list[Actor], *, header_comment: str = "") -> None:
    """Write actors in the registry format (used by the registry builder)."""
    lines = [f"# {line}".rstrip() for line in header_comment.splitlines()]
    lines.append("\t".join(COLUMNS))
    for a in actors:
        codes = ";".join(c.render() for c in a.codes)
        lines.append("\t".join((a.id, a.name, a.type, a.country or "", codes, "|".join(a.aliases))))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
