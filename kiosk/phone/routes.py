"""The phone pages a deputy's or a station's QR code opens (hub): who they are, and a short opinion form."""

from flask import abort, make_response, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..clock import today
from ..extensions import db
from ..intake.services import active_categories
from ..models import CONTENT_MAX, DutyShift
from . import bp, services
from .forms import PhoneOpinionForm

# The deputy's next duty days the page lists.
DUTY_DAYS_SHOWN = 4


@bp.route("/d/<public_id>", methods=["GET", "POST"])
def deputy_page(public_id):
    """A deputy's page: photo, name, level, stations, duty days, and the form."""
    target = services.deputy_target(public_id) or abort(404)
    return _page(target)


@bp.route("/s/<code>", methods=["GET", "POST"])
def station_page(code):
    """A station's page: name, address, its deputies, and the form."""
    target = services.station_target(code) or abort(404)
    return _page(target)


def _page(target: services.Target):
    form = PhoneOpinionForm()
    message = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            submitted = services.submit(target, form.submission.data, _given(form), request.remote_addr or "")
            return _private(render_template("phone/receipt.html", target=target, opinion=submitted.opinion))
        except services.PhoneRefused as refused:
            message = refused.message
    if request.method == "GET" or not services.UUID_SHAPE.fullmatch(form.submission.data or ""):
        form.submission.data = services.new_submission_id()
    return _private(
        render_template(
            "phone/page.html",
            target=target,
            form=form,
            message=message,
            categories=active_categories(),
            online=services.online_station(target.township.id),
            duty_days=_duty_days(target),
            today=today(),
            content_max=CONTENT_MAX,
        )
    )


def _given(form: PhoneOpinionForm) -> services.PhoneOpinion:
    consent = bool(form.consent.data)
    return services.PhoneOpinion(
        category=form.chosen_category,
        content=form.content.data,
        contact_name=form.name.data if consent else None,
        contact_phone=form.phone.data if consent else None,
    )


def _duty_days(target: services.Target) -> list[DutyShift]:
    """The deputy's next duty shifts, or the station's."""
    query = select(DutyShift).where(DutyShift.on >= today()).order_by(DutyShift.on, DutyShift.starts)
    if target.deputy:
        query = query.where(DutyShift.deputy_id == target.deputy.id).options(selectinload(DutyShift.station))
    else:
        query = query.where(DutyShift.station_code == target.station.code).options(selectinload(DutyShift.deputy))
    return list(db.session.scalars(query.limit(DUTY_DAYS_SHOWN)))


def _private(body):
    # The answer holds a receipt's 验证码, and the form a submission id: no cache keeps either.
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response
