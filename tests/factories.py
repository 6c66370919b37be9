"""Test data made the way the product makes it."""

from kiosk.intake import services as intake
from kiosk.models import Opinion


def make_draft(station_code: str = "LC00", **answers):
    """A draft with the given answers (defaults: a complete anonymous one)."""
    draft = intake.start_draft(station_code)
    defaults = {"category": "road", "content": "村口的路灯坏了三个月，晚上很黑。", "anonymous": True}
    intake.save_answers(draft, **{**defaults, **answers})
    return draft


def make_opinion(station_code: str = "LC00", now=None, **answers) -> Opinion:
    draft = make_draft(station_code, **answers)
    return intake.submit_draft(draft.id, now=now).opinion
