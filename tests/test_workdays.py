"""Working days on China's calendar: holidays, swapped working days (调休) and override files."""

import logging
import os
from datetime import date, datetime, timezone

import chinese_calendar
import pytest
from flask import Flask

from kiosk import workdays
from kiosk.workdays import SHIPPED_OVERRIDES, add_working_days, due_dates, is_working_day, parse_overrides

D = date.fromisoformat


@pytest.fixture
def office(tmp_path):
    """An app context with an instance folder of its own (for the override file)."""
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(WORKDAY_OVERRIDES="workdays.toml", TIMEZONE="Asia/Shanghai")
    with app.app_context():
        yield tmp_path


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(workdays, "_warned_years", set())


def write_overrides(folder, text, name="workdays.toml"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    # A new modification time even within the file system's clock resolution.
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
    return path


def test_the_package_knows_the_2026_spring_festival_as_asserted_below():
    holidays = {d for d in chinese_calendar.holidays if D("2026-02-01") <= d <= D("2026-03-01")}
    assert holidays == {D(f"2026-02-{n}") for n in range(15, 24)}
    assert {D("2026-02-14"), D("2026-02-28")} <= set(chinese_calendar.workdays)


@pytest.mark.parametrize(
    "day, working",
    [
        ("2026-02-13", True),  # Friday before the holiday
        ("2026-02-14", True),  # Saturday worked (调休)
        ("2026-02-15", False),
        ("2026-02-17", False),  # 春节 itself, a Tuesday
        ("2026-02-23", False),  # Monday, still the holiday
        ("2026-02-24", True),
        ("2026-02-28", True),  # Saturday worked (调休)
        ("2026-03-01", False),  # an ordinary Sunday
        ("2026-09-20", True),  # Sunday worked before National Day
        ("2026-10-01", False),
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday worked after National Day
        ("2026-10-11", False),
    ],
)
def test_holidays_and_swapped_working_days_of_2026(office, day, working):
    assert is_working_day(D(day)) is working


@pytest.mark.parametrize(
    "start, count, expected",
    [
        ("2026-02-12", 1, "2026-02-13"),
        ("2026-02-13", 1, "2026-02-14"),  # the swapped Saturday counts
        ("2026-02-14", 1, "2026-02-24"),  # nine days off in between
        ("2026-02-12", 3, "2026-02-24"),
        ("2026-02-16", 1, "2026-02-24"),  # counting from inside the holiday
        ("2026-02-24", 4, "2026-02-28"),  # Wed, Thu, Fri, then the swapped Saturday
        ("2026-02-13", 15, "2026-03-12"),
        ("2026-09-30", 1, "2026-10-08"),
        ("2026-09-24", 1, "2026-09-28"),  # Mid-Autumn Friday and the weekend off
        ("2026-10-09", 1, "2026-10-10"),
        ("2026-02-13", 0, "2026-02-13"),
    ],
)
def test_adding_working_days_across_the_holidays(office, start, count, expected):
    assert add_working_days(D(start), count) == D(expected)


def test_due_dates_count_from_the_local_day_the_hub_received_it(office):
    # 2026-02-12 17:30 UTC is already Friday the 13th in Shanghai.
    received = datetime(2026, 2, 12, 17, 30, tzinfo=timezone.utc)
    assert due_dates(received, 1, 15) == (D("2026-02-14"), D("2026-03-12"))


def test_a_year_nobody_covers_counts_weekdays_and_warns_once(office, fresh_warnings, caplog):
    caplog.set_level(logging.WARNING, logger="kiosk.workdays")
    assert is_working_day(D("2031-01-01")) is True  # a Wednesday, whatever the holiday
    assert is_working_day(D("2031-01-04")) is False  # a Saturday
    assert add_working_days(D("2031-01-03"), 1) == D("2031-01-06")
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1


def test_an_instance_file_adds_a_year_and_corrects_the_package(office, fresh_warnings, caplog):
    write_overrides(
        office,
        """
        years = [2031]
        holidays = [2031-01-01, "2031-01-22..2031-01-25", 2026-12-31]
        workdays = [2031-01-26]
        """,
    )
    caplog.set_level(logging.WARNING, logger="kiosk.workdays")
    assert is_working_day(D("2031-01-01")) is False
    assert [is_working_day(D(f"2031-01-{n}")) for n in range(21, 28)] == [True, False, False, False, False, True, True]
    assert is_working_day(D("2031-02-01")) is False  # an ordinary Saturday of a covered year
    assert add_working_days(D("2031-01-21"), 1) == D("2031-01-26")
    # The instance's file wins over the package.
    assert is_working_day(D("2026-12-31")) is False
    assert is_working_day(D("2026-12-30")) is True
    # A year the file covers raises no warning.
    assert not [r for r in caplog.records if "2031" in r.getMessage()]


def test_a_changed_override_file_is_read_again(office):
    write_overrides(office, "holidays = [2031-03-03]")
    assert is_working_day(D("2031-03-03")) is False
    write_overrides(office, "holidays = []")
    assert is_working_day(D("2031-03-03")) is True


def test_parsing_is_cached_until_the_file_changes(office, monkeypatch):
    write_overrides(office, "holidays = [2031-03-03]")
    is_working_day(D("2031-03-03"))
    calls = []
    real = workdays.parse_overrides
    monkeypatch.setattr(workdays, "parse_overrides", lambda text: calls.append(text) or real(text))
    add_working_days(D("2031-03-01"), 20)
    assert calls == []


def test_an_override_file_elsewhere_by_setting(office, tmp_path_factory):
    folder = tmp_path_factory.mktemp("etc")
    path = write_overrides(folder, "holidays = [2031-03-04]", name="holidays.toml")
    from flask import current_app

    current_app.config["WORKDAY_OVERRIDES"] = str(path)
    assert is_working_day(D("2031-03-04")) is False


def test_a_broken_override_file_is_logged_and_ignored(office, caplog):
    write_overrides(office, "holidays = [2026-12-31")
    caplog.set_level(logging.ERROR, logger="kiosk.workdays")
    assert is_working_day(D("2026-12-31")) is True
    assert any("ignored" in r.getMessage() for r in caplog.records)


def test_no_instance_file_is_fine(office):
    assert not (office / "workdays.toml").exists()
    assert is_working_day(D("2026-12-31")) is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("holidays = [2031-01-01]\nworkdays = [2031-01-01]", "同时列为放假和上班"),
        ("holiday = [2031-01-01]", "未知的项"),
        ('holidays = ["2031-13-01"]', "不是日期"),
        ('holidays = ["2031-01-05..2031-01-01"]', "日期范围"),
        ("holidays = 2031-01-01", "日期列表"),
        ("years = ['2031']", "年份"),
        ("holidays = [", "TOML"),
    ],
)
def test_override_mistakes_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_overrides(text)


def test_the_shipped_override_file_parses_and_invents_nothing():
    shipped = parse_overrides(SHIPPED_OVERRIDES.read_text(encoding="utf-8"))
    # Only dates of an officially published arrangement may ship; each
    # covered year must then be listed completely.
    for day in shipped.days:
        assert day.year in shipped.years


def test_the_instance_file_wins_over_the_shipped_one(office, tmp_path_factory, monkeypatch):
    shipped = write_overrides(tmp_path_factory.mktemp("data"), "years = [2031]\nholidays = [2031-03-05, 2031-03-06]")
    monkeypatch.setattr(workdays, "SHIPPED_OVERRIDES", shipped)
    write_overrides(office, "workdays = [2031-03-06]")
    assert is_working_day(D("2031-03-05")) is False
    assert is_working_day(D("2031-03-06")) is True
