"""The annual report: the year's figures on A4, in the form the Luoding report gives them.

"收集整理群众意见建议392件，目前已办结362件": the same sentence, the same
tables, from the data. Laid out by WeasyPrint with the receipts' font set-up
(``kiosk.receipts.pdf``: one font configuration per process, the cut Noto
CJK faces embedded). Figures the system does not record yet (contact
activities, report-backs) print as "—", never as a guess.
"""

import logging
import time

from flask import render_template

from .. import PROJECT_ROOT
from ..localtime import format_local
from ..models import utcnow
from ..receipts import pdf
from . import services

log = logging.getLogger(__name__)

STYLESHEET = PROJECT_ROOT / "templates" / "stats" / "report.css"

_stylesheets: tuple[object, list] | None = None


def report_html(figures: services.Figures) -> str:
    return render_template(
        "stats/report.html",
        figures=figures,
        percent=services.percent,
        generated=format_local(utcnow(), "%Y年%m月%d日"),
    )


def annual_report_pdf(township_id: int | None, year: int) -> bytes:
    """The report of ``year`` for one township, or the city with None (the caller checked scope)."""
    figures = services.figures(township_id, services.Period.year(year))
    html = report_html(figures)
    started = time.perf_counter()
    # The receipts' lock: the font configuration is shared, and Pango's font
    # map is not safe to use from two threads at once.
    with pdf._lock:
        engine = pdf.engine()
        data = engine.HTML(string=html).write_pdf(
            font_config=engine.font_config, stylesheets=_report_stylesheets(engine)
        )
    log.info(
        "annual report %s %s rendered in %.0f ms",
        figures.scope_label,
        year,
        (time.perf_counter() - started) * 1000,
    )
    return data


def _report_stylesheets(engine) -> list:
    """The receipts' @font-face rules and the report's own page, parsed once per engine."""
    global _stylesheets
    if _stylesheets is None or _stylesheets[0] is not engine:
        from weasyprint import CSS

        _stylesheets = (
            engine,
            [
                CSS(string=pdf.font_face_css(), font_config=engine.font_config),
                CSS(filename=str(STYLESHEET), font_config=engine.font_config),
            ],
        )
    return _stylesheets[1]
