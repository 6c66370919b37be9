"""Public status pages: where a receipt's QR code leads."""

from flask import current_app, make_response, render_template, request

from ..localtime import format_local
from . import bp
from .services import find_receipt


@bp.app_template_filter("local_time")
def local_time(moment):
    """A UTC datetime as people read it here: local date and time."""
    return format_local(moment) if moment else ""


@bp.get("/healthz")
def healthz():
    """Liveness check for service managers and tests."""
    return {"ok": True, "role": current_app.config["ROLE"]}


@bp.get("/r/<number>")
def status(number):
    """An opinion's public status, for whoever holds its receipt (number and 验证码)."""
    opinion = find_receipt(number, request.args.get("k"))
    if opinion is None:
        # The same plain page for an unknown number and a wrong secret, so the
        # page never tells which receipts exist. A hub can say more about a
        # number it has never received: its station has not sent it yet.
        pending = _pending_receipt(number) if current_app.config["ROLE"] == "hub" else None
        response = make_response(render_template("public/not_found.html", pending=pending), 404)
    else:
        response = make_response(render_template("public/status.html", opinion=opinion))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _pending_receipt(number):
    from ..hub.status import pending_receipt

    return pending_receipt(number)
