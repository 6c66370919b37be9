"""Characters written from recorded strokes, for the handwriting tests and bench.

Make Me a Hanzi's stroke medians, as the npm package ``hanzi-writer-data``
ships them (one JSON file a character): points in a 1024 box with y up,
turned here to y down (y' = 900 - y), as a touch screen reports them. The
finger's copy has fewer points (every other one), shakes, and is written
smaller or larger, off centre and a little turned, from a fixed seed.

The characters: those of ``tests/handwriting_sentences.txt`` (the Luoding
report's first sentences, drawn as that file says) that the model knows and
the package has, up to ``CHARACTERS`` of them, each with what its sentence
holds before it as context.
"""

import json
import math
import random
import shutil
from functools import cache
from pathlib import Path

from kiosk.ime.lexicon import LEXICON_FILE

ROOT = Path(__file__).resolve().parents[2]
STROKES = ROOT / "node_modules" / "hanzi-writer-data"
SENTENCES = ROOT / "tests" / "handwriting_sentences.txt"
CHARACTERS = 400
SEED = 17


@cache
def medians(ch: str) -> list[list[tuple[int, int]]] | None:
    """The character's strokes, y down in a 1024 box, or None when the package lacks it."""
    path = STROKES / f"{ch}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return [[(x, 900 - y) for x, y in stroke] for stroke in data["medians"]]


def ink(strokes, width=1024, height=1024) -> dict:
    return {"width": width, "height": height, "strokes": [[list(p) for p in s] for s in strokes]}


def fingered(strokes, rng: random.Random) -> list[list[tuple[float, float]]]:
    """A finger's copy: every other point, a shake of about 1% of the box, smaller
    or larger, off centre, turned by up to 5 degrees."""
    turn = rng.uniform(-0.08, 0.08)
    scale = rng.uniform(0.7, 1.0)
    dx, dy = rng.uniform(-60, 60), rng.uniform(-60, 60)
    copy = []
    for stroke in strokes:
        points = stroke[::2] if len(stroke) > 3 else list(stroke)
        if points[-1] != stroke[-1]:
            points.append(stroke[-1])
        moved = []
        for x, y in points:
            x, y = x - 512, y - 512
            x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
            moved.append((
                min(max(x * scale + 512 + dx + rng.gauss(0, 8), 0), 1024),
                min(max(y * scale + 512 + dy + rng.gauss(0, 8), 0), 1024),
            ))
        copy.append(moved)
    return copy


def written_characters(known: set[str], count: int = CHARACTERS) -> list[tuple[str, str]]:
    """(character, the sentence before it) from the report, as described above."""
    lines = SENTENCES.read_text(encoding="utf-8").splitlines()
    found = []
    for sentence in (line for line in lines if line and not line.startswith("#")):
        for i, ch in enumerate(sentence):
            if ch in known and medians(ch) is not None:
                found.append((ch, sentence[:i]))
                if len(found) == count:
                    return found
    return found


def place_lexicon(instance: Path, built: Path) -> None:
    """Put a lexicon made once (``kiosk.ime.lexicon.build``) in a box's instance
    folder, where the box would otherwise make its own on first use."""
    folder = instance / "ime"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(built, folder / LEXICON_FILE)
