"""Numbers and dates from requests are read within bounds: never a 500."""

from datetime import date

import pytest

from kiosk.parsing import bounded_int, parse_day
from tests.factories import make_user, sign_in


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
