"""The annual report PDF: A4, Chinese font embedded, the figures in the Luoding report's words."""

import datetime
import re
import subprocess

import pytest
from sqlalchemy import func, select

from kiosk.demo import history
from kiosk.deputies.duty_file import work_totals
from kiosk.extensions import db
from kiosk.models import Opinion, Station, Township
from kiosk.stats import services
from tests.support.desk import signed_in
from tests.support.small_year import load_small_year


def pdf_text(data: bytes, tmp_path) -> str:
    """The PDF's text with all white space taken out (pdftotext breaks lines where it likes)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return re.sub(r"\s+", "", text)


def embedded_fonts(data: bytes, tmp_path) -> list[str]:
    """Names of the fonts pdffonts reports as embedded."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    lines = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    return [
        line.split()[0] for line in lines if re.search(r"\byes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
    ]


def page_size_points(data: bytes, tmp_path) -> tuple[float, float]:
    path = tmp_path / "size.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return float(width), float(height)


def test_township_report_says_the_figures_like_the_luoding_report(hub, tmp_path):
    client = signed_in(hub, "township", load_small_year)
    response = client.get("/staff/stats/report/2019.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.get_data(), tmp_path)
    assert "罗城街道2019年人大代表联络站工作情况" in text
    assert "2019年收集整理群众意见建议7条，办结3条，办结率43%" in text
    assert "人大代表中心联络站1个" in text
    assert "联系群众活动0场" in text  # none recorded that year: counted, not guessed
    assert "满意1条，基本满意1条，不满意1条" in text
    assert "按镇街" not in text


def test_city_report_has_the_township_table(hub, tmp_path):
    client = signed_in(hub, "city", load_small_year)
    text = pdf_text(client.get("/staff/stats/report/2019.pdf").get_data(), tmp_path)
    assert "全市2019年人大代表联络站工作情况" in text
    assert "收集整理群众意见建议9条，办结4条，办结率44%" in text
    assert "人大代表中心联络站21个、人大代表联络站59个、人大代表联络点156个，合计236个" in text
    assert "按镇街" in text
    assert "罗城街道7343%" in text  # 罗城街道 | 7 | 3 | 43%
    assert "金鸡镇00—" in text


def test_city_report_for_one_township(hub, tmp_path):
    client = signed_in(hub, "city", load_small_year)
    text = pdf_text(client.get("/staff/stats/report/2019.pdf?township=2").get_data(), tmp_path)
    assert "素龙街道2019年" in text
    assert "收集整理群众意见建议2条，办结1条，办结率50%" in text


def test_report_is_a4_with_an_embedded_chinese_font(hub, tmp_path):
    client = signed_in(hub, "township", load_small_year)
    data = client.get("/staff/stats/report/2019.pdf").get_data()
    width, height = page_size_points(data, tmp_path)
    assert (round(width), round(height)) == (595, 842)  # A4
    fonts = embedded_fonts(data, tmp_path)
    assert any(re.search(r"Sans-?SC|CJK", name) for name in fonts), fonts


@pytest.mark.parametrize("year", ["1999", "2999"])
def test_years_without_stations_are_404(hub, year):
    client = signed_in(hub, "township")
    assert client.get(f"/staff/stats/report/{year}.pdf").status_code == 404


# --- the Luoding year, reproduced ----------------------------------------------


def load_luoding_year(hub):
    result = hub.test_cli_runner().invoke(args=["demo", "history", "--year", "2019"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_history_gives_the_luoding_figures(hub, tmp_path):
    assert "392 added" in load_luoding_year(hub)
    with hub.app_context():
        figures = services.figures(None, services.Period.year(2019))
        assert figures.totals.received == 392
        assert figures.totals.closed == 362
        assert services.percent(figures.totals.closure_rate) == "92%"
        assert sum(1 for row in figures.by_township if row.counts.received) == 21
        assert sum(row.counts.received for row in figures.by_township) == 392
        assert figures.totals.rated > 300
        assert figures.totals.unsatisfied == 2  # the two reopened
        assert figures.totals.average_days_to_close is not None
    client = signed_in(hub, "city")
    text = pdf_text(client.get("/staff/stats/report/2019.pdf").get_data(), tmp_path)
    assert "收集整理群众意见建议392条，办结362条，办结率92%" in text
    # The deputies' work of the Luoding report, counted from the demo's records.
    assert "2019年依托联络站开展人大代表联系群众活动319场" in text
    assert "本届以来（至2019年底）共有182人次代表向选民述职" in text
    assert "列入“三议一评”跟踪监督的专题53个" in text
    assert "述职评议政府负责人" in text and "本届累计22人次" in text
    dashboard = client.get("/staff/stats/?year=2019").text
    assert 'data-testid="work-activities">319<' in dashboard and 'data-testid="work-topics">53<' in dashboard
    assert "本届累计 182" in dashboard


def test_demo_history_twice_does_not_double(hub):
    load_luoding_year(hub)
    again = load_luoding_year(hub)
    assert "0 added, 392 already there" in again
    assert "0 activities added, 0 topics added, 0 report-backs added, 0 evaluations added" in again
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(Opinion)) == 392
        assert work_totals(None, 2019)["report_backs_term"] == 182
        assert services.figures(None, services.Period.year(2019)).totals.closed == 362


def test_demo_history_is_the_same_every_time(hub):
    with hub.app_context():
        townships = list(db.session.scalars(select(Township).order_by(Township.id)))
        stations = list(db.session.scalars(select(Station).order_by(Station.code)))
        first, second = history._plan(2019, townships, stations), history._plan(2019, townships, stations)
        assert first == second
        assert len({p["wire"]["receipt_number"] for p in first}) == 392


def test_demo_history_is_for_the_hub_only(runner):
    result = runner.invoke(args=["demo", "history", "--year", "2019"])
    assert result.exit_code != 0
    assert "hub" in result.output


# --- layout and what a past year holds -------------------------------------------------


def test_each_total_prints_once_after_its_rows_even_across_pages(hub, tmp_path):
    """The Luoding year's city report runs over pages; no total row repeats at a page break."""
    load_luoding_year(hub)
    client = signed_in(hub, "city")
    data = client.get("/staff/stats/report/2019.pdf").get_data()
    path = tmp_path / "pages.pdf"
    path.write_bytes(data)
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                                                            check=True).stdout).group(1))
    assert pages >= 2
    text = pdf_text(data, tmp_path)
    # Stations, categories, townships, ratings: one total row each, and two sentences
    # ("…，合计236个", "满意与基本满意合计").
    assert text.count("合计") == 6
    assert text.count("合计39236292%") == 2  # categories and townships
    assert text.index("金鸡镇") < text.rindex("合计39236292%")  # the township table's total after its last row


def test_a_past_years_report_holds_that_year_only(hub, tmp_path):
    """No "截至 today … 逾期未办结" (a state of today, of every year) in a 2019 report."""
    client = signed_in(hub, "township", load_small_year)
    text = pdf_text(client.get("/staff/stats/report/2019.pdf").get_data(), tmp_path)
    assert "逾期" not in text and "截至" not in text
    assert "2019年收集整理群众意见建议7条，办结3条，办结率43%" in text


def test_this_years_report_says_what_is_overdue_today(hub, tmp_path):
    from kiosk.staff import services as staff_services
    from tests.support.factories import receive_opinion

    with hub.app_context():
        opinion = receive_opinion()
        opinion.accept_due_on = opinion.close_due_on = datetime.date(2019, 1, 1)
        db.session.commit()
        today = staff_services.today()
    client = signed_in(hub, "township")
    text = pdf_text(client.get(f"/staff/stats/report/{today.year}.pdf").get_data(), tmp_path)
    assert f"截至{today.year}年{today.month}月{today.day}日，逾期未办结的意见1条" in text


@pytest.mark.parametrize(
    "role, query, name, fallback",
    [
        ("township", "", "罗城街道-2019年度报告.pdf", "report-2019-township-1.pdf"),
        ("city", "", "全市-2019年度报告.pdf", "report-2019.pdf"),
        ("city", "?township=2", "素龙街道-2019年度报告.pdf", "report-2019-township-2.pdf"),
    ],
)
def test_the_report_is_named_in_chinese_with_an_ascii_fallback(hub, role, query, name, fallback):
    from urllib.parse import quote

    client = signed_in(hub, role)
    disposition = client.get(f"/staff/stats/report/2019.pdf{query}").headers["Content-Disposition"]
    assert disposition == f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
