"""Opinions sent from a phone, through a deputy's or a station's QR code.

Rules:
- The page is the hub's: no login, no app. Whom it addresses (``Target``)
  comes from the address alone: a deputy's public id (random, kept across
  re-imports) or a station's code. A retired deputy, and the township's
  online station itself, have no page.
- A phone opinion is numbered under its township's online station (level
  ``online``), whose counter the hub keeps in the same transaction as the
  opinion: no real station's counter is touched, and the numbers look like
  every other receipt's. A township without one takes no phone opinion
  (``NoOnlineStation``) and its page says so.
- It enters the township's queue as a pushed opinion does: received now,
  its first two steps written, due dates counted from now; addressed to
  the deputy (or to the station whose code was scanned), channel ``phone``.
- Idempotent on the form's submission id, which becomes the opinion's
  UUID: a second tap or a reload of the answer finds the first opinion,
  and only the same page's same text ever does.
- Floods: so many per hour per page and per address (``kiosk.limits``
  rows, noted in the opinion's transaction); a refused submit saves nothing.
"""

import logging
import re
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..clock import now as clock_now
from ..extensions import db
from ..intake.services import next_receipt_number, objects_kept_after_commit
from ..limits import Limit, household, minutes_left
from ..models import (
    Category,
    Channel,
    Deputy,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Station,
    StationLevel,
    Township,
)
from ..receipts.numbers import STATION_CODE, make_secret
from ..refusals import Refused
from ..workdays import due_dates

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# Two phones may take a day's first number at the same moment; the loser tries again.
WRITE_ATTEMPTS = 3


class PhoneRefused(Refused):
    """A phone opinion not saved; the message is for the person holding the phone."""


class NoOnlineStation(PhoneRefused):
    def __init__(self, township: Township):
        super().__init__(f"{township.name}暂未开通手机留言，请到联络站留言或拨打{township.office_name}电话。")


class TooManyFromPhones(PhoneRefused):
    def __init__(self, minutes: int):
        super().__init__(f"这里刚收到很多条留言，请 {minutes} 分钟后再提交。您写的内容还在下面。")
        self.minutes = minutes


class SubmissionMismatch(PhoneRefused):
    def __init__(self):
        super().__init__("页面已过期，请再点一次“提交”。")


@dataclass(frozen=True)
class Target:
    """Whom a phone page addresses: a deputy, or a station (and through it its deputies)."""

    township: Township
    deputy: Deputy | None = None
    station: Station | None = None

    @property
    def limit_key(self) -> str:
        return f"d:{self.deputy.public_id}" if self.deputy else f"s:{self.station.code}"


def deputy_target(public_id: str) -> Target | None:
    """The page of a serving deputy, by their public id; None for anyone else."""
    if not public_id or len(public_id) > 16:
        return None
    deputy = db.session.scalar(select(Deputy).where(Deputy.public_id == public_id, Deputy.retired.is_(False)))
    if deputy is None:
        return None
    return Target(db.session.get(Township, deputy.township_id), deputy=deputy)


def station_target(code: str) -> Target | None:
    """The page of a station with a box, by its code; None for an unknown or online one."""
    if not STATION_CODE.fullmatch(code or ""):
        return None
    station = db.session.get(Station, code)
    if station is None or station.is_online:
        return None
    return Target(station.township, station=station)


def online_station(township_id: int) -> Station | None:
    """The township's online station, which numbers its phone opinions."""
    return db.session.scalar(
        select(Station).where(Station.township_id == township_id, Station.level == StationLevel.ONLINE)
    )


# A submission id as ``new_submission_id`` makes it.
UUID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.ASCII)


def new_submission_id() -> str:
    """The id a phone form carries, which becomes its opinion's UUID."""
    return str(uuid_module.uuid4())


def limits() -> tuple[Limit, Limit]:
    """(per page, per address): opinions from phones within the hour."""
    config = current_app.config
    return (
        Limit("phone-page", config["PHONE_SUBMITS_PER_HOUR_PER_PAGE"], HOUR, timedelta(0)),
        Limit("phone-address", config["PHONE_SUBMITS_PER_HOUR_PER_ADDRESS"], HOUR, timedelta(0)),
    )


def check_limits(target: Target, address: str, moment: datetime | None = None) -> None:
    """Refuse (``TooManyFromPhones``) while the page or the address has had its hour's opinions."""
    moment = moment or clock_now()
    page, per_address = limits()
    waits = [
        until
        for until in (page.next_free(target.limit_key, moment), per_address.next_free(household(address), moment))
        if until is not None
    ]
    if waits:
        log.warning("phone opinions: limit reached for %s", target.limit_key)
        raise TooManyFromPhones(minutes_left(max(waits), moment))


@dataclass(frozen=True)
class PhoneOpinion:
    """What the phone form gives, checked by its form (the kiosk's rules)."""

    category: Category
    content: str
    # None when the person stays anonymous; both given with consent.
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class Submitted:
    opinion: Opinion
    # False when an earlier request with this submission id made it.
    created: bool


def submit(target: Target, submission_id: str, given: PhoneOpinion, address: str, moment: datetime | None = None) -> Submitted:
    """Save a phone opinion, numbered under the township's online station. Commits.

    Raises ``PhoneRefused`` (nothing saved) when the township has no online
    station, a limit is reached or the submission id belongs to another text.
    """
    existing = db.session.get(Opinion, submission_id)
    if existing is not None:
        return Submitted(_same_submission(existing, target, given), created=False)
    online = online_station(target.township.id)
    if online is None:
        raise NoOnlineStation(target.township)
    moment = moment or clock_now()
    check_limits(target, address, moment)
    for attempt in range(WRITE_ATTEMPTS):
        try:
            opinion = _write(online, target, submission_id, given, address, moment)
            # The receipt page reads what was just written: no second read of it.
            with objects_kept_after_commit():
                db.session.commit()
        except IntegrityError:
            db.session.rollback()
            # The same submission twice at once: the other request saved it.
            existing = db.session.get(Opinion, submission_id)
            if existing is not None:
                return Submitted(_same_submission(existing, target, given), created=False)
            # Else another phone took the day's first number at the same moment: take the next.
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            online = online_station(target.township.id)
            continue
        log.info("phone opinion %s saved as %s for %s", submission_id, opinion.receipt_number, target.limit_key)
        return Submitted(opinion, created=True)


def _write(online: Station, target: Target, submission_id: str, given: PhoneOpinion, address: str, moment: datetime) -> Opinion:
    """The opinion, its first two steps, its counter and its limit counts, in the session's transaction."""
    accept_due, close_due = due_dates(moment, given.category.accept_days, given.category.answer_days)
    consent = current_app.config["PHONE_CONSENT_VERSION"] if given.contact_phone else None
    opinion = Opinion(
        uuid=submission_id,
        receipt_number=next_receipt_number(online.code, moment),
        secret=make_secret(),
        station_code=online.code,
        # The objects, not only their codes: the receipt page names them.
        station=online,
        category=given.category,
        content=given.content,
        deputy_id=target.deputy.id if target.deputy else None,
        addressed_station_code=target.station.code if target.station else None,
        channel=Channel.PHONE,
        consent_version=consent,
        contact_name=given.contact_name if consent else None,
        contact_phone=given.contact_phone if consent else None,
        created_at=moment,
        status=OpinionStatus.RECEIVED,
        township_id=target.township.id,
        hub_received_at=moment,
        updated_at=moment,
        accept_due_on=accept_due,
        close_due_on=close_due,
    )
    db.session.add(opinion)
    # The same first two steps as an opinion a station pushed: left, then received.
    db.session.add(OpinionEvent(opinion_uuid=submission_id, status=OpinionStatus.SUBMITTED, at=moment))
    db.session.add(OpinionEvent(opinion_uuid=submission_id, status=OpinionStatus.RECEIVED, at=moment))
    page, per_address = limits()
    page.note(target.limit_key, moment)
    per_address.note(household(address), moment)
    return opinion


def _same_submission(opinion: Opinion, target: Target, given: PhoneOpinion) -> Opinion:
    """The opinion an earlier request with this id made, if it is this page's and this text."""
    same = (
        opinion.channel == Channel.PHONE
        and opinion.deputy_id == (target.deputy.id if target.deputy else None)
        and opinion.addressed_station_code == (target.station.code if target.station else None)
        and opinion.content == given.content
    )
    if not same:
        raise SubmissionMismatch()
    return opinion
