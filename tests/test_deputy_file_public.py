"""The deputy's 履职档案 compiled from the records: the figures of a known data set, the public
page with public facts only, the A4 PDF, and the city table sorted by each figure."""

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kiosk.deputies import duty_file
from kiosk.extensions import db
from kiosk.models import (
    Activity,
    Deputy,
    DutyCheckin,
    DutyShift,
    OpinionStatus,
    ProfessionalGroup,
    ReportBack,
    Station,
    Topic,
    activity_opinions,
)
from tests.support.desk import Desk
from tests.support.factories import receive_opinion
from tests.support.receipts import fonts, page_size_mm, text

LOCAL = ZoneInfo("Asia/Shanghai")
YEAR = 2025
# What a constituent wrote and who they are: never on the public file.
SECRET_CONTENT = "我家门口的排水沟堵了，邻居陈阿婆家也被淹。"
NAME, PHONE = "梁小红", "13922223333"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL).astimezone(timezone.utc)


@pytest.fixture
def known(hub):
    """One deputy's 2025 (and the term up to it) with every figure known, and another deputy's noise."""
    with hub.app_context():
        station = db.session.get(Station, "LC00")
        me, other = station.deputies[0], station.deputies[1]
        closed = receive_opinion("LC00", created_at=at(date(YEAR, 3, 2)), deputy_id=me.id, content=SECRET_CONTENT,
                                 contact_name=NAME, contact_phone=PHONE)  # fmt: skip
        closed.status, closed.public_reply = OpinionStatus.CLOSED, "已疏通排水沟。"
        receive_opinion("LC00", created_at=at(date(YEAR, 4, 2)), deputy_id=me.id, content=SECRET_CONTENT)
        receive_opinion("LC00", created_at=at(date(YEAR, 4, 2)), deputy_id=other.id)
        first = Activity(station_code="LC00", held_on=date(YEAR, 3, 2), people=20, topics="排水沟清淤")
        first.deputies = [me, other]
        second = Activity(station_code="LC00", held_on=date(YEAR, 6, 1), people=9, topics="村道")
        second.deputies = [me]
        earlier = Activity(station_code="LC00", held_on=date(YEAR - 1, 6, 1), people=9, topics="去年的活动")
        earlier.deputies = [me]
        db.session.add_all([first, second, earlier])
        db.session.flush()
        db.session.execute(activity_opinions.insert().values(activity_uuid=first.uuid, opinion_uuid=closed.uuid))
        db.session.add_all([
            ReportBack(deputy_id=me.id, held_on=date(YEAR - 1, 11, 5), place="大坪村委会", voters_present=40,
                       satisfied=30, basic=8, unsatisfied=2, summary="值班十二次。"),
            ReportBack(deputy_id=other.id, held_on=date(YEAR, 5, 5), place="村委会", voters_present=30,
                       satisfied=20, basic=8, unsatisfied=2),
        ])  # fmt: skip
        group = ProfessionalGroup(township_id=me.township_id, name="城建环保小组")
        group.members = [me]
        db.session.add(group)
        db.session.flush()
        db.session.add_all([
            Topic(township_id=me.township_id, title="农村生活污水治理", year=YEAR, group_id=group.id, status="evaluated",
                  outcome="基本完成。", department="镇村建办"),
            Topic(township_id=me.township_id, title="村道硬底化", year=YEAR - 1, group_id=group.id, status="evaluated"),
            Topic(township_id=me.township_id, title="未分组专题", year=YEAR),
        ])  # fmt: skip
        db.session.commit()
        return me.id, me.public_id, other.id


def test_the_file_counts_the_known_records_for_the_year_and_the_term(hub, known):
    me, _public_id, other = known
    run = lambda *args: hub.test_cli_runner().invoke(args=["deputies", "file", str(me), *args, "--json"])  # noqa: E731
    year = run("--year", str(YEAR))
    assert year.exit_code == 0, year.output
    assert '"activities": 2' in year.output and '"report_backs": 0' in year.output and '"topics": 1' in year.output
    assert '"opinions_addressed": 2' in year.output and '"opinions_closed": 1' in year.output
    # The term (from 2021-12-01 with a five-year term from 2016-12-01) to the end of 2025.
    term = run("--term", "--year", str(YEAR))
    assert '"activities": 3' in term.output and '"report_backs": 1' in term.output and '"topics": 2' in term.output


def test_the_public_file_shows_the_figures_and_public_facts_only(hub, known):
    me, public_id, _other = known
    page = hub.test_client().get(f"/d/{public_id}/file?year={YEAR}")
    assert page.status_code == 200
    body = page.text
    with hub.app_context():
        deputy = db.session.get(Deputy, me)
        name, mobile = deputy.name, deputy.mobile
    assert name in body and "履职档案" in body
    assert re.search(r'data-testid="activities-1">2<', body) and re.search(r'data-testid="activities-2">3<', body)
    assert "已疏通排水沟。" in body and "排水沟清淤" in body and "农村生活污水治理" in body and "基本完成。" in body
    for private in (SECRET_CONTENT, NAME, PHONE, "陈阿婆", *( [mobile] if mobile else [])):
        assert private not in body
    # The deputy's public page carries the same file below its opinion form.
    phone_page = hub.test_client().get(f"/d/{public_id}?year={YEAR}").text
    assert phone_page.index(name) < phone_page.index('id="deputy-file"')
    assert re.search(r'data-testid="activities-1">2<', phone_page) and "已疏通排水沟。" in phone_page
    for private in (SECRET_CONTENT, NAME, PHONE, "陈阿婆", *( [mobile] if mobile else [])):
        assert private not in phone_page
    assert hub.test_client().get("/d/no-such-deputy/file").status_code == 404
    assert hub.test_client().get(f"/d/{public_id}/file?year=abc").status_code == 200


def test_the_file_prints_on_a4_with_the_chinese_font(hub, known, tmp_path):
    me, _public_id, _other = known
    desk = Desk(hub)
    answer = desk.get(f"/staff/work/deputies/{me}/file.pdf?year={YEAR}")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    path = tmp_path / "file.pdf"
    path.write_bytes(answer.data)
    width, height = page_size_mm(path)
    assert (round(width), round(height)) == (210, 297)
    words = re.sub(r"\s+", "", text(path))
    assert "代表履职档案" in words and "农村生活污水治理" in words and "排水沟清淤" in words
    assert SECRET_CONTENT not in words and PHONE not in words
    assert all(font["emb"] == "yes" for font in fonts(path))


def test_the_city_table_sorts_by_each_figure(hub, known):
    me, _public_id, other = known
    city = Desk(hub, role="city")
    page = city.get(f"/staff/work/deputies?year={YEAR}&sort=activities")
    assert page.status_code == 200
    rows = re.findall(r'data-testid="deputy-(\d+)"', page.text)
    assert len(rows) == 1221 and rows[:2] == [str(me), str(other)]
    by_report_backs = re.findall(r'data-testid="deputy-(\d+)"', city.get(f"/staff/work/deputies?year={YEAR}&sort=report_backs").text)
    assert by_report_backs[0] == str(other)
    # A township's staff see their own township's deputies only.
    own = re.findall(r'data-testid="deputy-(\d+)"', Desk(hub).get(f"/staff/work/deputies?year={YEAR}").text)
    with hub.app_context():
        township_id = db.session.get(Deputy, me).township_id
        expected = set(map(str, db.session.scalars(select(Deputy.id).where(Deputy.township_id == township_id))))
    assert set(own) == expected and str(me) in own


def test_a_check_in_early_in_the_morning_attends_that_local_days_shift(hub_app):
    """07:30 in Luoding is 23:30 UTC the day before: the database counts it on the local day."""
    with hub_app.app_context():
        station = db.session.get(Station, "LC00")
        me = station.deputies[0]
        day = date(YEAR, 3, 2)
        db.session.add_all([
            DutyShift(station_code="LC00", deputy_id=me.id, on=day),
            DutyShift(station_code="LC00", deputy_id=me.id, on=day - timedelta(days=1)),
            DutyCheckin(station_code="LC00", deputy_id=me.id, created_at=datetime.combine(day, time(7, 30), tzinfo=LOCAL)),
        ])  # fmt: skip
        db.session.commit()
        figures = duty_file.figures(me, YEAR)
        assert (figures["duty_days_planned"], figures["duty_days_attended"], figures["checkins"]) == (2, 1, 1)
