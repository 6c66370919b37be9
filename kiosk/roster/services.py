"""The duty roster's rules, at the hub and at the station.

At the hub, township staff plan shifts (值班) for their own township's
stations (city staff for any): a shift names a deputy attached to that
station, a local date from today up to ``AHEAD_DAYS`` ahead, optionally a
start and an end time (both or neither, the end after the start) and a
public note. One shift per deputy, station and day. "Repeat monthly" plans
the same day of the month for the coming months, moving a date that falls
on a non-working day (China's official calendar, ``kiosk.workdays``) to the
next working day and passing over days the deputy is already on duty.
Shifts already past are history and stay as they are.

Every write takes the acting ``User`` first, writes one audit row in the
same transaction, logs one line and commits. A refused write raises
``RosterRefused`` with a Chinese message and changes nothing. Stations hear
of a changed roster through the sync change listener.

At the station, the pull's reference data carries the station's shifts from
the hub's today on, and ``apply_pulled_shifts`` makes the station's copy
match, keeping its past shifts.
"""

import calendar
import logging
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth.scope import visible_township_ids
from ..clock import local_midnight_utc, to_local
from ..clock import today as local_today
from ..extensions import db
from ..models import Deputy, DutyCheckin, DutyShift, Station, StationLevel, User
from ..refusals import Refused
from ..workdays import add_working_days, is_working_day

log = logging.getLogger(__name__)

# How far ahead a shift may be planned: a year and a month, so twelve
# monthly repeats fit even when a holiday moves the last one on.
AHEAD_DAYS = 400
NOTE_MAX = 100
MONTHS_MAX = 12
WEEKDAYS = "一二三四五六日"
# Centre first, then stations, then points.
LEVEL_ORDER = {"center": 0, "station": 1, "point": 2}


class RosterRefused(Refused):
    """A roster change the rules do not allow; ``field`` names the form field at fault."""


def weekday_label(day: date) -> str:
    return f"星期{WEEKDAYS[day.weekday()]}"


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


# --- reading ----------------------------------------------------------------


def stations_for(user: User, township_id: int | None = None) -> list[Station]:
    """The stations whose roster ``user`` may plan, by township, level and code (no duty at the online one)."""
    query = select(Station).where(Station.level != StationLevel.ONLINE).options(selectinload(Station.township))
    ids = visible_township_ids(user)
    if ids is not None:
        query = query.where(Station.township_id.in_(ids))
    if township_id is not None:
        query = query.where(Station.township_id == township_id)
    level = case(LEVEL_ORDER, value=Station.level, else_=len(LEVEL_ORDER))
    return list(db.session.scalars(query.order_by(Station.township_id, level, Station.code)))


def shift_counts(codes: list[str], first: date, last: date) -> dict[str, int]:
    """Shifts per station between ``first`` and ``last`` (both included)."""
    if not codes:
        return {}
    rows = db.session.execute(
        select(DutyShift.station_code, func.count())
        .where(DutyShift.station_code.in_(codes), DutyShift.on >= first, DutyShift.on <= last)
        .group_by(DutyShift.station_code)
    )
    return dict(rows.all())


def month_shifts(station: Station, first: date) -> list[DutyShift]:
    """The station's shifts in the month starting ``first``, by date and time."""
    return list(
        db.session.scalars(
            select(DutyShift)
            .where(
                DutyShift.station_code == station.code,
                DutyShift.on >= first,
                DutyShift.on < next_month(first),
            )
            .options(selectinload(DutyShift.deputy))
            .order_by(DutyShift.on, DutyShift.starts, DutyShift.deputy_id)
        )
    )


def on_duty(station_code: str, day: date) -> list[DutyShift]:
    """Who is on duty at the station on ``day``, by start time (the kiosk's home screen)."""
    return list(
        db.session.scalars(
            select(DutyShift)
            .where(DutyShift.station_code == station_code, DutyShift.on == day)
            .options(selectinload(DutyShift.deputy))
            .order_by(DutyShift.starts, DutyShift.deputy_id)
        )
    )


def next_duty_days(station_code: str, day: date, per_deputy: int = 3) -> dict[int, list[DutyShift]]:
    """Each deputy's next shifts at the station from ``day`` on, at most ``per_deputy`` (本站代表)."""
    shifts = db.session.scalars(
        select(DutyShift)
        .where(DutyShift.station_code == station_code, DutyShift.on >= day)
        .order_by(DutyShift.on, DutyShift.starts)
    )
    upcoming: dict[int, list[DutyShift]] = {}
    for shift in shifts:
        days = upcoming.setdefault(shift.deputy_id, [])
        if len(days) < per_deputy:
            days.append(shift)
    return upcoming


# --- writing at the hub -----------------------------------------------------


def _facts(shift: DutyShift) -> dict:
    return {
        "station_code": shift.station_code,
        "deputy_id": shift.deputy_id,
        "on": shift.on.isoformat(),
        "starts": _clock(shift.starts),
        "ends": _clock(shift.ends),
        "note": shift.note,
    }


def _clock(moment: time | None) -> str | None:
    return moment.strftime("%H:%M") if moment else None


def _deputy_of(station: Station, deputy_id) -> Deputy:
    deputy = next((d for d in station.serving_deputies if d.id == deputy_id), None)
    if deputy is None:
        raise RosterRefused("这位代表不在本联络站，请从本站的代表中选择。", "deputy")
    return deputy


def _check_times(starts: time | None, ends: time | None) -> None:
    if (starts is None) != (ends is None):
        raise RosterRefused(
            "开始和结束时间请都填上，或都不填（全天）。", "ends" if ends is None else "starts"
        )
    if starts is not None and starts >= ends:
        raise RosterRefused("结束时间要晚于开始时间。", "ends")


def _check_day(day: date, today: date) -> None:
    if day < today:
        raise RosterRefused("这一天已经过去了，只能安排今天及以后的值班。", "on")
    if day > today + timedelta(days=AHEAD_DAYS):
        raise RosterRefused(f"值班最远只能安排到 {today + timedelta(days=AHEAD_DAYS):%Y年%m月%d日}。", "on")


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise RosterRefused(f"备注最多 {NOTE_MAX} 个字。", "note")
    return note


def _taken(station: Station, deputy_id: int, days: list[date]) -> set[date]:
    if not days:
        return set()
    return set(
        db.session.scalars(
            select(DutyShift.on).where(
                DutyShift.station_code == station.code,
                DutyShift.deputy_id == deputy_id,
                DutyShift.on.in_(days),
            )
        )
    )


def _commit_or_refuse(message: str) -> None:
    """Commit; a shift another request planned meanwhile (the unique key) refuses instead."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RosterRefused(message, "on")


def add_shift(
    actor: User,
    station: Station,
    deputy_id: int,
    on: date,
    starts: time | None = None,
    ends: time | None = None,
    note: str | None = None,
    today: date | None = None,
) -> DutyShift:
    """Plan one shift: a deputy of ``station`` on a day from today on, not already on duty that day."""
    today = today or local_today()
    deputy = _deputy_of(station, deputy_id)
    _check_day(on, today)
    _check_times(starts, ends)
    note = _clean_note(note)
    taken = f"{deputy.name} {on:%Y年%m月%d日} 已经在本站值班了。"
    if _taken(station, deputy.id, [on]):
        raise RosterRefused(taken, "on")
    shift = DutyShift(
        station_code=station.code, deputy_id=deputy.id, on=on, starts=starts, ends=ends, note=note
    )
    db.session.add(shift)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise RosterRefused(taken, "on")
    audit.record("duty.add", actor=actor, subject=f"duty:{shift.id}", after=_facts(shift))
    _commit_or_refuse(taken)
    log.info(
        "duty shift %s added at %s for deputy %s on %s by %s",
        shift.id,
        station.code,
        deputy.id,
        on,
        actor.username,
    )
    return shift


def remove_shift(actor: User, shift: DutyShift, today: date | None = None) -> None:
    """Take a shift off the roster; a shift already past stays as history."""
    today = today or local_today()
    if shift.on < today:
        raise RosterRefused("已经过去的值班是历史记录，不能删除。")
    facts = _facts(shift)
    audit.record("duty.remove", actor=actor, subject=f"duty:{shift.id}", before=facts)
    db.session.delete(shift)
    db.session.commit()
    log.info("duty shift %s removed at %s by %s", shift.id, facts["station_code"], actor.username)


def monthly_dates(day_of_month: int, months: int, today: date) -> list[date]:
    """The ``day_of_month`` of each of the next ``months`` months, from today on.

    Starts this month if that day is still to come (today included), else
    next month. A month without that day (the 31st in April) uses its last
    day; a non-working day moves to the next working day.
    """
    first = month_start(today)
    wanted: list[date] = []
    while len(wanted) < months:
        day = first.replace(day=min(day_of_month, calendar.monthrange(first.year, first.month)[1]))
        if day >= today:
            wanted.append(day if is_working_day(day) else add_working_days(day, 1))
        first = next_month(first)
    return wanted


@dataclass(frozen=True)
class Repeated:
    added: list[DutyShift]
    # Days the deputy was already on duty, passed over.
    already: list[date]


def repeat_monthly(
    actor: User,
    station: Station,
    deputy_id: int,
    day_of_month: int,
    months: int = MONTHS_MAX,
    starts: time | None = None,
    ends: time | None = None,
    note: str | None = None,
    today: date | None = None,
) -> Repeated:
    """Plan a deputy on the same day of each coming month (see ``monthly_dates``).

    Days the deputy is already on duty at this station are passed over; if
    that leaves nothing to add, it is refused. One audit row lists the days.
    """
    today = today or local_today()
    deputy = _deputy_of(station, deputy_id)
    if not 1 <= day_of_month <= 31:
        raise RosterRefused("每月几号请填 1 到 31。", "day")
    if not 1 <= months <= MONTHS_MAX:
        raise RosterRefused(f"连续几个月请填 1 到 {MONTHS_MAX}。", "months")
    _check_times(starts, ends)
    note = _clean_note(note)
    days = monthly_dates(day_of_month, months, today)
    already = _taken(station, deputy.id, days)
    fresh = [d for d in days if d not in already]
    if not fresh:
        raise RosterRefused(f"{deputy.name} 在这些日子都已经在本站值班了，没有要新增的。", "day")
    shifts = [
        DutyShift(station_code=station.code, deputy_id=deputy.id, on=d, starts=starts, ends=ends, note=note)
        for d in fresh
    ]
    db.session.add_all(shifts)
    refusal = f"{deputy.name} 的值班刚被别人改过，请刷新后再试。"
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise RosterRefused(refusal, "day")
    audit.record(
        "duty.repeat",
        actor=actor,
        subject=f"station:{station.code}",
        after={
            "deputy_id": deputy.id,
            "days": [d.isoformat() for d in fresh],
            "starts": _clock(starts),
            "ends": _clock(ends),
            "note": note,
        },
        note=f"每月 {day_of_month} 日，{months} 个月"
        + (f"；已有 {len(already)} 天未重复安排" if already else ""),
    )
    _commit_or_refuse(refusal)
    log.info(
        "duty shifts added at %s for deputy %s on %d days (%d already planned) by %s",
        station.code,
        deputy.id,
        len(fresh),
        len(already),
        actor.username,
    )
    return Repeated(shifts, sorted(already))


# --- travelling to the station ----------------------------------------------


def shifts_for_pull(station: Station, from_day: date) -> list[dict]:
    """The station's shifts from ``from_day`` on, for its current deputies (the pull's reference data).

    No end date: the pull sends reference data only when something changed,
    so a cut-off would keep a shift that moves into it from ever arriving.
    Planning ahead is bounded by ``AHEAD_DAYS`` instead.
    """
    deputy_ids = [d.id for d in station.serving_deputies]
    if not deputy_ids:
        return []
    rows = db.session.scalars(
        select(DutyShift)
        .where(
            DutyShift.station_code == station.code,
            DutyShift.on >= from_day,
            DutyShift.deputy_id.in_(deputy_ids),
        )
        .order_by(DutyShift.on, DutyShift.starts, DutyShift.deputy_id)
    )
    return [
        {
            "id": s.id,
            "deputy_id": s.deputy_id,
            "on": s.on.isoformat(),
            "starts": _clock(s.starts),
            "ends": _clock(s.ends),
            "note": s.note,
        }
        for s in rows
    ]


def _pulled(item) -> tuple:
    """(id, deputy_id, on, starts, ends, note) from one pulled shift; ValueError or TypeError if malformed."""
    if not isinstance(item, dict):
        raise TypeError("a duty shift must be an object")
    shift_id, deputy_id, note = item["id"], item["deputy_id"], item.get("note")
    if type(shift_id) is not int or type(deputy_id) is not int:
        raise ValueError(f"duty shift ids must be whole numbers: {item!r}")
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
        raise ValueError(f"duty shift {shift_id}: bad note")
    starts, ends = (
        time.fromisoformat(item[k]) if item.get(k) is not None else None for k in ("starts", "ends")
    )
    if starts is not None and ends is not None and starts >= ends:
        raise ValueError(f"duty shift {shift_id}: ends before it starts")
    return shift_id, deputy_id, date.fromisoformat(item["on"]), starts, ends, note


def apply_pulled_shifts(station: Station, from_day: str | None, items) -> int:
    """Station side: make this station's shifts from ``from_day`` on what the hub sent.

    Shifts before ``from_day`` (history) stay. A shift for a deputy not
    attached to the station here is left out (the hub sends none). Runs in
    the pull's transaction; ValueError (or KeyError, TypeError) for a
    malformed answer, which the caller rolls back. Returns the shifts held.
    """
    if not isinstance(items, list):
        raise TypeError("duty_shifts must be a list")
    pulled = [_pulled(item) for item in items]
    first = date.fromisoformat(from_day) if from_day is not None else local_today()
    deputies = {d.id for d in station.deputies}
    wanted = {p[0]: p for p in pulled if p[1] in deputies}
    held = db.session.scalars(
        select(DutyShift).where(
            DutyShift.station_code == station.code, or_(DutyShift.on >= first, DutyShift.id.in_(list(wanted)))
        )
    ).all()
    kept = set()
    for shift in held:
        if wanted.get(shift.id) == (
            shift.id,
            shift.deputy_id,
            shift.on,
            shift.starts,
            shift.ends,
            shift.note,
        ):
            kept.add(shift.id)
        else:
            db.session.delete(shift)
    # Deletions first: a new shift may take a removed one's deputy and day.
    db.session.flush()
    for shift_id, deputy_id, on, starts, ends, note in wanted.values():
        if shift_id not in kept:
            db.session.add(
                DutyShift(
                    id=shift_id,
                    station_code=station.code,
                    deputy_id=deputy_id,
                    on=on,
                    starts=starts,
                    ends=ends,
                    note=note,
                )
            )
    return len(wanted)


# --- the roster against who actually checked in ------------------------------------


@dataclass(frozen=True)
class Attendance:
    """A station's check-ins of one month, by deputy and local day, as synced from the station."""

    checked_in: dict[tuple[int, date], list[str]]  # (deputy, day) -> local times HH:MM
    # Check-ins on a day the deputy had no shift here: (day, name, time).
    unplanned: list[tuple[date, str, str]]


def month_attendance(station: Station, first: date, shifts: list[DutyShift]) -> Attendance:
    """The month's check-ins at ``station`` against its ``shifts``."""
    rows = db.session.execute(
        select(DutyCheckin.deputy_id, DutyCheckin.created_at, Deputy.name)
        .join(Deputy, Deputy.id == DutyCheckin.deputy_id)
        .where(
            DutyCheckin.station_code == station.code,
            DutyCheckin.created_at >= local_midnight_utc(first),
            DutyCheckin.created_at < local_midnight_utc(next_month(first)),
        )
        .order_by(DutyCheckin.created_at)
    ).all()
    planned = {(s.deputy_id, s.on) for s in shifts}
    checked_in: dict[tuple[int, date], list[str]] = {}
    unplanned = []
    for deputy_id, at, name in rows:
        local = to_local(at)
        key = (deputy_id, local.date())
        checked_in.setdefault(key, []).append(local.strftime("%H:%M"))
        if key not in planned:
            unplanned.append((local.date(), name, local.strftime("%H:%M")))
    return Attendance(checked_in, unplanned)
