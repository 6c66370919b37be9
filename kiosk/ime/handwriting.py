"""Handwriting recognition at the station: ink in, characters out.

A finger on a touch screen writes bigger or smaller, off centre, with a
shaky line and a few points more or less than the pen tablets zinnia's model
learnt from. So the ink is normalised first (points too close together
dropped, the shake smoothed, the character centred and scaled into zinnia's
box), zinnia is asked for a long list (``NBEST``), and that list is ranked
again with how common each character is and how often it follows the
character written just before (``kiosk/ime/lexicon.py``).
"""

import logging
import math
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from ..refusals import Refused
from . import lexicon
from .zinnia import Recognizer, ZinniaError

log = logging.getLogger(__name__)

# zinnia's box: the character is drawn into it, centred, its longer side
# ``FILL`` of the box.
BOX = 1000
FILL = 0.7
# Points closer than this share of the character's size add only shake.
MIN_STEP = 0.02
NBEST = 60
# How much the lexicon weighs against zinnia's score, and how much of it is
# the character before (the rest: how common the character is).
LEXICON_WEIGHT = 0.1
CONTEXT_SHARE = 0.7
# What the pad can send: more is no character written by hand.
MAX_STROKES = 40
MAX_POINTS = 4000
MAX_SIDE = 10_000
MAX_CANDIDATES = 20


class InkRefused(Refused):
    """Ink that is no character written on the pad."""


@dataclass(frozen=True)
class Ink:
    """Strokes of points (x, y; y down) in a ``width`` by ``height`` box."""

    width: float
    height: float
    strokes: list[list[tuple[float, float]]]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def read_ink(data) -> Ink:
    """The ink in ``data`` (``{"width": W, "height": H, "strokes": [[[x, y], ...], ...]}``), checked."""
    if not isinstance(data, dict):
        raise InkRefused("手写内容无法识别，请重写。")
    width, height = _number(data.get("width")), _number(data.get("height"))
    if not width or not height or not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InkRefused("手写板的大小不对，请重写。")
    strokes = data.get("strokes")
    if not isinstance(strokes, list) or not strokes:
        raise InkRefused("请在方框里写一个字。")
    if len(strokes) > MAX_STROKES or sum(len(s) if isinstance(s, list) else 0 for s in strokes) > MAX_POINTS:
        raise InkRefused("笔画太多了，请一次只写一个字。")
    ink = []
    for stroke in strokes:
        if not isinstance(stroke, list) or not stroke:
            raise InkRefused("手写内容无法识别，请重写。")
        points = []
        for point in stroke:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise InkRefused("手写内容无法识别，请重写。")
            x, y = _number(point[0]), _number(point[1])
            if x is None or y is None:
                raise InkRefused("手写内容无法识别，请重写。")
            # A finger sliding off the pad's edge: keep the point on it.
            points.append((min(max(x, 0.0), width), min(max(y, 0.0), height)))
        ink.append(points)
    return Ink(width, height, ink)


def normalise(ink: Ink) -> list[list[tuple[int, int]]]:
    """The strokes centred and scaled into zinnia's box, thinned and smoothed."""
    xs = [x for stroke in ink.strokes for x, _ in stroke]
    ys = [y for stroke in ink.strokes for _, y in stroke]
    left, top = min(xs), min(ys)
    size = max(max(xs) - left, max(ys) - top)
    if size <= 0:
        # One tap: a dot in the middle.
        return [[(BOX // 2, BOX // 2), (BOX // 2, BOX // 2)] for _ in ink.strokes]
    scale = FILL * BOX / size
    offset_x = (BOX - (max(xs) - left) * scale) / 2
    offset_y = (BOX - (max(ys) - top) * scale) / 2
    step = MIN_STEP * size
    strokes = []
    for stroke in ink.strokes:
        kept = [stroke[0]]
        for point in stroke[1:-1]:
            if math.dist(point, kept[-1]) >= step:
                kept.append(point)
        if len(stroke) > 1:
            if len(kept) > 1 and math.dist(stroke[-1], kept[-1]) < step:
                kept[-1] = stroke[-1]
            else:
                kept.append(stroke[-1])
        # Each inner point moves halfway to its neighbours' middle: the
        # finger's shake goes, the corners stay.
        smooth = [kept[0]]
        for before, point, after in zip(kept, kept[1:], kept[2:]):
            smooth.append(((2 * point[0] + before[0] + after[0]) / 4, (2 * point[1] + before[1] + after[1]) / 4))
        if len(kept) > 1:
            smooth.append(kept[-1])
        else:
            smooth.append(kept[0])
        strokes.append(
            [(round((x - left) * scale + offset_x), round((y - top) * scale + offset_y)) for x, y in smooth]
        )
    return strokes


class Handwriting:
    """The station's handwriting engine: zinnia and the lexicon, ready for any thread."""

    def __init__(self, recognizer: Recognizer, words: lexicon.Lexicon):
        self.recognizer = recognizer
        self.lexicon = words

    def recognise(self, ink: Ink, context: str = "", limit: int = 8) -> list[str]:
        """The likeliest characters for ``ink``, best first, after ``context`` (what was written before)."""
        found = self.recognizer.classify(normalise(ink), BOX, BOX, NBEST)
        return [ch for ch, _ in self.rank(found, context)][: max(1, min(limit, MAX_CANDIDATES))]

    def rank(self, found: list[tuple[str, float]], context: str) -> list[tuple[str, float]]:
        """zinnia's list ranked again by the lexicon (scores: higher is likelier)."""
        before = context.rstrip()[-1:]
        following = self.lexicon.following(before, [ch for ch, _ in found]) if lexicon.is_han(before) else {}
        share = CONTEXT_SHARE if following or (before and self.lexicon.weights.get(before, (0, 0))[1]) else 0.0

        def score(item: tuple[str, float]) -> float:
            ch, zinnia_score = item
            likelihood = share * following.get(ch, 0.0) + (1 - share) * self.lexicon.frequency(ch)
            return zinnia_score + LEXICON_WEIGHT * math.log(likelihood)

        return sorted(((ch, score((ch, s))) for ch, s in found), key=lambda item: -item[1])


class HandwritingUnavailable(RuntimeError):
    """The engine cannot run on this box (a package missing): the kiosk says
    so and offers pinyin, the log says what is missing."""


_engine: Handwriting | None = None
_engine_lock = threading.Lock()


def engine(instance_path: str | Path) -> Handwriting:
    """This process's engine, made on first use (the lexicon too, if the
    instance folder has none yet)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                words = lexicon.Lexicon(lexicon.ensure(Path(instance_path) / "ime"))
                _engine = Handwriting(Recognizer(), words)
            except (OSError, ZinniaError, sqlite3.Error) as error:
                log.error("handwriting cannot run: %s", error)
                raise HandwritingUnavailable(str(error)) from error
        return _engine
