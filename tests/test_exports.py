"""Exports of the filtered queue: CSV and XLSX, contact details by role, no formulas."""

import csv
import io
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Role, Station, User
from kiosk.auth.scope import may_see_contacts
from kiosk.stats.exports import safe_cell
from tests.support.desk import signed_in
from tests.support.factories import receive_opinion
from tests.support.small_year import load_small_year, local

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def load_with_contacts():
    """The hand-made year, plus one opinion with contact details typed to attack a spreadsheet."""
    load_small_year()
    receive_opinion(
        "LC01",
        category="other",
        content='=HYPERLINK("http://example.invalid/","点这里")',
        contact_name="@陈伟",
        contact_phone="+8613800000000",
        created_at=local(2019, 5, 5, 9),
    )


def read_csv(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith("\ufeff".encode())  # Excel reads Chinese only with the BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes) -> list[list[str]]:
    """The first sheet's cells as text (shared or inline strings, numbers as written)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = book.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            root = ET.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{MAIN}t")) for si in root.iter(f"{MAIN}si")]
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    assert not list(sheet.iter(f"{MAIN}f")), "an export must hold no formulas"
    rows = []
    for row in sheet.iter(f"{MAIN}row"):
        cells = {}
        for cell in row.iter(f"{MAIN}c"):
            column = re.match(r"[A-Z]+", cell.get("r")).group(0)
            index = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(column))) - 1
            kind = cell.get("t")
            if kind == "inlineStr":
                value = "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
            elif kind == "s":
                value = shared[int(cell.find(f"{MAIN}v").text)]
            else:
                value = cell.find(f"{MAIN}v").text
            cells[index] = value
        rows.append([cells.get(i, "") for i in range(max(cells) + 1)] if cells else [])
    return rows


@pytest.mark.parametrize(("role", "allowed"), [(Role.TOWNSHIP, True), (Role.CHAIR, True), (Role.CITY, False)])
def test_who_may_see_contact_details(role, allowed):
    assert may_see_contacts(User(role=role)) is allowed


def test_nobody_else_sees_contact_details():
    """The policy holds wherever it is asked: not signed in, no account, a deactivated one."""
    assert may_see_contacts(AnonymousUserMixin()) is False
    assert may_see_contacts(None) is False
    assert may_see_contacts(User(role=Role.TOWNSHIP, active=False)) is False


@pytest.mark.parametrize("value", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tcmd", "\r=1"])
def test_formula_like_text_gets_an_apostrophe(value):
    assert safe_cell(value) == "'" + value


def test_plain_values_are_left_alone():
    assert safe_cell("路灯坏了") == "路灯坏了"
    assert safe_cell(None) is None
    assert safe_cell(3) == 3


def test_township_csv_has_their_opinions_with_contact_details(hub_app):
    """On SQLite and PostgreSQL (where the rows come through a server-side cursor)."""
    client = signed_in(hub_app, "township", load_with_contacts)
    response = client.get("/staff/stats/export?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[-2:] == ["联系人", "联系电话"]
    assert header[:6] == ["回执号", "提交时间", "联络站", "镇街", "类别", "办理状态"]
    assert len(body) == 9  # 罗城街道: eight of the year (and F of 2020) plus the one with contacts
    assert {row[3] for row in body} == {"罗城街道"}
    attack = next(row for row in body if row[-1])
    assert attack[6] == """'=HYPERLINK("http://example.invalid/","点这里")"""
    assert attack[-2:] == ["'@陈伟", "'+8613800000000"]
    assert attack[1] == "2019-05-05 09:00"  # local time
    closed = next(row for row in body if row[0].startswith("LC00-190110"))
    assert closed[5] == "已办结"
    assert closed[9] == "2019-01-13"
    assert closed[11] == "满意"


def test_city_csv_has_every_township_and_no_contact_details(hub):
    client = signed_in(hub, "city", load_with_contacts)
    rows = read_csv(client.get("/staff/stats/export?format=csv"))
    header, body = rows[0], rows[1:]
    assert "联系人" not in header and "联系电话" not in header
    assert len(header) == 15
    assert len(body) == 11
    assert {row[3] for row in body} == {"罗城街道", "素龙街道"}
    assert not any("13800000000" in cell for row in body for cell in row)


def test_export_follows_the_queue_filters(hub):
    client = signed_in(hub, "township", load_with_contacts)
    rows = read_csv(client.get("/staff/stats/export?format=csv&status=closed"))
    assert sorted(row[0][:11] for row in rows[1:]) == ["LC00-190110", "LC00-190120", "LC01-190305"]
    dated = read_csv(client.get("/staff/stats/export?format=csv&date_from=2019-12-31&date_to=2019-12-31"))
    assert [row[2] for row in dated[1:]] == ["罗城街道人大代表中心联络站"]  # E, not F of New Year's Day


def test_city_can_narrow_to_one_township(hub):
    client = signed_in(hub, "city", load_with_contacts)
    rows = read_csv(client.get("/staff/stats/export?format=csv&township=2"))
    assert [row[3] for row in rows[1:]] == ["素龙街道", "素龙街道"]


def test_xlsx_reads_back_with_the_same_rows_as_typed(hub):
    """String cells never become formulas in XLSX (``read_xlsx`` checks): no apostrophe is added."""
    client = signed_in(hub, "chair", load_with_contacts)
    response = client.get("/staff/stats/export?format=xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = read_xlsx(response.get_data())
    assert rows[0][-2:] == ["联系人", "联系电话"]
    assert len(rows) == 10
    attack = next(row for row in rows[1:] if len(row) == 17 and row[-1])
    assert attack[6] == """=HYPERLINK("http://example.invalid/","点这里")"""
    assert attack[-2:] == ["@陈伟", "+8613800000000"]


def test_city_xlsx_has_no_contact_columns(hub):
    client = signed_in(hub, "city", load_with_contacts)
    rows = read_xlsx(client.get("/staff/stats/export?format=xlsx").get_data())
    assert "联系人" not in rows[0]
    assert all(len(row) <= 15 for row in rows)
    assert len(rows) == 12


def test_every_export_is_audited(hub):
    client = signed_in(hub, "township", load_with_contacts)
    client.get("/staff/stats/export?format=csv&status=closed").get_data()
    with hub.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert entry.user_id == client.user.id
        assert entry.subject == "export:csv"
        assert entry.after == {"filters": {"status": "closed"}, "contacts": True}


def test_unknown_format_is_404(hub):
    client = signed_in(hub, "township")
    assert client.get("/staff/stats/export?format=pdf").status_code == 404


@pytest.mark.parametrize(
    "role, query, scope",
    [("township", "", "罗城街道"), ("city", "", "全市"), ("city", "&township=2", "素龙街道")],
)
def test_exports_are_named_in_chinese_with_an_ascii_fallback(hub, role, query, scope):
    from urllib.parse import quote

    from kiosk.clock import to_local
    from kiosk.models import utcnow

    client = signed_in(hub, role)
    for kind in ("csv", "xlsx"):
        response = client.get(f"/staff/stats/export?format={kind}{query}")
        response.get_data()
        with hub.app_context():
            day = f"{to_local(utcnow()):%Y-%m-%d}"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="opinions-{day}-')
        assert disposition.endswith(f".{kind}\"; filename*=UTF-8''{quote(f'{scope}-意见-截至{day}.{kind}')}")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_chosen_deputy_is_a_column_of_both_exports_and_a_filter(hub, kind):
    def data():
        load_with_contacts()
        deputy = db.session.get(Station, "LC01").deputies[0]
        receive_opinion("LC01", content="请代表帮忙问问水渠的事。", deputy_id=deputy.id, created_at=local(2019, 6, 1, 9))
        names["deputy"], names["id"] = deputy.name, deputy.id

    names = {}
    client = signed_in(hub, "township", data)
    response = client.get(f"/staff/stats/export?format={kind}")
    rows = read_csv(response) if kind == "csv" else read_xlsx(response.get_data())
    column = rows[0].index("代表")
    chosen = [row for row in rows[1:] if column < len(row) and row[column]]
    assert [(row[6], row[column]) for row in chosen] == [("请代表帮忙问问水渠的事。", names["deputy"])]
    response = client.get(f"/staff/stats/export?format={kind}&deputy={names['id']}")
    rows = read_csv(response) if kind == "csv" else read_xlsx(response.get_data())
    assert [row[6] for row in rows[1:]] == ["请代表帮忙问问水渠的事。"]


@pytest.mark.parametrize(
    "query, name, ascii_name",
    [
        ("year=2019", "罗城街道-意见-2019年.csv", "opinions-2019.csv"),
        ("date_from=2019-01-01&date_to=2019-12-31", "罗城街道-意见-2019年.csv", "opinions-2019.csv"),
        ("date_from=2019-03-01&date_to=2019-05-31", "罗城街道-意见-2019-03-01至2019-05-31.csv",
         "opinions-2019-03-01-2019-05-31.csv"),
        ("date_from=2019-03-01", "罗城街道-意见-2019-03-01起.csv", "opinions-from-2019-03-01.csv"),
        ("date_to=2019-05-31", "罗城街道-意见-至2019-05-31.csv", "opinions-to-2019-05-31.csv"),
    ],
)
def test_an_export_of_a_period_is_named_after_that_period(hub, query, name, ascii_name):
    from urllib.parse import quote

    client = signed_in(hub, "township")
    response = client.get(f"/staff/stats/export?format=csv&{query}")
    response.get_data()
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )


def test_an_export_of_a_year_holds_that_years_opinions_only(hub):
    """F was left half past midnight on New Year's Day 2020, local time (still 2019 in UTC)."""
    client = signed_in(hub, "township", load_small_year)
    rows = read_csv(client.get("/staff/stats/export?format=csv&year=2019"))
    assert len(rows) - 1 == 7  # 罗城街道's 2019, as the dashboard counts it
    assert {row[1][:4] for row in rows[1:]} == {"2019"}
    later = read_csv(client.get("/staff/stats/export?format=csv&year=2020"))
    assert [row[1] for row in later[1:]] == ["2020-01-01 00:30"]
    # Dates given win over the year, as on the dashboard.
    dated = read_csv(client.get("/staff/stats/export?format=csv&year=2020&date_from=2019-03-01&date_to=2019-03-31"))
    assert sorted(row[1][:10] for row in dated[1:]) == ["2019-03-05", "2019-03-06"]


@pytest.mark.parametrize("year", ["abc", "1999", "2019x", "99999999999999999999"])
def test_an_unreadable_year_exports_nothing_and_says_why(hub, year):
    client = signed_in(hub, "township", load_small_year)
    response = client.get(f"/staff/stats/export?format=csv&year={year}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "年度无法识别" in response.get_data(as_text=True)
    with hub.app_context():
        assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
