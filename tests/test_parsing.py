"""Numbers and dates from requests are read within bounds: never a 500."""

from datetime import date

import pytest

from kiosk.parsing import bounded_int, parse_day
from tests.support.factories import make_user, sign_in


@pytest.mark.parametrize(
    "value, expected",
    [("7", 7), (" 12 ", 12), ("0", None), ("-3", None), ("99999999999999999999", None), ("x", None), (None, None)],
)
def test_bounded_int(value, expected):
    assert bounded_int(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [("2026-02-14", date(2026, 2, 14)), ("0001-01-01", None), ("9999-12-31", None), ("2026-02-30", None), ("", None)],
)
def test_parse_day(value, expected):
    assert parse_day(value) == expected


def test_an_id_too_large_for_the_database_is_not_found(hub):
    with hub.app_context():
        city = make_user(role="city", township=None)
        city.id  # loaded while the session is open
    client = sign_in(hub.test_client(), city)
    assert client.get("/staff/admin/departments/99999999999999999999").status_code == 404
    assert client.get("/staff/assignments/99999999999999999999/slip.pdf").status_code == 404


@pytest.mark.parametrize("parameter", ["start_date", "end_date"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_open311_refuses_dates_outside_any_sensible_year(hub, parameter, value):
    answer = hub.test_client().get("/open311/v2/requests.json", query_string={parameter: value})
    assert answer.status_code == 400
    assert "年份" in answer.json[0]["description"]


# Requests the township office's review answered with a 500 (an overflowing
# date, a year past 9999, an id too long for the database), and the page the
# same request now opens: the figures of a period it could read, all townships.
OUT_OF_RANGE = [
    ("/staff/stats/", {"date_from": "9999-12-31"}, "全市意见建议统计"),
    ("/staff/stats/", {"date_from": "2015-01-01", "date_to": "9999-12-30"}, "全市意见建议统计"),
    ("/staff/stats/", {"date_from": "0001-01-01", "date_to": "0001-01-02"}, "全市意见建议统计"),
    ("/staff/stats/", {"date_from": "2000-01-01", "date_to": "2999-12-30"}, "全市意见建议统计"),
    ("/staff/stats/", {"year": "99999999999999999999"}, "全市意见建议统计"),
    ("/staff/stats/", {"township": "99999999999999999999"}, "全市意见建议统计"),
    ("/staff/stats/export", {"format": "csv", "date_from": "0001-01-01"}, "回执号"),
    ("/staff/stats/export", {"format": "csv", "date_to": "9999-12-31"}, "回执号"),
    ("/staff/stats/export", {"format": "csv", "date_from": "9999-12-31", "date_to": "0001-01-01"}, "回执号"),
    ("/staff/admin/stations", {"township": "99999999999999999999"}, "LC00"),
    ("/staff/admin/fleet", {"township": "99999999999999999999"}, "LC00"),
    ("/staff/admin/stations", {"township": "-1"}, "LC00"),
]


@pytest.mark.parametrize("url, query, shown", OUT_OF_RANGE)
def test_out_of_range_numbers_and_dates_are_no_error(hub, url, query, shown):
    with hub.app_context():
        city = make_user(role="city", township=None)
        city.id
    client = sign_in(hub.test_client(), city)
    response = client.get(url, query_string=query)
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)
