"""找回执: finding the opinion of a lost receipt from what its holder remembers."""

import logging
from datetime import date

from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..models import Opinion, User
from ..text import mask_phone
from .queue import QueueFilters, filtered

log = logging.getLogger(__name__)

FIND_LIMIT = 50


def find_receipts(
    user: User, station_code: str | None, day: date | None, category: str | None, phone_digits: str | None
) -> list[Opinion]:
    """Opinions matching what a person remembers of a lost receipt, newest first.

    The phone number matches on its digits anywhere in the number held (so
    the last four or more digits are enough; it is held only when given
    with consent); the date is the local submission date.
    """
    filters = QueueFilters(station_code=station_code or None, category=category or None, date_from=day, date_to=day)
    query = filtered(user, filters)
    if phone_digits:
        query = query.where(Opinion.contact_phone.contains(phone_digits, autoescape=True))
    query = query.options(joinedload(Opinion.station), joinedload(Opinion.category))
    return list(db.session.scalars(query.order_by(Opinion.created_at.desc(), Opinion.uuid.desc()).limit(FIND_LIMIT)))


def record_find(
    user: User, station_code: str | None, day: date | None, category: str | None, phone_digits: str | None, found: int
) -> None:
    """The audit row of a 找回执 search: what was asked (the phone number masked) and how many were found."""
    asked = {
        "station": station_code or None,
        "day": day.isoformat() if day else None,
        "category": category or None,
        "phone": mask_phone(phone_digits) or None,
        "found": found,
    }
    audit.record("find", actor=user, after=asked, note="找回执查询")
    db.session.commit()
    log.info("find by %s: phone %s, %d found", user.username, asked["phone"] or "-", found)
