"""Local time (Asia/Shanghai by default) for dates people read."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(zone())


def format_local(moment: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(moment).strftime(pattern)
