"""The audit log's page for city staff."""

from flask import request

from ..auth.scope import staff_required
from ..htmx import render
from ..models import Role
from ..parsing import bounded_int
from . import bp, services


@bp.get("/")
@staff_required(Role.CITY)
def index():
    """审计日志: who did what, when, filtered; newest first, a page at a time."""
    filters = services.AuditFilters.from_args(request.args)
    results = services.page(filters, bounded_int(request.args.get("before")))
    return render(
        "audit_log/index.html", "audit_log/_results.html", filters=filters, results=results, **services.choices()
    )
