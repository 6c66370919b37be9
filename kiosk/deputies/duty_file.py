"""A deputy's 履职档案: the year's figures, compiled from the records, never typed twice.

Days are local (Asia/Shanghai) dates. A duty day is attended when the
deputy checked in at that shift's station on that day; check-ins, the
people of the reception log and assisted entries count by when they were
made at the station; opinions by when they were left.
"""

from datetime import date, timedelta

from sqlalchemy import func, select

from ..clock import local_midnight_utc, to_local, today
from ..desk import figures as desk_figures
from ..extensions import db
from ..models import AssistedEntry, Deputy, DutyCheckin, DutyShift, Opinion, OpinionStatus, ReceptionEntry

FIGURES = (
    "duty_days_planned", "duty_days_attended", "checkins", "people_received",
    "assisted_entries", "opinions_addressed", "opinions_closed",
    *desk_figures.FIGURES,
)  # fmt: skip


def figures(deputy: Deputy, year: int) -> dict:
    """The year's figures of ``deputy`` (``FIGURES``): integers, and the ratings' counts."""
    return figures_between(deputy, date(year, 1, 1), date(year + 1, 1, 1))


def term_days(deputy: Deputy) -> tuple[date, date] | None:
    """The deputy's term as [first day, day after the last), or None when the directory has no term start."""
    if deputy.term_start is None:
        return None
    last = deputy.term_end or today()
    return deputy.term_start, last + timedelta(days=1)


def figures_between(deputy: Deputy, first_day: date, end_day: date) -> dict:
    """The figures of ``deputy`` for local days from ``first_day`` up to (not including) ``end_day``."""
    year_start, year_end = first_day, end_day
    start, end = local_midnight_utc(first_day), local_midnight_utc(end_day)
    in_year = lambda column: (column >= start, column < end)  # noqa: E731
    shifts = set(
        db.session.execute(
            select(DutyShift.station_code, DutyShift.on).where(
                DutyShift.deputy_id == deputy.id, DutyShift.on >= year_start, DutyShift.on < year_end
            )
        ).tuples()
    )
    checked_in = [
        (code, to_local(at).date())
        for code, at in db.session.execute(
            select(DutyCheckin.station_code, DutyCheckin.created_at).where(
                DutyCheckin.deputy_id == deputy.id, *in_year(DutyCheckin.created_at)
            )
        )
    ]
    attended = {day for code, day in shifts if (code, day) in set(checked_in)}
    mine = select(DutyCheckin.uuid).where(DutyCheckin.deputy_id == deputy.id)
    addressed = (Opinion.deputy_id == deputy.id, *in_year(Opinion.created_at))
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
    return {
        "duty_days_planned": len({day for _code, day in shifts}),
        "duty_days_attended": len(attended),
        "checkins": len(checked_in),
        "people_received": db.session.scalar(
            select(func.coalesce(func.sum(ReceptionEntry.people), 0)).where(
                ReceptionEntry.checkin_uuid.in_(mine), *in_year(ReceptionEntry.created_at)
            )
        ),
        "assisted_entries": count(AssistedEntry, AssistedEntry.checkin_uuid.in_(mine), *in_year(AssistedEntry.created_at)),
        "opinions_addressed": count(Opinion, *addressed),
        "opinions_closed": count(Opinion, *addressed, Opinion.status == OpinionStatus.CLOSED),
        **desk_figures.figures(deputy, start, end),
    }
