"""Generate ``transforms/data/topics/iptc-mediatopics.tsv`` from IPTC's JSON export (CC BY 4.0).

    python -m transforms.tagging.build_topics [--corpora ../shared/corpora]

Keeps the active concepts only: id (without the ``medtop:`` prefix), English label, parent id.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from transforms.tagging.topics import IPTC_FILE

__all__ = ["main"]

HEADER = """# IPTC Media Topics (NewsCodes scheme "mediatopic"), active concepts, English labels.
# Source: IPTC, cv.iptc.org/newscodes/mediatopic, release 2025-10-09. Licence: CC BY 4.0
# (http://creativecommons.org/licenses/by/4.0/), (c) IPTC, International Press Telecommunications Council.
# Reduced to id/label/parent by `python -m transforms.tagging.build_topics`; see ATTRIBUTION.md.
"""


def _qcode(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].removeprefix("medtop:")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("NEWSINGEST_CORPORA", str(Path(__file__).resolve().parents[2].parent / "shared/corpora"))
    parser.add_argument("--corpora", default=default)
    args = parser.parse_args(argv)
    data = json.loads((Path(args.corpora) / "iptc-mediatopics" / "cptall-en-GB.json").read_text(encoding="utf-8"))
    rows = ["id\tlabel\tparent"]
    for concept in data["conceptSet"]:
        if concept.get("retired"):
            continue
        parent = _qcode(concept["broader"][0]) if concept.get("broader") else ""
        rows.append(f"{_qcode(concept['qcode'])}\t{concept['prefLabel']['en-GB']}\t{parent}")
    IPTC_FILE.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
