"""Working days on China's official calendar, for due dates.

Public holidays and the weekend days swapped into working days (调休) come
from the ``chinese-calendar`` package. Each year the State Council publishes
the next year's arrangement, usually after this software was released, so
override files add or correct dates: the one shipped in
``kiosk/data/workdays.toml``, then the instance's own (setting
``WORKDAY_OVERRIDES``, relative to the instance folder), which wins. A year
covered by neither the package nor an override file's ``years`` counts
Monday to Friday as working days, with a warning logged once.

An override file (TOML)::

    years = [2027]                        # years this file describes completely
    holidays = [2027-01-01, "2027-02-06..2027-02-12"]   # days off
    workdays = [2027-02-14]               # weekend days worked (调休)

Files are parsed once per modification time; a file that does not parse is
logged and ignored (due dates fall back to the package and weekdays rather
than failing every page).
"""

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar
from flask import current_app, has_app_context

from .clock import to_local

log = logging.getLogger(__name__)

SHIPPED_OVERRIDES = Path(__file__).resolve().parent / "data" / "workdays.toml"


@dataclass(frozen=True)
class Overrides:
    # date -> True (a working day) or False (a day off).
    days: dict[date, bool] = field(default_factory=dict)
    # Years described completely (no warning for them).
    years: frozenset[int] = frozenset()

    def then(self, later: "Overrides") -> "Overrides":
        """These overrides with ``later``'s on top."""
        return Overrides({**self.days, **later.days}, self.years | later.years)


class Calendar:
    """The package's data with the override files on top."""

    def __init__(self, overrides: Overrides):
        self.overrides = overrides

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides.days:
            return self.overrides.days[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self.overrides.years:
                _warn_uncovered(day.year)
            return day.weekday() < 5


def calendar() -> Calendar:
    """The calendar in force now (override files re-read when they change)."""
    overrides = _load(SHIPPED_OVERRIDES)
    instance_file = instance_overrides_path()
    if instance_file is not None:
        overrides = overrides.then(_load(instance_file))
    return Calendar(overrides)


def instance_overrides_path() -> Path | None:
    """The instance's override file (``WORKDAY_OVERRIDES``), if the app sets one."""
    if not has_app_context():
        return None
    setting = current_app.config.get("WORKDAY_OVERRIDES")
    if not setting:
        return None
    return Path(current_app.instance_path) / setting


def is_working_day(day: date) -> bool:
    return calendar().is_working_day(day)


def add_working_days(start: date, count: int) -> date:
    """The working day ``count`` working days after ``start`` (not counting ``start``)."""
    return _add_working_days(start, count, _files_as_now())


def _files_as_now() -> tuple:
    """The override files and their modification times: a day counted under them stays right until one changes."""
    files = [SHIPPED_OVERRIDES, instance_overrides_path()]
    stamp = []
    for path in files:
        try:
            stamp.append((str(path), path.stat().st_mtime_ns if path is not None else None))
        except FileNotFoundError:
            stamp.append((str(path), None))
    return tuple(stamp)


# Every push of a station dates its opinions' due days from the same day and the same
# few category periods: counted once a process (and again when a file changes).
@lru_cache(maxsize=256)
def _add_working_days(start: date, count: int, _files: tuple) -> date:
    days = calendar()
    day = start
    while count > 0:
        day += timedelta(days=1)
        if days.is_working_day(day):
            count -= 1
    return day


def due_dates(received_at: datetime, accept_days: int, answer_days: int) -> tuple[date, date]:
    """(accept by, close by): local dates counted from when the hub received it."""
    start = to_local(received_at).date()
    return add_working_days(start, accept_days), add_working_days(start, answer_days)


def parse_overrides(text: str) -> Overrides:
    """An override file's content; ValueError (in Chinese) when it is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"不是有效的 TOML：{error}") from None
    unknown = set(data) - {"years", "holidays", "workdays"}
    if unknown:
        raise ValueError(f"未知的项：{', '.join(sorted(unknown))}")
    years = data.get("years", [])
    if not isinstance(years, list) or not all(isinstance(y, int) and 1900 < y < 2200 for y in years):
        raise ValueError("years 应是年份列表，如 [2027]")
    days: dict[date, bool] = {}
    for key, working in (("holidays", False), ("workdays", True)):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise ValueError(f"{key} 应是日期列表")
        for entry in entries:
            for day in _dates(entry, key):
                if days.get(day, working) != working:
                    raise ValueError(f"{day} 同时列为放假和上班")
                days[day] = working
    return Overrides(days, frozenset(years))


def _dates(entry, key: str) -> list[date]:
    """One list entry: a TOML date, "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"."""
    if isinstance(entry, date) and not isinstance(entry, datetime):
        return [entry]
    if isinstance(entry, str):
        first, _, last = entry.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            raise ValueError(f"{key} 中的 {entry!r} 不是日期") from None
        if end < start or (end - start).days > 366:
            raise ValueError(f"{key} 中的 {entry!r} 不是有效的日期范围")
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]
    raise ValueError(f"{key} 中的 {entry!r} 不是日期")


def _load(path: Path) -> Overrides:
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        return Overrides()
    return _parse_file(str(path), modified)


@lru_cache(maxsize=16)
def _parse_file(path: str, modified: int) -> Overrides:
    try:
        overrides = parse_overrides(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        log.error("working-day override file %s ignored: %s", path, error)
        return Overrides()
    log.info("working-day overrides from %s: %d dates, years %s", path, len(overrides.days), sorted(overrides.years))
    return overrides


_warned_years: set[int] = set()


def _warn_uncovered(year: int) -> None:
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning(
            "no holiday calendar for %d: counting Monday to Friday as working days; "
            "add the official arrangement to the WORKDAY_OVERRIDES file",
            year,
        )
