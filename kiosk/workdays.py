"""Working days on China's official calendar, for due dates.

Public holidays and the weekend days swapped into working days (调休) come
from the ``chinese-calendar`` package; years it does not cover yet come from
an override file (see ``load_overrides``). Outside both, Monday to Friday
are working days.
"""

from datetime import date, datetime, timedelta

import chinese_calendar

from .localtime import to_local


def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, count: int) -> date:
    """The working day ``count`` working days after ``start`` (not counting ``start``)."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def due_dates(received_at: datetime, accept_days: int, answer_days: int) -> tuple[date, date]:
    """(accept by, close by): local dates counted from when the hub received it."""
    start = to_local(received_at).date()
    return add_working_days(start, accept_days), add_working_days(start, answer_days)
