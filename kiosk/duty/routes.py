"""Deputy mode at the kiosk: 代表签到 with the PIN, the mode's screens, 签退.

The check-in lives in the session (its UUID and the time of the last
touch); the records live in the database. Deputy mode ends with 签退, or
by itself after ``DEPUTY_IDLE_SECONDS`` without a request (the screen's
timer asks for that, and every request checks it too). Starting or ending
it wipes any villager's draft, so nothing typed passes to the next person.
"""

import time

from flask import current_app, request, session

from ..clock import now
from ..htmx import render
from ..intake import services as intake
from ..intake.routes import home_screen, no_store, show_step
from ..refusals import Refused
from ..sync import request_sync
from . import bp, services
from ..receipts import printing
from .forms import ActivityForm, CheckinForm, ReceptionForm, ReprintForm

bp.after_request(no_store)


def screen(fragment: str, status: int = 200, **context):
    """A deputy-mode screen: the fragment for htmx, else the kiosk page around it."""
    if context.get("checkin") is not None:
        context["minutes_on_duty"] = int((now() - context["checkin"].created_at).total_seconds() // 60)
    return render(
        "intake/page.html", f"duty/{fragment}", status,
        screen_template=f"duty/{fragment}", station=intake.this_station(), **context,
    )  # fmt: skip


def _forget() -> None:
    session.pop("duty_checkin", None)
    session.pop("duty_seen", None)
    intake.discard_draft(session.pop("draft_id", None))


def current_checkin():
    """The open check-in of this screen, touched now; ended (idle) once left too long."""
    checkin = services.open_checkin(session.get("duty_checkin"))
    if checkin is None:
        if "duty_checkin" in session:
            _forget()
        return None
    if time.time() - session.get("duty_seen", 0) > current_app.config["DEPUTY_IDLE_SECONDS"]:
        services.check_out(checkin, "idle")
        _forget()
        return None
    session["duty_seen"] = time.time()
    return checkin


@bp.before_app_request
def _keep_or_end_deputy_mode():
    """The opinion screens count as deputy mode's touches (代为录入), and end it when left too long."""
    if request.blueprint == "intake" and "duty_checkin" in session:
        current_checkin()


def _deputy_here(deputy_id: int):
    return next((d for d in intake.this_station().deputies if d.id == deputy_id), None)


@bp.get("/")
def choose():
    """代表签到: this station's deputies; the deputy taps their photo."""
    if current_checkin() is not None:
        return mode_screen()
    return screen("_choose.html", deputies=intake.this_station().deputies)


@bp.get("/<int:deputy_id>/pin")
def pin(deputy_id):
    """The PIN pad for one deputy."""
    deputy = _deputy_here(deputy_id)
    if deputy is None:
        return screen("_choose.html", 404, deputies=intake.this_station().deputies)
    return _pin_screen(deputy, CheckinForm(formdata=None))


def _pin_screen(deputy, form, message=None, locked=False):
    return screen("_pin.html", deputy=deputy, form=form, message=message, locked=locked)


@bp.post("/<int:deputy_id>/pin")
def check_in(deputy_id):
    """Check the PIN; the right one opens deputy mode."""
    deputy = _deputy_here(deputy_id)
    if deputy is None:
        return screen("_choose.html", 404, deputies=intake.this_station().deputies)
    form = CheckinForm()
    if not form.validate_on_submit():
        return _pin_screen(deputy, form)
    try:
        checkin = services.check_in(deputy, intake.this_station().code, form.pin.data)
    except services.CheckinLocked as locked:
        return _pin_screen(deputy, CheckinForm(formdata=None), locked.message, locked=True)
    except services.WrongPin as wrong:
        return _pin_screen(deputy, CheckinForm(formdata=None), wrong.message)
    _forget()
    session["duty_checkin"], session["duty_seen"] = checkin.uuid, time.time()
    request_sync()
    return mode_screen(checkin)


def mode_screen(checkin=None, message=None):
    checkin = checkin or current_checkin()
    if checkin is None:
        return home_screen()
    return screen("_mode.html", checkin=checkin, message=message)


@bp.get("/mode")
def mode():
    """Deputy mode: what a deputy on duty can do here."""
    return mode_screen()


def _end_checkin(how: str):
    """The session's check-in ends (``how``: by the deputy or by the timer); back home."""
    checkin = services.open_checkin(session.get("duty_checkin"))
    if checkin is not None:
        services.check_out(checkin, how)
        request_sync()
    _forget()
    return home_screen()


@bp.post("/checkout")
def check_out():
    """签退: the check-in ends; back to the home screen."""
    return _end_checkin("deputy")


@bp.post("/idle")
def idle():
    """The screen's timer ran out in deputy mode: the check-in ends by itself."""
    return _end_checkin("idle")


@bp.route("/reception", methods=["GET", "POST"])
def reception():
    """接待登记: how many people, what about, which receipts; each entry its own record."""
    checkin = current_checkin()
    if checkin is None:
        return home_screen()
    form = ReceptionForm()
    if not form.validate_on_submit():
        return screen("_reception.html", checkin=checkin, form=form if form.is_submitted() else ReceptionForm(formdata=None))
    try:
        numbers = services.receipt_numbers(form.receipts.data)
    except Refused as refused:
        form.receipts.errors = [refused.message]
        return screen("_reception.html", checkin=checkin, form=form)
    people = int(form.people.data)
    services.log_reception(checkin, people, form.about.data, numbers)
    request_sync()
    return mode_screen(checkin, message=f"已登记接待 {people} 人。")


@bp.route("/activity", methods=["GET", "POST"])
def activity():
    """联系群众活动: a meeting held here today, recorded by the deputy on duty; its own record."""
    checkin = current_checkin()
    if checkin is None:
        return home_screen()
    others = [d for d in intake.this_station().deputies if d.id != checkin.deputy_id]
    form = ActivityForm()
    if not form.validate_on_submit():
        form = form if form.is_submitted() else ActivityForm(formdata=None)
        return screen("_activity.html", checkin=checkin, form=form, others=others)
    chosen = [d for d in others if d.id in set(form.others.data or [])]
    if len(chosen) != len(set(form.others.data or [])):
        form.others.errors = ["只能选本站的代表。"]
        return screen("_activity.html", checkin=checkin, form=form, others=others)
    activity = services.record_activity(checkin, int(form.people.data), form.topics.data, chosen)
    request_sync()
    return mode_screen(checkin, message=f"已登记联系群众活动：{activity.people} 位群众参加。")


@bp.post("/assisted")
def assisted_entry():
    """代为录入: the ordinary opinion flow on a fresh draft, marked as typed by this deputy."""
    checkin = current_checkin()
    if checkin is None:
        return home_screen()
    intake.discard_draft(session.pop("draft_id", None))
    draft = intake.start_draft(intake.this_station().code)
    intake.save_answers(draft, assisted_by=checkin.uuid)
    session["draft_id"] = draft.id
    return show_step("category", draft)


@bp.get("/today")
def today_list():
    """Today's opinions at this station: receipt numbers and status, with a reprint for each."""
    checkin = current_checkin()
    if checkin is None:
        return home_screen()
    return _today_screen(checkin)


def _today_screen(checkin, message=None):
    opinions = services.todays_opinions(intake.this_station().code)
    return screen("_today.html", checkin=checkin, opinions=opinions, message=message)


@bp.post("/reprint")
def reprint():
    """Reprint one of today's receipts (a deputy may, as often as needed)."""
    checkin = current_checkin()
    if checkin is None:
        return home_screen()
    form = ReprintForm()
    number = form.number.data if form.validate_on_submit() else None
    opinion = next((o for o in services.todays_opinions(intake.this_station().code) if o.receipt_number == number), None)
    if opinion is None:
        return _today_screen(checkin, "只能补打本站今天的回执。")
    status = printing.reprint(opinion, limit=None)
    return _today_screen(checkin, f"{opinion.receipt_number}：{status.message}")
