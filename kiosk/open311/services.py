"""Open311 GeoReport v2, read-only: what the public may know of each opinion.

A service request is an opinion seen from outside: its receipt number, its
category, its station (a public place), open or closed, the public reply,
who is handling it and its times. Never what the constituent wrote, never
contact details, 验证码 or staff names: the queries below select only the
public columns, so nothing else can slip into an answer.

Lists are newest first, at most ``MAX_REQUESTS`` long, and cover the last 90
days unless asked otherwise (at most 90 days at a time, as the standard
says), so every list is one walk down an index.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..clock import to_local, zone
from ..extensions import db
from ..models import (
    FINISHED_STATUSES,
    Category,
    Department,
    Opinion,
    OpinionStatus,
    Station,
    Township,
    utcnow,
)
from ..parsing import EARLIEST_DAY, LATEST_DAY
from ..receipts.numbers import normalise_receipt_number
from ..refusals import Refused

MAX_REQUESTS = 1000
WINDOW = timedelta(days=90)
STATUSES = ("open", "closed")
SERVICE_GROUP = "人大代表联络站意见建议"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API's fields last changed (discovery.json's changeset).
CHANGESET = "2026-11-28T00:00:00+08:00"


class BadParameter(Refused, ValueError):
    """A query parameter the API cannot answer; ``message`` says which and why (Chinese)."""


# W3C date and time (https://www.w3.org/TR/NOTE-datetime): a year, a month,
# a day, or a day with a time and a zone. A "+" left unescaped in a query
# string arrives as a space; it is read as the "+" it was.
W3C = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6})\d*)?)?"
    r"(?P<zone>[Zz]|[+\- ]\d{2}:?\d{2})?)?)?)?"
)


def parse_w3c(text: str, name: str, *, end: bool = False) -> datetime:
    """A W3C date-time as an aware UTC datetime; BadParameter otherwise.

    A date without a time means the local day (Asia/Shanghai); as an
    ``end`` it means the last moment of that day (or month, or year).
    """
    match = W3C.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        parts = match.groupdict()
        year, month, day = int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1)
        if not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
            raise BadParameter(f"{name} 的年份须在 {EARLIEST_DAY.year} 至 {LATEST_DAY.year} 之间")
        if parts["hour"] is None:
            start = datetime.combine(date(year, month, day), time(), zone())
            if not end:
                return start
            if parts["day"]:
                following = start + timedelta(days=1)
            elif parts["month"]:
                following = start.replace(year=year + month // 12, month=month % 12 + 1)
            else:
                following = start.replace(year=year + 1)
            return following - timedelta(microseconds=1)
        moment = datetime(
            year,
            month,
            day,
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
        )
        return moment.replace(tzinfo=_offset(parts["zone"])).astimezone(zone())
    except BadParameter:
        raise
    except ValueError:
        raise BadParameter(f"{name} 不是 W3C 格式的日期时间，例如 2026-01-01T00:00:00+08:00") from None


def _offset(text: str | None) -> tzinfo:
    if text is None:
        return zone()  # no zone given: local time, as people here read it
    if text in "Zz":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def w3c(moment: datetime | None) -> str | None:
    """Local time with its offset, e.g. 2026-01-05T09:30:00+08:00."""
    return to_local(moment).isoformat(timespec="seconds") if moment else None


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class RequestQuery:
    """The filters of ``requests.json``, checked.

    ``numbers`` (service_request_id) overrides every other filter, as the
    standard says. Otherwise ``start``..``end`` (inclusive) is always set.
    """

    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def from_args(cls, args, now: datetime | None = None) -> "RequestQuery":
        """Read the standard parameters; BadParameter for any that cannot be answered."""
        asked = _list(args.get("service_request_id"))
        numbers = tuple(dict.fromkeys(normalise_receipt_number(number) for number in asked))
        if len(numbers) > MAX_REQUESTS:
            raise BadParameter(f"service_request_id 一次最多 {MAX_REQUESTS} 个")
        if numbers:
            return cls(numbers=numbers)
        statuses = tuple(dict.fromkeys(s.lower() for s in _list(args.get("status"))))
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise BadParameter(f"status 只能是 open 或 closed，不能是 {unknown[0]}")
        start_text, end_text = args.get("start_date", "").strip(), args.get("end_date", "").strip()
        start = parse_w3c(start_text, "start_date") if start_text else None
        end = parse_w3c(end_text, "end_date", end=True) if end_text else None
        if start is None and end is None:
            end = now or utcnow()
        if start is None:
            start = end - WINDOW
        if end is None:
            end = start + WINDOW
        if end < start:
            raise BadParameter("end_date 不能早于 start_date")
        if end - start > WINDOW + timedelta(days=1):
            raise BadParameter("start_date 与 end_date 相隔不能超过 90 天")
        return cls(
            service_codes=tuple(dict.fromkeys(_list(args.get("service_code")))),
            statuses=statuses if len(statuses) == 1 else (),
            start=start,
            end=end,
        )


def service_list() -> list[dict]:
    """The categories people can choose at a station, in the kiosk's order."""
    categories = db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.position, Category.code)
    )
    return [_service(category) for category in categories]


def service_definition(code: str) -> dict | None:
    """A category's definition: it asks nothing beyond the standard fields."""
    category = db.session.get(Category, code)
    return {"service_code": category.code, "attributes": []} if category else None


def _service(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": (
            f"{category.name}方面的意见建议。受理时限 {category.accept_days} 个工作日，"
            f"办结时限 {category.answer_days} 个工作日。"
        ),
        "metadata": False,
        "type": "realtime",
        "keywords": category.name,
        "group": SERVICE_GROUP,
    }


Original = aliased(Opinion)


def _public_columns():
    """The only columns an answer is made of: all of them public."""
    return (
        select(
            Opinion.receipt_number,
            Opinion.status,
            Opinion.public_reply,
            Opinion.category_code,
            Category.name.label("category_name"),
            Department.name.label("department_name"),
            Opinion.station_code,
            Station.name.label("station_name"),
            Township.name.label("township_name"),
            Township.kind.label("township_kind"),
            Opinion.reopen_count,
            Opinion.created_at,
            Opinion.updated_at,
            Opinion.hub_received_at,
            Opinion.close_due_on,
            Original.receipt_number.label("original_number"),
        )
        .join(Category, Category.code == Opinion.category_code)
        .join(Station, Station.code == Opinion.station_code)
        .join(Township, Township.id == Station.township_id)
        .outerjoin(Department, Department.id == Opinion.department_id)
        .outerjoin(Original, Original.uuid == Opinion.merged_into_uuid)
    )


def service_requests(query: RequestQuery) -> list[dict]:
    """Opinions matching ``query``, newest first, at most ``MAX_REQUESTS``."""
    stmt = _public_columns()
    if query.numbers:
        stmt = stmt.where(Opinion.receipt_number.in_(query.numbers))
    else:
        stmt = stmt.where(Opinion.created_at >= query.start, Opinion.created_at <= query.end)
        if query.service_codes:
            stmt = stmt.where(Opinion.category_code.in_(query.service_codes))
        if query.statuses == ("closed",):
            stmt = stmt.where(Opinion.status.in_(FINISHED_STATUSES))
        elif query.statuses == ("open",):
            stmt = stmt.where(Opinion.status.not_in(FINISHED_STATUSES))
    stmt = stmt.order_by(Opinion.created_at.desc(), Opinion.receipt_number.desc()).limit(MAX_REQUESTS)
    return [_request(row) for row in db.session.execute(stmt)]


def service_request(number: str) -> dict | None:
    """One opinion by its receipt number, or None."""
    number = normalise_receipt_number(number)
    row = db.session.execute(_public_columns().where(Opinion.receipt_number == number)).first()
    return _request(row) if row else None


# Statuses in which the opinion's department has it (转办, 已答复) or answered it (办结).
_DEPARTMENT_STATUSES = (OpinionStatus.FORWARDED, OpinionStatus.REPLIED, OpinionStatus.CLOSED)
# Statuses whose public reply is the answer standing now (as on the status page).
_ANSWERED_STATUSES = (OpinionStatus.CLOSED, OpinionStatus.DECLINED)


def _request(row) -> dict:
    """One service request from a row of ``_public_columns``.

    Rules: ``status_notes`` is the public reply only while the opinion stands
    closed or declined; reopened after 不满意, the previous round's reply is
    no answer any more, and the notes say it is being handled again until
    the next one. ``agency_responsible`` is the department only while it has
    the opinion (转办, 已答复) or answered it (办结); otherwise, and after a
    reopening, the township's office (镇人大办 / 街道人大工委).
    """
    finished = row.status in FINISHED_STATUSES
    notes = row.public_reply if row.status in _ANSWERED_STATUSES else None
    if row.status == OpinionStatus.MERGED and row.original_number:
        notes = f"{OpinionStatus.MERGED.label}，办理进展见 {row.original_number}。"
    elif not finished and row.reopen_count:
        notes = OpinionStatus.REOPENED.label
    office = Township(name=row.township_name, kind=row.township_kind).office_name
    agency = row.department_name if row.status in _DEPARTMENT_STATUSES else None
    return {
        "service_request_id": row.receipt_number,
        "status": "closed" if finished else "open",
        "status_notes": notes,
        "service_name": row.category_name,
        "service_code": row.category_code,
        "agency_responsible": agency or office,
        "requested_datetime": w3c(row.created_at),
        "updated_datetime": w3c(row.updated_at or row.hub_received_at or row.created_at),
        "expected_datetime": _end_of_day(row.close_due_on),
        # Stations are public places; a liaison point's street address is not given.
        "address": _place(row.township_name, row.station_name),
        "address_id": row.station_code,
        "lat": None,
        "long": None,
    }


def _end_of_day(day: date | None) -> str | None:
    return datetime.combine(day, time(23, 59, 59), zone()).isoformat() if day else None


def _place(township: str, station: str) -> str:
    return station if station.startswith(township) else f"{township}{station}"


def discovery(endpoint_url: str) -> dict:
    """The discovery document: one production endpoint, JSON only."""
    return {
        "changeset": CHANGESET,
        "contact": "各镇（街道）人大办",
        "key_service": "只读接口，无需密钥。",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json"],
            }
        ],
    }
