"""The duty roster (值班安排): township staff plan deputies' shifts at the hub;
the pull takes each station its own; the kiosk's home screen shows today's."""

import re
from datetime import date, time, timedelta

import chinese_calendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kiosk.extensions import db
from kiosk.models import AuditEntry, Deputy, DutyShift, Station, SyncChange, User
from kiosk.roster import services as roster
from kiosk.roster.services import RosterRefused
from kiosk.sync import registry as hub_services
from kiosk.sync import station as station_sync
from tests.support import web
from tests.support.desk import signed_in
from tests.support.factories import make_user
from tests.support.inprocess import sync
from tests.support.web import path

# LC00 is a station of 罗城街道; SL00 the centre of 素龙街道, another township.
HOME, OTHER_TOWNSHIP = "LC00", "SL00"


def station(code: str = HOME) -> Station:
    return db.session.get(Station, code)


def outsider(code: str = HOME) -> Deputy:
    """A deputy of the same township who is not attached to station ``code``."""
    here = station(code)
    attached = {d.id for d in here.deputies}
    return db.session.scalar(
        select(Deputy).where(Deputy.township_id == here.township_id, Deputy.id.not_in(attached)).limit(1)
    )


def shift_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DutyShift))


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# --- the rules ------------------------------------------------------------------


@pytest.fixture
def clerk_user(hub):
    """A township clerk of 罗城街道 (a User), inside an open hub app context."""
    with hub.app_context():
        yield make_user()


def test_a_shift_is_planned_for_a_deputy_of_the_station_and_audited(hub, clerk_user):
    today = roster.local_today()
    deputy = station().deputies[0]
    shift = roster.add_shift(
        clerk_user, station(), deputy.id, today + timedelta(days=3), time(9), time(12), " 接待群众 "
    )
    assert (shift.station_code, shift.deputy_id, shift.note, shift.hours) == (
        HOME,
        deputy.id,
        "接待群众",
        "09:00–12:00",
    )
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "duty.add"))
    assert entry.subject == f"duty:{shift.id}" and entry.user_id == clerk_user.id
    assert entry.after["on"] == (today + timedelta(days=3)).isoformat() and entry.after["starts"] == "09:00"


def test_one_shift_per_deputy_station_and_day(hub, clerk_user):
    day = roster.local_today() + timedelta(days=1)
    deputy = station().deputies[0]
    roster.add_shift(clerk_user, station(), deputy.id, day)
    with pytest.raises(RosterRefused, match="已经在本站值班了"):
        roster.add_shift(clerk_user, station(), deputy.id, day, time(14), time(17))
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 1
    # The database holds to it too.
    db.session.add(DutyShift(station_code=HOME, deputy_id=deputy.id, on=day))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Another deputy the same day is fine.
    roster.add_shift(clerk_user, station(), station().deputies[1].id, day)


def test_the_deputy_must_belong_to_the_station(hub, clerk_user):
    stranger = outsider()
    with pytest.raises(RosterRefused, match="不在本联络站") as refused:
        roster.add_shift(clerk_user, station(), stranger.id, roster.local_today())
    assert refused.value.field == "deputy"
    with pytest.raises(RosterRefused, match="不在本联络站"):
        roster.repeat_monthly(clerk_user, station(), stranger.id, 15)
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize(
    "days, starts, ends, message",
    [
        (-1, None, None, "已经过去"),
        (roster.AHEAD_DAYS + 1, None, None, "最远只能安排到"),
        (0, time(9), None, "都填上"),
        (0, None, time(12), "都填上"),
        (0, time(12), time(9), "晚于开始时间"),
        (0, time(9), time(9), "晚于开始时间"),
    ],
)
def test_bad_days_and_times_are_refused(hub, clerk_user, days, starts, ends, message):
    deputy = station().deputies[0]
    with pytest.raises(RosterRefused, match=message):
        roster.add_shift(
            clerk_user, station(), deputy.id, roster.local_today() + timedelta(days=days), starts, ends
        )
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 0


def next_working_day(day: date) -> date:
    """Straight from chinese-calendar, not through the code under test."""
    while not chinese_calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def test_monthly_dates_move_off_non_working_days_in_2026():
    on_the_15th = roster.monthly_dates(15, 12, today=date(2026, 1, 1))
    assert on_the_15th == [next_working_day(date(2026, month, 15)) for month in range(1, 13)]
    # Spring Festival, a Sunday, a Saturday, a Sunday: moved to the next working day.
    assert on_the_15th[1] == date(2026, 2, 24)
    assert on_the_15th[2] == date(2026, 3, 16)
    assert on_the_15th[7] == date(2026, 8, 17)
    assert on_the_15th[10] == date(2026, 11, 16)
    assert on_the_15th[0] == date(2026, 1, 15) and on_the_15th[11] == date(2026, 12, 15)

    on_the_1st = roster.monthly_dates(1, 12, today=date(2026, 1, 1))
    assert on_the_1st == [next_working_day(date(2026, month, 1)) for month in range(1, 13)]
    # New Year's Day moves to Sunday the 4th, a weekend day worked (调休); Labour and National Day weeks pass.
    assert on_the_1st[0] == date(2026, 1, 4)
    assert on_the_1st[4] == date(2026, 5, 6)
    assert on_the_1st[9] == date(2026, 10, 8)


def test_monthly_dates_start_from_today_and_use_a_short_months_last_day():
    # The 15th has passed on 20 January: February first.
    assert roster.monthly_dates(15, 2, today=date(2026, 1, 20)) == [date(2026, 2, 24), date(2026, 3, 16)]
    # Today counts.
    assert roster.monthly_dates(15, 1, today=date(2026, 4, 15)) == [date(2026, 4, 15)]
    # No 31 April: the 30th (a Thursday).
    assert roster.monthly_dates(31, 2, today=date(2026, 4, 1)) == [
        date(2026, 4, 30),
        next_working_day(date(2026, 5, 31)),
    ]


def test_repeat_monthly_passes_over_days_already_planned(hub, clerk_user):
    deputy = station().deputies[0]
    today = date(2026, 1, 1)
    roster.add_shift(clerk_user, station(), deputy.id, date(2026, 3, 16), today=today)
    result = roster.repeat_monthly(
        clerk_user, station(), deputy.id, 15, 3, time(9), time(11, 30), "每月接待日", today=today
    )
    assert [s.on for s in result.added] == [date(2026, 1, 15), date(2026, 2, 24)]
    assert result.already == [date(2026, 3, 16)]
    days = db.session.scalars(
        select(DutyShift.on).where(DutyShift.deputy_id == deputy.id).order_by(DutyShift.on)
    )
    assert list(days) == [date(2026, 1, 15), date(2026, 2, 24), date(2026, 3, 16)]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "duty.repeat"))
    assert entry.after["days"] == ["2026-01-15", "2026-02-24"] and entry.subject == f"station:{HOME}"
    # Nothing left to add: refused, nothing written.
    with pytest.raises(RosterRefused, match="没有要新增的"):
        roster.repeat_monthly(clerk_user, station(), deputy.id, 15, 3, today=today)
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 3


def test_a_past_shift_stays_as_history(hub, clerk_user):
    deputy = station().deputies[0]
    shift = roster.add_shift(clerk_user, station(), deputy.id, date(2026, 1, 15), today=date(2026, 1, 1))
    with pytest.raises(RosterRefused, match="历史记录"):
        roster.remove_shift(clerk_user, shift, today=date(2026, 1, 16))
    roster.remove_shift(clerk_user, shift, today=date(2026, 1, 15))
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 0
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
    assert list(actions) == ["duty.add", "duty.remove"]


def test_a_changed_shift_is_a_reference_change_for_its_township(hub, clerk_user):
    before = db.session.scalar(select(func.coalesce(func.max(SyncChange.id), 0)))
    shift = roster.add_shift(clerk_user, station(), station().deputies[0].id, roster.local_today())
    roster.remove_shift(clerk_user, shift)
    changes = db.session.scalars(
        select(SyncChange).where(SyncChange.id > before).order_by(SyncChange.id)
    ).all()
    assert [(c.kind, c.township_id) for c in changes] == [("reference", station().township_id)] * 2


# --- the pages -------------------------------------------------------------------


def post(client, endpoint, data=None, **values):
    """Submit a form the way the browser does: with the CSRF token of roster.index's page."""
    return web.post(client, endpoint, data, token_from="roster.index", **values)


@pytest.fixture
def desk(hub):
    """A 罗城街道 clerk's browser."""
    return signed_in(hub)


def deputies_of(hub, code=HOME) -> list[tuple[int, str]]:
    with hub.app_context():
        return [(d.id, d.name) for d in station(code).deputies]


def today_of(hub) -> date:
    with hub.app_context():
        return roster.local_today()


def test_the_menu_leads_to_the_township_s_own_stations(hub, desk):
    page = desk.get(path(hub, "roster.index")).get_data(as_text=True)
    assert f'href="{path(hub, "roster.index")}"' in page and "值班安排" in page
    assert f'data-testid="station-{HOME}"' in page
    assert f'data-testid="station-{OTHER_TOWNSHIP}"' not in page
    # The centre first, then stations, then points.
    listed = re.findall(r'data-testid="station-(LC\d\d)"', page)
    assert listed[:2] == ["LC00", "LC01"] and listed[-1] > "LC50"
    city = signed_in(hub, role="city", township=None)
    page = city.get(path(hub, "roster.index")).get_data(as_text=True)
    assert f'data-testid="station-{HOME}"' in page and f'data-testid="station-{OTHER_TOWNSHIP}"' in page


def test_adding_a_shift_through_the_form(hub, desk):
    (deputy_id, name), _ = deputies_of(hub)[:2]
    day = today_of(hub) + timedelta(days=2)
    response = post(
        desk,
        "roster.add",
        {"deputy": deputy_id, "on": day.isoformat(), "starts": "09:00", "ends": "12:00", "note": "接待群众"},
        code=HOME,
    )
    assert response.status_code == 302
    assert response.location == path(hub, "roster.station", code=HOME, month=f"{day:%Y-%m}")
    page = desk.get(response.location).get_data(as_text=True)
    assert "已安排" in page and name in page and "09:00–12:00" in page and "接待群众" in page
    assert shift_count(hub) == 1 and audit_actions(hub) == ["duty.add"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"on": "明天"}, "请按“年-月-日”填写日期"),
        ({"on": ""}, "请选择日期。"),
        ({"starts": "9点"}, "请按“时:分”填写时间"),
        ({"starts": "12:00", "ends": "09:00"}, "结束时间要晚于开始时间。"),
        ({"deputy": "abc"}, "请从列表中选择。"),
        ({"note": "长" * 101}, "备注最多 100 个字。"),
        ({"on": "2020-01-01"}, "这一天已经过去了"),
    ],
)
def test_bad_input_is_shown_in_the_form_and_changes_nothing(hub, desk, change, message):
    deputy_id = deputies_of(hub)[0][0]
    data = {
        "deputy": deputy_id,
        "on": (today_of(hub) + timedelta(days=1)).isoformat(),
        "starts": "",
        "ends": "",
        **change,
    }
    response = post(desk, "roster.add", data, code=HOME)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert shift_count(hub) == 0 and audit_actions(hub) == []


def test_a_deputy_of_another_station_is_refused_in_the_form(hub, desk):
    with hub.app_context():
        stranger = outsider().id
    response = post(desk, "roster.add", {"deputy": stranger, "on": today_of(hub).isoformat()}, code=HOME)
    assert response.status_code == 200 and "请从列表中选择。" in response.get_data(as_text=True)
    assert shift_count(hub) == 0


def test_another_township_s_station_is_not_found_and_the_attempt_audited(hub, desk):
    deputy_id = deputies_of(hub, OTHER_TOWNSHIP)[0][0]
    assert desk.get(path(hub, "roster.station", code=OTHER_TOWNSHIP)).status_code == 404
    response = post(
        desk, "roster.add", {"deputy": deputy_id, "on": today_of(hub).isoformat()}, code=OTHER_TOWNSHIP
    )
    assert response.status_code == 404
    assert shift_count(hub) == 0
    with hub.app_context():
        denied = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
        township_id = station(OTHER_TOWNSHIP).township_id
    assert [(d.user_id, d.subject) for d in denied] == [(desk.user_id, f"township:{township_id}")] * 2
    # An unknown station is simply not there.
    assert desk.get(path(hub, "roster.station", code="NOPE")).status_code == 404


def test_city_staff_plan_any_township_s_station(hub):
    city = signed_in(hub, role="city", township=None)
    deputy_id = deputies_of(hub, OTHER_TOWNSHIP)[0][0]
    day = today_of(hub) + timedelta(days=1)
    response = post(city, "roster.add", {"deputy": deputy_id, "on": day.isoformat()}, code=OTHER_TOWNSHIP)
    assert response.status_code == 302 and shift_count(hub) == 1


def test_a_form_without_its_csrf_token_is_refused(hub, desk):
    deputy_id = deputies_of(hub)[0][0]
    day = today_of(hub) + timedelta(days=1)
    response = desk.post(
        path(hub, "roster.add", code=HOME), data={"deputy": deputy_id, "on": day.isoformat()}
    )
    assert response.status_code == 400
    assert shift_count(hub) == 0 and audit_actions(hub) == []


def test_removing_a_shift_through_the_form(hub, desk):
    deputy_id = deputies_of(hub)[0][0]
    day = today_of(hub) + timedelta(days=5)
    post(desk, "roster.add", {"deputy": deputy_id, "on": day.isoformat()}, code=HOME)
    with hub.app_context():
        shift_id = db.session.scalar(select(DutyShift.id))
    # Without the token: refused, still there.
    assert desk.post(path(hub, "roster.remove", code=HOME, shift_id=shift_id)).status_code == 400
    assert shift_count(hub) == 1
    # Through another station's address: not found.
    other = signed_in(hub, role="city", township=None)
    assert post(other, "roster.remove", code="LC01", shift_id=shift_id).status_code == 404
    response = post(desk, "roster.remove", code=HOME, shift_id=shift_id)
    assert response.status_code == 302
    assert "已取消" in desk.get(response.location).get_data(as_text=True)
    assert shift_count(hub) == 0 and audit_actions(hub) == ["duty.add", "duty.remove"]
    # A second click finds it gone and says so.
    again = post(desk, "roster.remove", code=HOME, shift_id=shift_id)
    assert again.status_code == 302 and "已经不在安排中" in desk.get(again.location).get_data(as_text=True)
    assert audit_actions(hub) == ["duty.add", "duty.remove"]


def test_repeating_monthly_through_the_form(hub, desk):
    deputy_id = deputies_of(hub)[0][0]
    response = post(
        desk,
        "roster.repeat",
        {"deputy": deputy_id, "day": "15", "months": "3", "starts": "09:00", "ends": "12:00"},
        code=HOME,
    )
    assert response.status_code == 302
    with hub.app_context():
        days = list(db.session.scalars(select(DutyShift.on).order_by(DutyShift.on)))
        expected = roster.monthly_dates(15, 3, roster.local_today())
    assert days == expected and len(days) == 3
    assert "已安排" in desk.get(response.location).get_data(as_text=True)
    # A day of the month no month has: refused in the form.
    response = post(desk, "roster.repeat", {"deputy": deputy_id, "day": "32", "months": "3"}, code=HOME)
    assert response.status_code == 200 and "每月几号请填 1 到 31。" in response.get_data(as_text=True)
    assert shift_count(hub) == 3


def test_the_month_page_lists_only_that_month_s_shifts(hub, desk):
    deputy_id = deputies_of(hub)[0][0]
    with hub.app_context():
        user = make_user(username="planner")
        today = roster.local_today()
        first_next = roster.next_month(roster.month_start(today))
        roster.add_shift(user, station(), deputy_id, first_next + timedelta(days=9), note="下月的接待日")
    this_month = desk.get(path(hub, "roster.station", code=HOME)).get_data(as_text=True)
    assert "下月的接待日" not in this_month and "这个月还没有安排值班" in this_month
    next_page = desk.get(path(hub, "roster.station", code=HOME, month=f"{first_next:%Y-%m}")).get_data(
        as_text=True
    )
    assert "下月的接待日" in next_page
    # A month that is not one shows this month rather than failing.
    assert desk.get(path(hub, "roster.station", code=HOME, month="2026-13")).status_code == 200


# --- to the station and on its screen ------------------------------------------------


def test_the_pull_brings_the_station_its_own_shifts_from_today_on(station_app, hub_app, transport):
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        clerk_user = make_user()
        clerk_id = clerk_user.id
        city = make_user(role="city", township=None)
        today = roster.local_today()
        here = station()
        first, second = here.deputies[0].id, here.deputies[1].id
        mine = roster.add_shift(clerk_user, here, first, today, time(9), time(12), "接待群众").id
        later = roster.add_shift(clerk_user, here, second, today + timedelta(days=40)).id
        # Yesterday's (written as history) and another station's stay at the hub.
        db.session.add(DutyShift(station_code=HOME, deputy_id=first, on=today - timedelta(days=1)))
        elsewhere = station("LC01")
        roster.add_shift(clerk_user, elsewhere, elsewhere.deputies[0].id, today)
        roster.add_shift(city, station(OTHER_TOWNSHIP), station(OTHER_TOWNSHIP).deputies[0].id, today)
    result = sync(station_app, transport)
    assert result.ok, result.error
    with station_app.app_context():
        held = db.session.scalars(select(DutyShift).order_by(DutyShift.on)).all()
        assert [(s.id, s.station_code, s.deputy_id, s.on, s.hours, s.note) for s in held] == [
            (mine, HOME, first, today, "09:00–12:00", "接待群众"),
            (later, HOME, second, today + timedelta(days=40), "", None),
        ]
    # A shift taken off the roster at the hub goes at the station too.
    with hub_app.app_context():
        roster.remove_shift(db.session.get(User, clerk_id), db.session.get(DutyShift, later))
    assert sync(station_app, transport).ok
    with station_app.app_context():
        assert list(db.session.scalars(select(DutyShift.id))) == [mine]


def test_the_station_keeps_its_past_shifts_and_a_hub_without_a_roster_changes_nothing(
    station_app, hub_app, transport
):
    assert sync(station_app, transport).ok
    with station_app.app_context():
        deputy_id = station().deputies[0].id
        today = roster.local_today()
        db.session.add(
            DutyShift(id=900, station_code=HOME, deputy_id=deputy_id, on=today - timedelta(days=30))
        )
        db.session.add(
            DutyShift(id=901, station_code=HOME, deputy_id=deputy_id, on=today + timedelta(days=3))
        )
        db.session.commit()
    with hub_app.app_context():
        reference = hub_services.reference_for(station())
        assert reference["duty_from"] == roster.local_today().isoformat() and reference["duty_shifts"] == []
        old_hub = {k: v for k, v in reference.items() if k not in ("duty_from", "duty_shifts")}
    with station_app.app_context():
        station_sync.apply_pull_answer({"cursor": 10**6, "opinions": [], "reference": old_hub})
        assert sorted(db.session.scalars(select(DutyShift.id))) == [900, 901]
        station_sync.apply_pull_answer({"cursor": 10**6 + 1, "opinions": [], "reference": reference})
        # The hub's roster from today on replaces the station's; history stays.
        assert list(db.session.scalars(select(DutyShift.id))) == [900]


def test_a_malformed_roster_in_the_pull_changes_nothing(station_app, hub_app):
    with hub_app.app_context():
        reference = hub_services.reference_for(station())
    with station_app.app_context():
        cursor = station_sync.status().cursor
        deputy_id = station().deputies[0].id
        bad = {
            **reference,
            "duty_shifts": [{"id": 1, "deputy_id": deputy_id, "on": "明天", "starts": None, "ends": None}],
        }
        with pytest.raises(station_sync.AnswerMalformed):
            station_sync.apply_pull_answer({"cursor": cursor + 5, "opinions": [], "reference": bad})
        assert station_sync.status().cursor == cursor
        assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 0


def test_the_home_screen_shows_today_s_deputies_on_duty(app, client):
    assert "今天值班代表" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        today = roster.local_today()
        first, second = station().deputies[:2]
        names = first.name, second.name
        initial = first.name[0]
        db.session.add(
            DutyShift(station_code=HOME, deputy_id=first.id, on=today, starts=time(9), ends=time(12))
        )
        db.session.add(DutyShift(station_code=HOME, deputy_id=second.id, on=today + timedelta(days=1)))
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    duty = re.search(r'data-testid="on-duty"[^>]*>(.*?)</section>', page, re.DOTALL).group(1)
    assert re.sub(r"<[^>]+>|\s", "", duty) == f"今天值班代表{initial}{names[0]}09:00–12:00"
    assert names[1] not in duty
