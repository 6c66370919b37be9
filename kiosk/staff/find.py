"""找回执: finding the opinion of a lost receipt from what its holder remembers."""

import logging
from datetime import date

from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..models import Opinion, User
from ..text import mask_phone
from .queue import QueueFilters, filtered, phone_condition

log = logging.getLogger(__name__)

FIND_LIMIT = 50


def find_receipts(
    user: User, station_code: str | None, day: date | None, category: str | None, phone_digits: str | None
) -> list[Opinion]:
    """Opinions matching what a person remembers of a lost receipt, newest first.

    The phone number matches on its digits anywhere in the number held (so
    the last four or more digits are enough; it is held only when given
    with consent), for those who may see contacts only; the date is the
    local submission date.
    """
    filters = QueueFilters(station_code=station_code or None, category=category or None, date_from=day, date_to=day)
    query = filtered(user, filters)
    if phone_digits:
        query = query.where(phone_condition(user, phone_digits))
    query = query.options(joinedload(Opinion.station), joinedload(Opinion.category))
    return list(db.session.scalars(query.order_by(Opinion.created_at.desc(), Opinion.uuid.desc()).limit(FIND_LIMIT)))


def record_find(
    user: User,
    station_code: str | None,
    day: date | None,
    category: str | None,
    phone_digits: str | None,
    found: int,
    note: str = "找回执查询",
) -> None:
    """The audit row of a search by phone (找回执, or the queue's): what was asked (the phone number masked) and how many were found."""
    asked = {
        "station": station_code or None,
        "day": day.isoformat() if day else None,
        "category": category or None,
        # Each number asked for (the queue may send several words) masked on its own.
        "phone": " ".join(mask_phone(part) for part in (phone_digits or "").split()) or None,
        "found": found,
    }
    audit.record("find", actor=user, after=asked, note=note)
    db.session.commit()
    log.info("find by %s: phone %s, %d found", user.username, asked["phone"] or "-", found)
