"""The time: one clock for the whole app, and local dates for people.

``now()`` is this box's clock in UTC and the one place a test may shift it
(``SYNC_CLOCK``, a callable), so due dates, duty rosters, queues and sync
agree on what time it is. People read dates and times in the local zone
(``TIMEZONE``, Asia/Shanghai); the wire spells times in UTC with a Z.
"""

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from .models import utcnow


def now() -> datetime:
    """This box's clock (UTC), or the ``SYNC_CLOCK`` callable a test configured."""
    clock = current_app.config.get("SYNC_CLOCK") if has_app_context() else None
    return clock() if clock else utcnow()


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(zone())


def format_local(moment: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(moment).strftime(pattern)


def today() -> date:
    """Today's local date: the calendar due dates, duty rosters and queues count in."""
    return to_local(now()).date()


def local_midnight_utc(day: date) -> datetime:
    """When the local ``day`` begins, in UTC: where a filter by local dates starts."""
    return datetime.combine(day, time(), tzinfo=zone()).astimezone(timezone.utc)


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    """The inverse of ``to_millis`` (UTC); TypeError or ValueError for anything but a whole number."""
    if type(millis) is not int:
        raise TypeError(f"not milliseconds: {millis!r}")
    return datetime.fromtimestamp(millis / 1000, timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """UTC with microseconds and a Z: one spelling on both sides, digests depend on it."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """The inverse of ``iso``; ValueError for anything else."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError("not a UTC time")
    moment = datetime.fromisoformat(text[:-1] + "+00:00")
    return moment
