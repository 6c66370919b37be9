"""The kiosk asks its own station for handwriting candidates and 联想 words
(the pinyin look-ups are in ``routes.py``).

Both answer JSON to the kiosk's script (static/js/kiosk/handwriting.js), by
POST so that what a villager wrote stays out of addresses and logs.
"""

from flask import current_app, jsonify, request

from ..text import clean_text
from . import bp
from .handwriting import HandwritingUnavailable, InkRefused, engine, read_ink

# What the pad sends: one character's ink, and at most this much text before it.
MAX_BODY = 256 * 1024
CONTEXT_CHARACTERS = 8
UNAVAILABLE = "手写输入暂时不能用，请点“拼音”打字。"


def _context(value) -> str:
    return clean_text(value)[-CONTEXT_CHARACTERS:] if isinstance(value, str) else ""


def _body() -> dict:
    request.max_content_length = MAX_BODY
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.post("/handwriting")
def recognise_handwriting():
    """The likeliest characters for the ink written on the pad, best first."""
    data = _body()
    try:
        ink = read_ink(data)
    except InkRefused as refusal:
        return jsonify(candidates=[], message=refusal.message), 422
    try:
        handwriting = engine(current_app.instance_path)
    except HandwritingUnavailable:
        return jsonify(candidates=[], message=UNAVAILABLE), 503
    return jsonify(candidates=handwriting.recognise(ink, _context(data.get("context")), limit=10))


@bp.post("/associated")
def associate():
    """Words to offer after what is written so far (联想)."""
    text = _context(_body().get("text"))
    try:
        handwriting = engine(current_app.instance_path)
    except HandwritingUnavailable:
        return jsonify(words=[], message=UNAVAILABLE), 503
    return jsonify(words=[{"word": a.word, "replaces": a.replaces} for a in handwriting.lexicon.associations(text)])
