"""The Rime data every test shares: built once per machine (and again only when its sources change)."""

import os
import tempfile
from pathlib import Path

from kiosk.ime import deploy, dictionary

# One folder for each state of the sources the build reads: checkouts of
# different sources on one machine each keep their own, rather than
# rebuilding one folder for one another.
RIME_FOLDER = Path(tempfile.gettempdir()) / f"kiosk-test-rime-{os.getuid()}-{deploy.sources_digest()[:12]}"


def rime_folder() -> Path:
    """The shared folder, built if it is not current (under deploy's lock, so workers take turns)."""
    deploy.ensure(RIME_FOLDER)
    return RIME_FOLDER


QUALITY_WORDS = Path(__file__).resolve().parents[1] / "data" / "ime_quality_words.txt"


def quality_words() -> list[tuple[str, str, str]]:
    """The quality list: (word, full pinyin, initials)."""
    lines = QUALITY_WORDS.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]


def in_dictionary() -> set[str]:
    """The words of the domain dictionary, as set-up makes it."""
    return {entry.text for entry in dictionary.entries(deploy.DIVISION, deploy.RIME_DATA)}


def quality_rates(engine, words, inside: set[str], page: int = 8) -> dict:
    """Share of ``words`` on the first page, typed in full and as initials; overall, and in and outside the dictionary."""
    rates = {}
    for kind, column in (("full", 1), ("initials", 2)):
        hits = {"inside": [0, 0], "outside": [0, 0]}
        for row in words:
            where = "inside" if row[0] in inside else "outside"
            hits[where][1] += 1
            hits[where][0] += row[0] in engine.candidates(row[column], limit=page).candidates
        total = sum(h[1] for h in hits.values())
        rates[kind] = {"all": sum(h[0] for h in hits.values()) / total, "words": total,
                       **{where: (h[0] / h[1] if h[1] else None) for where, h in hits.items()},
                       "inside_words": hits["inside"][1]}
    return rates
