"""The annual report: the year's figures on A4, in the form the Luoding report gives them.

"收集整理群众意见建议392件，目前已办结362件": the same sentence, the same
tables, from the data. Laid out by WeasyPrint with the receipts' fonts
(``kiosk.receipts.pdf.render_document``: one font configuration per
process, the cut Noto CJK faces embedded). Deputies' work (contact
activities, report-backs, topics, evaluations) is counted from its records
(``kiosk.deputies.duty_file.work_totals``).
"""

import logging
import time

from flask import render_template

from ..clock import format_local, now
from ..deputies.duty_file import work_totals
from ..extensions import db
from ..receipts import pdf
from . import services

log = logging.getLogger(__name__)


def report_html(figures: services.Figures) -> str:
    township_id = figures.township.id if figures.township else None
    return render_template(
        "stats/report.html",
        figures=figures,
        work=work_totals(township_id, figures.period.start.year),
        percent=services.percent,
        min_rated=services.MIN_RATED,
        generated=format_local(now(), "%Y年%m月%d日"),
    )


def annual_report_pdf(township_id: int | None, year: int) -> bytes:
    """The report of ``year`` for one township, or the city with None (the caller checked scope)."""
    figures = services.figures(township_id, services.Period.year(year))
    html = report_html(figures)
    scope = figures.scope_label
    # Only reads: end the transaction before the slow part.
    db.session.rollback()
    started = time.perf_counter()
    data = pdf.render_document(html)
    log.info("annual report %s %s rendered in %.0f ms", scope, year, (time.perf_counter() - started) * 1000)
    return data
