"""The statistics dashboard: figures counted by hand, scoping, accessible SVG charts.

The hand-made year is ``load_small_year`` (tests/support/small_year.py).
"""

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
from sqlalchemy import select

from kiosk import clock
from kiosk.extensions import db
from kiosk.models import AuditEntry
from kiosk.stats import services
from tests.support.desk import signed_in
from tests.support.small_year import load_small_year

# --- the service ---------------------------------------------------------


YEAR_2019 = services.Period.year(2019)


def test_township_figures_are_the_hand_counted_ones(hub_app):
    """On SQLite and PostgreSQL alike (days to close and months are computed per database)."""
    with hub_app.app_context():
        load_small_year()
        f = services.figures(1, YEAR_2019)
        t = f.totals
        assert (t.received, t.accepted, t.closed, t.declined, t.merged) == (7, 5, 3, 1, 1)
        assert services.percent(t.closure_rate) == "43%"
        assert t.average_days_to_close == pytest.approx(3.0)
        assert (t.satisfied, t.basic, t.unsatisfied, t.rated) == (1, 1, 1, 3)
        assert services.percent(t.satisfaction_rate) == "67%"
        assert f.overdue_now == 3
        assert f.by_township == []


def test_city_figures_add_up_every_township(hub):
    with hub.app_context():
        load_small_year()
        f = services.figures(None, YEAR_2019)
        t = f.totals
        assert (t.received, t.accepted, t.closed, t.declined, t.merged) == (9, 6, 4, 1, 1)
        assert services.percent(t.closure_rate) == "44%"
        assert t.average_days_to_close == pytest.approx(11 / 4)
        assert f.overdue_now == 4
        townships = {row.label: (row.counts.received, row.counts.closed) for row in f.by_township}
        assert len(townships) == 21
        assert townships["罗城街道"] == (7, 3)
        assert townships["素龙街道"] == (2, 1)
        assert townships["金鸡镇"] == (0, 0)


def test_breakdowns_by_category_station_and_local_month(hub_app):
    with hub_app.app_context():
        load_small_year()
        f = services.figures(1, YEAR_2019)
        by_category = {row.key: (row.counts.received, row.counts.closed) for row in f.by_category}
        assert by_category["road"] == (3, 2)
        assert by_category["water"] == (2, 1)
        assert by_category["environment"] == (1, 0)
        assert by_category["village"] == (1, 0)
        assert by_category["jobs"] == (0, 0)
        assert [(row.key, row.counts.received) for row in f.by_station] == [("LC00", 4), ("LC01", 3)]
        assert f.by_station[0].label == "罗城街道人大代表中心联络站"
        months = {row.key[1]: row.counts.received for row in f.by_month}
        assert len(months) == 12
        # E was left at 23:30 on 31 December: December, local time.
        assert months == {1: 2, 2: 0, 3: 2, 4: 1, 5: 0, 6: 1, 7: 0, 8: 0, 9: 0, 10: 0, 11: 0, 12: 1}


def test_opinion_left_after_local_midnight_counts_in_the_new_year(hub):
    with hub.app_context():
        load_small_year()
        f = services.figures(1, services.Period.year(2020))
        assert f.totals.received == 1
        assert f.by_month[0].counts.received == 1


def test_a_date_range_counts_only_its_days(hub):
    with hub.app_context():
        load_small_year()
        from datetime import date

        f = services.figures(None, services.Period(date(2019, 1, 1), date(2019, 2, 1)))
        assert f.totals.received == 3  # A, B and H
        assert f.period.label == "2019-01-01 至 2019-02-01"


def test_stations_by_level_are_the_demo_network(hub):
    with hub.app_context():
        city = services.figures(None, YEAR_2019)
        assert [(label, n) for _level, label, n in city.stations_by_level] == [
            ("人大代表中心联络站", 21),
            ("人大代表联络站", 59),
            ("人大代表联络点", 156),
        ]
        assert city.stations_total == 236
        assert services.figures(1, YEAR_2019).stations_by_level[0][2] == 1


@pytest.mark.parametrize(
    ("args", "period"),
    [
        ({"year": "2019"}, services.Period.year(2019)),
        ({"year": "twenty"}, services.Period.year(2025)),
        ({"year": "1999"}, services.Period.year(2025)),
        (
            {"date_from": "2019-03-01", "date_to": "2019-02-01"},
            services.Period(datetime(2019, 2, 1).date(), datetime(2019, 3, 1).date()),
        ),
        ({"date_from": "9999-12-31"}, services.Period.year(2025)),
        ({"date_from": "0001-01-01", "date_to": "2019-02-01"}, services.Period(date(2015, 1, 1), date(2019, 2, 1))),
        ({"date_from": "2019-03-01", "date_to": "2100-01-01"}, services.Period(date(2019, 3, 1), date(2025, 6, 1))),
    ],
)
def test_period_from_the_query_string_ignores_nonsense(args, period):
    assert services.period_from_args(args, datetime(2025, 6, 1).date())[0] == period


def test_a_period_longer_than_ten_years_keeps_its_last_ten_and_says_so():
    today = date(2025, 6, 1)
    period, notice = services.period_from_args({"date_from": "2000-01-01", "date_to": "2024-06-15"}, today)
    assert period == services.Period(date(2014, 7, 1), date(2024, 6, 15))
    assert len(period.months()) == services.MAX_MONTHS
    assert notice == "一次最多统计 10 年（120 个月）。所选时间段太长，只统计最后 10 年：2014-07-01 至 2024-06-15。"
    exactly_ten = services.period_from_args({"date_from": "2015-01-01", "date_to": "2024-12-31"}, today)
    assert exactly_ten == (services.Period(date(2015, 1, 1), date(2024, 12, 31)), None)


def test_an_unreadable_date_is_said_to_be_ignored():
    period, notice = services.period_from_args({"date_from": "9999-12-31", "year": "2019"}, date(2025, 6, 1))
    assert period == services.Period.year(2019)
    assert notice == "日期无法识别（须为 2000 年至 2099 年间的日期，如 2025-06-01），已按2019年统计。"
    assert services.period_from_args({"year": "2019"}, date(2025, 6, 1))[1] is None


def test_the_dashboard_shows_why_a_long_period_was_shortened(hub):
    client = signed_in(hub, "city")
    html = client.get("/staff/stats/?date_from=2000-01-01&date_to=2024-12-31").get_data(as_text=True)
    assert "全市意见建议统计 · 2015-01-01 至 2024-12-31" in html
    assert "所选时间段太长，只统计最后 10 年" in _figure(html, "period-notice")


def test_percent_rounds_half_up_and_says_nothing_without_a_base():
    assert services.percent(362 / 392) == "92%"
    assert services.percent(0.125) == "13%"
    assert services.percent(None) == "—"


# --- the dashboard -----------------------------------------------------------


def _figure(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def test_township_staff_see_their_township(hub):
    client = signed_in(hub, "township", load_small_year)
    response = client.get("/staff/stats/?year=2019")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "罗城街道意见建议统计 · 2019年" in html
    assert _figure(html, "received") == "7"
    assert _figure(html, "closed") == "3"
    assert _figure(html, "closure-rate") == "43%"
    assert _figure(html, "average-days") == "3.0"
    assert _figure(html, "satisfaction-rate") == "67%"
    assert _figure(html, "overdue") == "3"
    assert 'name="township"' not in html  # no township filter for them


@pytest.mark.parametrize("role", ["township", "chair"])
def test_asking_for_another_township_is_404_and_audited(hub, role):
    client = signed_in(hub, role, load_small_year)
    user = client.user
    for path in (
        "/staff/stats/?township=2",
        "/staff/stats/report/2019.pdf?township=2",
        "/staff/stats/export?format=csv&township=2",
    ):
        assert client.get(path).status_code == 404, path
    with hub.app_context():
        denied = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "denied", AuditEntry.user_id == user.id)
        ).all()
        assert [entry.subject for entry in denied] == ["township:2"] * 3


def test_city_staff_see_all_or_one_township(hub):
    client = signed_in(hub, "city", load_small_year)
    html = client.get("/staff/stats/?year=2019").get_data(as_text=True)
    assert "全市意见建议统计" in html
    assert _figure(html, "received") == "9"
    assert "按镇街" in html
    assert '<option value="2" >素龙街道</option>' in html or 'value="2"' in html
    one = client.get("/staff/stats/?year=2019&township=2").get_data(as_text=True)
    assert "素龙街道意见建议统计" in one
    assert _figure(one, "received") == "2"
    assert _figure(one, "overdue") == "1"


def _years_offered(html: str) -> list[str]:
    select_ = re.search(r'<select name="year">(.*?)</select>', html, flags=re.DOTALL)
    assert select_, "no year list"
    return re.findall(r'<option value="(\d+)"', select_.group(1))


def test_the_year_list_offers_the_years_with_opinions_only(hub):
    """F, left just after midnight on New Year's Day 2020 (local time), makes 2020 a year of 罗城街道's."""
    clerk = signed_in(hub, "township", load_small_year)
    assert _years_offered(clerk.get("/staff/stats/?year=2019").get_data(as_text=True)) == ["2020", "2019"]
    with hub.app_context():
        this_year = str(clock.today().year)
    # The year shown stays in the list, opinions or not.
    assert _years_offered(clerk.get("/staff/stats/").get_data(as_text=True)) == [this_year, "2020", "2019"]
    city = signed_in(hub, "city")
    assert _years_offered(city.get("/staff/stats/?year=2019&township=2").get_data(as_text=True)) == ["2019"]
    assert _years_offered(city.get("/staff/stats/?year=2020").get_data(as_text=True)) == ["2020", "2019"]


def test_the_dashboard_needs_a_signed_in_staff_member(hub):
    response = hub.test_client().get("/staff/stats/")
    assert response.status_code in (302, 401)


def test_charts_are_wellformed_svg_with_title_desc_and_one_bar_per_row(hub):
    client = signed_in(hub, "city", load_small_year)
    html = client.get("/staff/stats/?year=2019").get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    assert len(svgs) == 4  # month, category, township, station
    ns = {"svg": "http://www.w3.org/2000/svg"}
    bars = []
    for markup in svgs:
        root = ET.fromstring(markup)
        title, desc = root.find("svg:title", ns), root.find("svg:desc", ns)
        assert title is not None and title.text
        assert desc is not None and desc.text
        assert root.get("role") == "img"
        assert set(root.get("aria-labelledby").split()) == {title.get("id"), desc.get("id")}
        bars.append(len(root.findall("svg:g[@class='bar']", ns)))
    assert bars == [12, 9, 21, 3]  # months, categories, townships, the stations with opinions
    month = ET.fromstring(svgs[0])
    assert "1月：收到 2 条，办结 2 条" in month.find("svg:desc", ns).text
    assert "cdn" not in html.lower()


def test_the_dashboards_charts_are_drawn_from_its_figures(hub):
    """kiosk.stats.charts.dashboard_charts: one chart per section, titled with whose figures and when."""
    from kiosk.stats.charts import dashboard_charts

    with hub.app_context():
        load_small_year()
        township = dashboard_charts(services.figures(1, YEAR_2019))
        city = dashboard_charts(services.figures(None, YEAR_2019))
    assert set(township) == {"month", "category", "station"}
    assert set(city) == {"month", "category", "station", "township"}
    assert "<title" in township["month"] and "罗城街道2019年各月意见办理情况" in township["month"]
    assert "全市2019年各镇街意见办理情况" in city["township"]
    assert f"收到意见最多的{services.TOP_STATIONS}个联络站" in city["station"]


def test_overdue_opinions_stand_out_with_a_link_to_the_queue(hub):
    client = signed_in(hub, "township", load_small_year)
    html = client.get("/staff/stats/?year=2019").get_data(as_text=True)
    assert 'class="badge overdue"' in html
    if "staff.queue" in hub.view_functions:
        link = re.search(r'href="([^"]*)" data-testid="overdue-link"', html).group(1)
        assert link == "/staff/?overdue=1"


def test_htmx_filter_gets_the_fragment_only(hub):
    client = signed_in(hub, "city")
    html = client.get("/staff/stats/?year=2019&township=3", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "<html" not in html
    assert 'id="stats-dashboard"' in html
    assert "附城街道意见建议统计" in html


@pytest.mark.parametrize(
    "query",
    ["year=abc", "year=1999", "township=abc", "township=99999999999999999999", "township=0", "date_from=x&date_to=2019-13-01"],
)
def test_nonsense_in_the_query_string_is_ignored(hub, query):
    client = signed_in(hub, "city")
    response = client.get(f"/staff/stats/?{query}")
    assert response.status_code == 200
    assert "全市意见建议统计" in response.get_data(as_text=True)


# --- what the rates rest on -------------------------------------------------------


def test_the_closure_rate_says_what_it_divides_and_what_it_leaves_out(hub):
    """办结率 = 办结 ÷ 收到 (the Luoding report's), with 不予受理, 合并 and 已办完 beside it."""
    client = signed_in(hub, "township", load_small_year)
    html = client.get("/staff/stats/?year=2019").get_data(as_text=True)
    assert _figure(html, "closure-rate") == "43%"
    assert _figure(html, "closure-rate-base") == "办结 3 ÷ 收到 7"
    assert _figure(html, "declined") == "1" and _figure(html, "merged") == "1"
    assert _figure(html, "finished") == "5"  # 3 closed + 1 declined + 1 merged
    assert _figure(html, "finished-rate") == "占收到的 71%"
    assert "已办完（含不予受理、合并）" in html
    assert "不予受理和合并办理的意见不计入办结" in html


def test_one_rating_is_no_satisfaction_rate(hub):
    """素龙街道 has one rating (满意): the count shows, the rate does not (no "100%" from one person)."""
    client = signed_in(hub, "city", load_small_year)
    html = client.get("/staff/stats/?year=2019&township=2").get_data(as_text=True)
    assert _figure(html, "satisfaction-rate") == "—"
    assert _figure(html, "rated") == "1 人评价"
    assert f"不足 {services.MIN_RATED} 人评价，不计算满意率" in html
    # Every satisfaction rate in the tables carries its count.
    table = re.search(r'<section class="card stats-section" aria-labelledby="by-category">.*?</section>', html, re.S).group(0)
    assert "—<br><small class=\"rated\">1 人评价</small>" in table
    with hub.app_context():
        t = services.figures(2, YEAR_2019).totals
        assert (t.rated, t.satisfaction_rate, t.satisfaction_rate_shown) == (1, 1.0, None)
        assert services.figures(1, YEAR_2019).totals.satisfaction_rate_shown == pytest.approx(2 / 3)


def test_the_rate_shows_its_ratings_once_there_are_enough(hub):
    client = signed_in(hub, "township", load_small_year)
    html = client.get("/staff/stats/?year=2019").get_data(as_text=True)
    assert _figure(html, "satisfaction-rate") == "67%" and _figure(html, "rated") == "3 人评价"
