"""The time sync uses, replaceable in tests so back-off and expiry need no waiting."""

from datetime import datetime, timezone

from flask import current_app, has_app_context

from ..models import utcnow


def now() -> datetime:
    """This box's clock (UTC), or the ``SYNC_CLOCK`` callable a test configured."""
    clock = current_app.config.get("SYNC_CLOCK") if has_app_context() else None
    return clock() if clock else utcnow()


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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
