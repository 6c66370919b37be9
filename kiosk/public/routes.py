"""Public status pages: where a receipt's QR code leads."""

from flask import abort, current_app, make_response, redirect, render_template, request, url_for

from ..models import RatingSource
from ..ratings import awaiting_rating
from . import bp
from .forms import CHOICES, RatingForm
from .lookup import find_receipt
from .pending import pending_receipt
from .progress import progress
from .rating import COMMENT_MAX, RatingRefused, rate, rating_note


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
        pending = pending_receipt(number) if current_app.config["ROLE"] == "hub" else None
        response = make_response(render_template("public/not_found.html", pending=pending), 404)
    else:
        form = RatingForm(formdata=None, secret=opinion.current_secret)
        response = make_response(render_template("public/status.html", **rating_context(opinion, form)))
    return _private(response)


@bp.post("/r/<number>/rating")
def rate_opinion(number):
    """Take the receipt holder's rating of a closed opinion (满意 / 基本满意 / 不满意)."""
    form = RatingForm()
    opinion = find_receipt(number, form.secret.data) or abort(404)
    message = None
    if form.validate_on_submit():
        try:
            rate(opinion, form.value.data, form.comment.data, RatingSource.STATUS_PAGE)
            return redirect(url_for("public.status", number=opinion.receipt_number, k=opinion.current_secret), 303)
        except RatingRefused as refused:
            message = refused.message
    return _private(make_response(render_template("public/status.html", **rating_context(opinion, form, message))))


def rating_context(opinion, form, message=None) -> dict:
    """What the status and its rating part show, on the status page and at the kiosk."""
    return {
        "opinion": opinion,
        "progress": progress(opinion),
        "rating_form": form if awaiting_rating(opinion) else None,
        "rating_note": rating_note(opinion),
        "rating_message": message,
        "rating_choices": CHOICES,
        "comment_max": COMMENT_MAX,
    }


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response

