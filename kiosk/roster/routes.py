"""The roster pages: stations, then one station's month with its shifts, add, remove, repeat monthly.

Township staff see their own township's stations, city staff every one;
another township's station is a 404 with an audit row. Every write is a
plain CSRF-protected form: on success a message and the month page, on a
refusal the same page again (200) with the reason at the field.
"""

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..auth.scope import staff_required, township_or_404, visible_township_ids
from ..extensions import db
from ..models import DutyShift, Station, Township
from . import bp, services
from .forms import EmptyForm, RepeatForm, ShiftForm


def _station_or_404(code: str) -> Station:
    """The station if the signed-in user may plan its roster (else 404, audited for another township's)."""
    station = db.session.get(Station, code)
    if station is None:
        abort(404)
    township_or_404(current_user, station.township_id)
    return station


def _month(text: str | None, today: date) -> date:
    """The first day of ``?month=YYYY-MM``; this month for anything else."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        if 2000 <= year <= 2100:
            return date(year, month, 1)
    except ValueError:
        pass
    return services.month_start(today)


def _with_deputies(form, station: Station):
    form.deputy.choices = [SelectChoice(d.id, d.name) for d in station.serving_deputies]
    return form


def _month_page(station: Station, first: date, shift_form=None, repeat_form=None):
    """The month page; with a form given, that form as submitted (its errors shown)."""
    today = clock.today()
    if shift_form is None:
        shift_form = ShiftForm(formdata=None, on=max(first, today))
    if repeat_form is None:
        repeat_form = RepeatForm(formdata=None)
    shifts = services.month_shifts(station, first)
    return render_template(
        "roster/station.html",
        station=station,
        first=first,
        previous=services.previous_month(first),
        following=services.next_month(first),
        shifts=shifts,
        attendance=services.month_attendance(station, first, shifts),
        today=today,
        shift_form=_with_deputies(shift_form, station),
        repeat_form=_with_deputies(repeat_form, station),
        remove_form=EmptyForm(),
        weekday=services.weekday_label,
        last_day=today + timedelta(days=services.AHEAD_DAYS),
    )


def _refused(form, refusal: services.RosterRefused) -> None:
    field = form._fields.get(refusal.field or "")
    (field.errors if field is not None else form.form_errors).append(refusal.message)


@bp.get("/")
@staff_required()
def index():
    """The stations whose roster the user plans, with how many shifts each has in the coming 30 days."""
    townships = None
    township_id = None
    if visible_township_ids(current_user) is None:
        townships = db.session.scalars(select(Township).order_by(Township.id)).all()
        township_id = request.args.get("township", type=int)
        if township_id not in {t.id for t in townships}:
            township_id = None
    stations = services.stations_for(current_user, township_id)
    today = clock.today()
    counts = services.shift_counts([s.code for s in stations], today, today + timedelta(days=29))
    return render_template(
        "roster/index.html", stations=stations, counts=counts, townships=townships, township_id=township_id
    )


@bp.get("/<code>")
@staff_required()
def station(code):
    """One station's shifts in one month (``?month=YYYY-MM``), with the forms to add and repeat."""
    station = _station_or_404(code)
    return _month_page(station, _month(request.args.get("month"), clock.today()))


@bp.post("/<code>/shifts")
@staff_required()
def add(code):
    """Plan one shift."""
    station = _station_or_404(code)
    form = _with_deputies(ShiftForm(), station)
    if form.validate_on_submit():
        try:
            shift = services.add_shift(
                current_user,
                station,
                form.deputy.data,
                form.on.data,
                form.starts.data,
                form.ends.data,
                form.note.data,
            )
        except services.RosterRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"已安排 {shift.deputy.name} {shift.on:%Y年%m月%d日} 在本站值班。", "success")
            return redirect(url_for(".station", code=station.code, month=f"{shift.on:%Y-%m}"))
    month = form.on.data if isinstance(form.on.data, date) else clock.today()
    return _month_page(station, services.month_start(month), shift_form=form)


@bp.post("/<code>/shifts/<int:shift_id>/remove")
@staff_required()
def remove(code, shift_id):
    """Take one shift off the roster."""
    station = _station_or_404(code)
    shift = db.session.get(DutyShift, shift_id)
    if shift is None:
        # Removed already (a second click, another clerk): say so on the station's page.
        flash("这次值班已经不在安排中了。", "warning")
        return redirect(url_for(".station", code=station.code))
    if shift.station_code != station.code:
        abort(404)
    back = url_for(".station", code=station.code, month=f"{shift.on:%Y-%m}")
    if not EmptyForm().validate_on_submit():
        flash("页面已过期，请刷新后再试。", "error")
        return redirect(back)
    name, day = shift.deputy.name, shift.on
    try:
        services.remove_shift(current_user, shift)
    except services.RosterRefused as refusal:
        flash(refusal.message, "error")
    else:
        flash(f"已取消 {name} {day:%Y年%m月%d日} 的值班。", "success")
    return redirect(back)


@bp.post("/<code>/repeat")
@staff_required()
def repeat(code):
    """Plan a deputy on the same day of each coming month."""
    station = _station_or_404(code)
    form = _with_deputies(RepeatForm(), station)
    if form.validate_on_submit():
        try:
            result = services.repeat_monthly(
                current_user,
                station,
                form.deputy.data,
                form.day.data,
                form.months.data,
                form.starts.data,
                form.ends.data,
                form.note.data,
            )
        except services.RosterRefused as refusal:
            _refused(form, refusal)
        else:
            first, last = result.added[0].on, result.added[-1].on
            message = f"已安排 {result.added[0].deputy.name} {len(result.added)} 天值班（{first:%Y年%m月%d日} 至 {last:%Y年%m月%d日}）。"
            if result.already:
                message += f"其中 {len(result.already)} 天原来已有安排，未重复添加。"
            flash(message, "success")
            return redirect(url_for(".station", code=station.code, month=f"{first:%Y-%m}"))
    return _month_page(station, services.month_start(clock.today()), repeat_form=form)
