"""The station's pinyin look-ups: the kiosk's keyboard asks at every keystroke."""

from flask import current_app, jsonify, request

from ..parsing import bounded_int
from . import binding, bp, deploy, rime
from .screens import screen_key

PAGE_MAX = 12
OFFSET_MAX = 400
CONTEXT_MAX = 40


def refusal(message: str, status: int = 400):
    return jsonify(error=message), status


@bp.get("/candidates")
def candidates():
    """A page of candidates for the letters typed, after the text before them."""
    letters = request.args.get("letters", "")
    context = request.args.get("context", "")[-CONTEXT_MAX:]
    limit = bounded_int(request.args.get("limit", 8), 1, PAGE_MAX)
    offset = bounded_int(request.args.get("offset", 0), 0, OFFSET_MAX)
    if limit is None or offset is None:
        return refusal("候选页码不对")
    try:
        page = rime.engine(current_app).candidates(letters, context, limit, offset, key=screen_key())
    except rime.BadLetters:
        return refusal(rime.BadLetters.message)
    except (binding.RimeUnavailable, deploy.DeployFailed):
        current_app.logger.exception("pinyin engine unavailable")
        return refusal("拼音输入暂时不能用，请用手写或请工作人员帮忙", 503)
    return jsonify(letters=letters, candidates=page.candidates, offset=offset, more=page.more)


@bp.post("/pick")
def pick():
    """Take a candidate: its text for the field, and the letters it left to go on with."""
    letters = request.form.get("letters", "")
    context = request.form.get("context", "")[-CONTEXT_MAX:]
    number = bounded_int(request.form.get("number"), 0, OFFSET_MAX + PAGE_MAX)
    if number is None:
        return refusal("没有这个候选字")
    try:
        picked = rime.engine(current_app).pick(letters, number, context, key=screen_key())
    except rime.BadLetters:
        return refusal(rime.BadLetters.message)
    except IndexError:
        return refusal("没有这个候选字")
    except (binding.RimeUnavailable, deploy.DeployFailed):
        current_app.logger.exception("pinyin engine unavailable")
        return refusal("拼音输入暂时不能用，请用手写或请工作人员帮忙", 503)
    return jsonify(text=picked.text, rest=picked.rest)
