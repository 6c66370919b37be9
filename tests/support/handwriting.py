"""Characters written from recorded strokes, for the handwriting tests and bench.

Make Me a Hanzi's stroke medians, as the npm package ``hanzi-writer-data``
ships them (one JSON file a character): points in a 1024 box with y up,
turned here to y down (y' = 900 - y), as a touch screen reports them. The
finger's copy has fewer points (every other one), shakes, and is written
smaller or larger, off centre and a little turned, from a fixed seed.

The characters: the Luoding report's sentences in order (split at 。！？；
and line ends), every character of them that the model knows and the
package has, up to ``CHARACTERS`` of them, each with the sentence written
before it as context.
"""

import json
import math
import random
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STROKES = ROOT / "node_modules" / "hanzi-writer-data"
REPORT = ROOT.parent / "shared" / "domain" / "luoding-liaison-stations-2020.txt"
CHARACTERS = 400
SEED = 17


def report_path() -> Path:
    """The Luoding report beside the checkout (shared/domain), or in its parent's."""
    for folder in (ROOT, *ROOT.parents):
        path = folder / "shared" / "domain" / "luoding-liaison-stations-2020.txt"
        if path.exists():
            return path
    raise FileNotFoundError("shared/domain/luoding-liaison-stations-2020.txt")


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
    text = report_path().read_text(encoding="utf-8")
    found = []
    for sentence in (s.strip() for s in re.split(r"[。！？；\n]", text)):
        for i, ch in enumerate(sentence):
            if ch in known and medians(ch) is not None:
                found.append((ch, sentence[:i]))
                if len(found) == count:
                    return found
    return found
