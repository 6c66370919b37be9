"""Views: the dashboard, the exports of the filtered queue, the annual report."""

from urllib.parse import quote

from flask import Response, abort, current_app, request, stream_with_context, url_for
from flask_login import current_user

from .. import clock
from ..auth.scope import staff_required, township_or_404
from ..extensions import db
from ..htmx import render
from ..models import Township, User
from ..parsing import bounded_int
from . import bp, exports, services
from .charts import dashboard_charts
from ..deputies.duty_file import work_totals
from .report import annual_report_pdf


def chosen_township(user: User, args) -> int | None:
    """The township the figures are for: the user's own, or for city staff the one chosen (None: all).

    Asking for a township the user may not see is a 404 with an audit row.
    """
    asked = bounded_int(args.get("township"))  # beyond an id's range: not a township anyone has
    if asked is not None:
        township_or_404(user, asked)
        if user.is_city:
            return asked if db.session.get(Township, asked) is not None else None
    return None if user.is_city else user.township_id


@bp.get("/")
@staff_required()
def dashboard():
    """The figures of the year (or dates) for the user's township or the city."""
    today = clock.today()
    township_id = chosen_township(current_user, request.args)
    period, period_notice = services.period_from_args(request.args, today)
    figures = services.figures(township_id, period, today)
    return render(
        "stats/dashboard.html",
        "stats/_dashboard.html",
        figures=figures,
        charts=dashboard_charts(figures),
        period_notice=period_notice,
        percent=services.percent,
        min_rated=services.MIN_RATED,
        townships=services.townships_offered(current_user),
        years=services.years_offered(township_id, period),
        work=work_totals(township_id, period.start.year),
        **_links(figures),
    )


def _links(figures) -> dict:
    """Where the dashboard links: the same township for city staff (implied for others), its overdue queue."""
    township_args = {"township": figures.township.id} if current_user.is_city and figures.township else {}
    overdue_url = None
    if "staff.queue" in current_app.view_functions:
        overdue_url = url_for("staff.queue", overdue=1, **township_args)
    return {"township_args": township_args, "overdue_url": overdue_url}


@bp.get("/export")
@staff_required()
def export():
    """The filtered queue as CSV or XLSX (contact details only for roles allowed them)."""
    kind = request.args.get("format", "csv")
    if kind not in exports.FORMATS:
        abort(404)
    if request.args.get("township"):
        chosen_township(current_user, request.args)
    try:
        filters = exports.filters_from_args(request.args)
    except exports.ExportRefused as refused:
        return Response(refused.message, status=400, mimetype="text/plain")
    result = exports.export(current_user, filters, kind)
    return Response(
        stream_with_context(result.chunks),
        mimetype=result.mimetype,
        headers={"Content-Disposition": content_disposition("attachment", result.filename, result.ascii_filename)},
    )


@bp.get("/report/<int:year>.pdf")
@staff_required()
def report(year: int):
    """The annual report as an A4 PDF, for the user's township or (city staff) the city or one township."""
    if not services.FIRST_YEAR <= year <= clock.today().year:
        abort(404)
    township_id = chosen_township(current_user, request.args)
    township = db.session.get(Township, township_id) if township_id is not None else None
    filename = f"{township.name if township else '全市'}-{year}年度报告.pdf"
    ascii_filename = f"report-{year}.pdf" if township is None else f"report-{year}-township-{township.id}.pdf"
    data = annual_report_pdf(township_id, year)
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition("inline", filename, ascii_filename)},
    )


def content_disposition(kind: str, filename: str, ascii_filename: str) -> str:
    """RFC 6266: the Chinese name as filename* (UTF-8), an ASCII name for older clients."""
    return f"{kind}; filename=\"{ascii_filename}\"; filename*=UTF-8''{quote(filename, safe='')}"
