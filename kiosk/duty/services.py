"""A deputy's duty at this station: check in with the PIN, the records made
in deputy mode, check out.

Every write here makes a new record (kiosk.models.deputy_records) and
changes none: a check-out is its own record naming its check-in, and a
check-in is ended once only. Wrong PINs count per deputy in the database
(``kiosk.limits``): five within 15 minutes lock that deputy's check-in at
this box for 15 minutes, and a locked check-in does not even compare the PIN.
"""

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from .. import limits
from ..clock import local_midnight_utc, now, today
from ..deputies.services import pin_matches
from ..extensions import db
from ..models import Activity, AssistedEntry, Deputy, DutyCheckin, DutyCheckout, Opinion, ReceptionEntry
from ..receipts.numbers import NUMBER, normalise_receipt_number
from ..refusals import Refused

log = logging.getLogger(__name__)

PIN_LIMIT = limits.Limit("deputy-pin", failures=5, window=timedelta(minutes=15), lock=timedelta(minutes=15))
ENDED_BY = ("deputy", "idle")


class CheckinLocked(Refused):
    """Too many wrong PINs for this deputy here: wait."""


class WrongPin(Refused):
    """The PIN did not match (or none is set)."""


def check_in(deputy: Deputy, station_code: str, pin: str | None, moment: datetime | None = None) -> DutyCheckin:
    """Check a deputy in with their PIN: a new check-in record, committed."""
    key = str(deputy.id)
    if (until := PIN_LIMIT.locked_until(key, moment)) is not None:
        raise _locked(deputy, until, moment)
    if not pin_matches(deputy, pin):
        PIN_LIMIT.record_failure(key, moment)
        log.info("duty check-in: wrong PIN for deputy %s", deputy.id)
        if (until := PIN_LIMIT.locked_until(key, moment)) is not None:
            raise _locked(deputy, until, moment)
        raise WrongPin("密码不对，请再输一次。" if deputy.pin_hash else "还没有设置值班密码，请联系镇人大办。")
    PIN_LIMIT.clear(key)
    checkin = DutyCheckin(station_code=station_code, deputy_id=deputy.id, created_at=moment or now())
    db.session.add(checkin)
    db.session.commit()
    log.info("duty check-in %s: deputy %s at %s", checkin.uuid, deputy.id, station_code)
    return checkin


def _locked(deputy: Deputy, until: datetime, moment: datetime | None) -> CheckinLocked:
    minutes = limits.minutes_left(until, moment)
    return CheckinLocked(f"密码输错次数太多，{deputy.name}代表的签到已暂停。请 {minutes} 分钟后再试。")


def open_checkin(uuid: str | None) -> DutyCheckin | None:
    """The check-in ``uuid`` if it has not ended yet."""
    if not uuid:
        return None
    checkin = db.session.get(DutyCheckin, uuid)
    if checkin is None or db.session.scalar(select(DutyCheckout.uuid).where(DutyCheckout.checkin_uuid == uuid)):
        return None
    return checkin


def check_out(checkin: DutyCheckin, ended_by: str) -> DutyCheckout:
    """End a check-in (签退, or left idle): its own record, once; a repeat returns the first."""
    if ended_by not in ENDED_BY:
        raise ValueError(ended_by)
    done = db.session.scalar(select(DutyCheckout).where(DutyCheckout.checkin_uuid == checkin.uuid))
    if done is not None:
        return done
    checkout = DutyCheckout(checkin_uuid=checkin.uuid, ended_by=ended_by)
    db.session.add(checkout)
    db.session.commit()
    log.info("duty check-out %s (%s)", checkin.uuid, ended_by)
    return checkout


def log_reception(checkin: DutyCheckin, people: int, about: str | None, receipt_numbers: list[str]) -> ReceptionEntry:
    """接待登记: one new entry, never edited."""
    entry = ReceptionEntry(
        checkin_uuid=checkin.uuid, people=people, about=about or None, receipt_numbers=" ".join(receipt_numbers) or None
    )
    db.session.add(entry)
    db.session.commit()
    log.info("reception entry %s: %s people", entry.uuid, people)
    return entry


def record_activity(checkin: DutyCheckin, people: int, topics: str, others: list[Deputy]) -> Activity:
    """联系群众活动 held today at this station: the deputy on duty and ``others`` present; one new record."""
    activity = Activity(
        station_code=checkin.station_code, held_on=today(), people=people, topics=topics, checkin_uuid=checkin.uuid
    )
    activity.deputies = sorted({checkin.deputy, *others}, key=lambda d: d.id)
    db.session.add(activity)
    db.session.commit()
    log.info("activity %s: %s people, %d deputies", activity.uuid, people, len(activity.deputies))
    return activity


def receipt_numbers(text: str | None) -> list[str]:
    """The receipt numbers typed in a reception entry (spaces, commas or 、 between), each of this box."""
    numbers = []
    for part in re.split(r"[\s,，、;；]+", text or ""):
        if not part:
            continue
        number = normalise_receipt_number(part)
        if not NUMBER.fullmatch(number) or db.session.scalar(select(Opinion.uuid).where(Opinion.receipt_number == number)) is None:
            raise Refused(f"本站没有回执编号 {part}。")
        if number not in numbers:
            numbers.append(number)
    return numbers


def entered_by(opinion_uuid: str) -> str | None:
    """The name of the deputy who typed this opinion for its constituent (代为录入), if one did."""
    if not opinion_uuid:  # the renderer's warm-up sample
        return None
    return db.session.scalar(
        select(Deputy.name)
        .join(DutyCheckin, DutyCheckin.deputy_id == Deputy.id)
        .join(AssistedEntry, AssistedEntry.checkin_uuid == DutyCheckin.uuid)
        .where(AssistedEntry.opinion_uuid == opinion_uuid)
    )


def todays_opinions(station_code: str) -> list[Opinion]:
    """This station's opinions of today (local date), newest first; the screen shows no contact detail."""
    return list(
        db.session.scalars(
            select(Opinion)
            .where(Opinion.station_code == station_code, Opinion.created_at >= local_midnight_utc(today()))
            .order_by(Opinion.created_at.desc())
        )
    )
