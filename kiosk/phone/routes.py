"""The phone pages a deputy's or a station's QR code opens (hub): who they are, and a short opinion form;
and the staff pages that print their posters."""

import logging
from urllib.parse import quote

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.scope import staff_required, township_or_404, visible_township_ids
from ..clock import today
from ..extensions import db
from ..intake.services import active_categories
from ..models import CONTENT_MAX, Deputy, DutyShift, Station, Township
from ..parsing import bounded_int
from ..refusals import Refused
from . import admin_bp, bp, posters, services
from .forms import EmptyForm, PhoneOpinionForm

log = logging.getLogger(__name__)

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
            if isinstance(refused, services.SubmissionMismatch):
                form.submission.data = None  # a new one below: the next 提交 is a new opinion
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
            deputy_file=_deputy_file(target),
        )
    )


def _deputy_file(target: services.Target):
    """The deputy's public 履职档案 under the form (``?year=`` picks the year); none for a station."""
    if target.deputy is None:
        return None
    from ..deputy_work.public import public_file

    return public_file(target.deputy, bounded_int(request.args.get("year"), 2000, 2100), head=False)


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


# --- posters (staff) ----------------------------------------------------------------


def _poster_response(targets: list[services.Target], filename: str):
    try:
        data = posters.posters_pdf(targets)
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(url_for("phone_admin.index", township=targets[0].township.id if targets else None))
    log.info("%s printed %d posters", current_user.username, len(targets))
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response


@admin_bp.route("/", methods=["GET", "POST"])
@staff_required()
def index():
    """The township's deputies and stations, ticked to print their posters in one PDF."""
    township = _chosen_township()
    choices = posters.township_targets(township.id)
    form = EmptyForm()
    message = None
    if request.method == "POST" and form.validate_on_submit():
        deputies, stations = set(request.form.getlist("deputy")), set(request.form.getlist("station"))
        chosen = [
            t for t in choices
            if (t.deputy and str(t.deputy.id) in deputies) or (t.station and t.station.code in stations)
        ]  # fmt: skip
        if chosen:
            return _poster_response(chosen, f"{township.name}代表码海报.pdf")
        message = "请至少勾选一位代表或一个联络站。"
    return render_template(
        "phone/posters.html",
        township=township,
        townships=_townships(),
        targets=choices,
        form=form,
        message=message,
        public_address=_public_address(),
    )


@admin_bp.get("/deputies/<int:deputy_id>.pdf")
@staff_required()
def deputy_poster(deputy_id):
    """One deputy's poster (A5 PDF)."""
    deputy = db.get_or_404(Deputy, deputy_id)
    township_or_404(current_user, deputy.township_id)
    target = services.deputy_target(deputy.public_id) or abort(404)
    return _poster_response([target], f"{deputy.name}代表码海报.pdf")


@admin_bp.get("/stations/<code>.pdf")
@staff_required()
def station_poster(code):
    """One station's poster (A5 PDF)."""
    station = db.get_or_404(Station, code)
    township_or_404(current_user, station.township_id)
    target = services.station_target(code) or abort(404)
    return _poster_response([target], f"{station.name}海报.pdf")


def _townships() -> list[Township]:
    ids = visible_township_ids(current_user)
    query = select(Township).order_by(Township.id)
    if ids is not None:
        query = query.where(Township.id.in_(ids))
    return db.session.scalars(query).all()


def _chosen_township() -> Township:
    """``?township=`` (404 with an audit row for one the user may not see), else the user's or the first."""
    chosen = bounded_int(request.args.get("township"))
    if chosen is not None:
        township_or_404(current_user, chosen)
        township = db.session.get(Township, chosen)
        if township is not None:
            return township
    return db.session.get(Township, current_user.township_id) if current_user.township_id else _townships()[0]


def _public_address() -> str | None:
    try:
        return posters.public_base_url()
    except posters.NoPublicAddress:
        return None
