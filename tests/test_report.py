"""The annual report PDF: A4, Chinese font embedded, the figures in the Luoding report's words."""

import re
import subprocess

import pytest
from sqlalchemy import func, select

from kiosk.demo import history
from kiosk.extensions import db
from kiosk.models import Opinion, Station, Township
from kiosk.stats import services
from tests.test_stats import load_small_year, signed_in


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
    assert "联系群众活动—场" in text  # not recorded yet: a dash, not a guess
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


def test_demo_history_twice_does_not_double(hub):
    load_luoding_year(hub)
    assert "0 added, 392 already there" in load_luoding_year(hub)
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(Opinion)) == 392
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
