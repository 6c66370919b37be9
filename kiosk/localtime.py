"""Local time (Asia/Shanghai by default) for dates people read."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(zone())


def format_local(moment: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(moment).strftime(pattern)


def today() -> date:
    """Today's local date: the calendar due dates, duty rosters and queues count in.

    Read from the box's clock (``kiosk.sync.clock.now``, which a test may
    replace), so every part of the product agrees on what today is.
    """
    from .sync.clock import now

    return to_local(now()).date()
