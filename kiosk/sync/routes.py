"""The station sync admin screen: the station keeper's page at /admin/sync/.

Behind the PIN set in ADMIN_PIN (no PIN, no screen): records waiting, the
last sync and its error, records set aside, and a button that syncs now.
Five wrong PINs within 15 minutes lock the screen for 15 minutes, for
every browser and worker alike (``kiosk.limits``).
Station boxes only; the hub's set-up pages for city staff (/staff/admin/)
are another package.
"""

import secrets
import time
from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, session, url_for

from .. import limits
from ..htmx import render
from .forms import EmptyForm, PinForm
from . import loop, station

bp = Blueprint("station_sync_admin", __name__, url_prefix="/admin/sync")

# An unlocked screen locks itself again after this long.
UNLOCKED_SECONDS = 15 * 60
# The box has one PIN, guessed from anywhere: one key for all who try it.
PIN_LIMIT = limits.Limit(
    "sync-admin-pin", failures=5, window=timedelta(minutes=15), lock=timedelta(minutes=15)
)
PIN_KEY = "station"


@bp.before_request
def _enabled():
    if not current_app.config.get("ADMIN_PIN"):
        abort(404)


def _unlocked() -> bool:
    return session.get("sync_admin_until", 0) > time.time()


@bp.get("/")
def show():
    """Sync status for the station keeper, after the PIN."""
    if not _unlocked():
        return _pin_page(PinForm())
    return _page()


@bp.post("/unlock")
def unlock():
    """Check the PIN."""
    form = PinForm()
    if not form.validate_on_submit() or PIN_LIMIT.locked_until(PIN_KEY):
        return _pin_page(form)  # while locked the PIN is not even compared
    if secrets.compare_digest(form.pin.data.encode(), str(current_app.config["ADMIN_PIN"]).encode()):
        PIN_LIMIT.clear(PIN_KEY)
        session["sync_admin_until"] = time.time() + UNLOCKED_SECONDS
        return redirect(url_for(".show"))
    # Counted, not slept on: a sleeping worker slowed every kiosk page.
    PIN_LIMIT.record_failure(PIN_KEY)
    return _pin_page(form, wrong=True)


def _pin_page(form: PinForm, wrong: bool = False):
    until = PIN_LIMIT.locked_until(PIN_KEY)
    minutes = limits.minutes_left(until) if until else None
    return render_template("sync/pin.html", form=form, wrong=wrong and not minutes, locked_minutes=minutes)


@bp.post("/lock")
def lock():
    """Lock the screen again."""
    session.pop("sync_admin_until", None)
    return redirect(url_for(".show"))


@bp.get("/status")
def status():
    """The status panel; polls itself while a sync runs."""
    if not _unlocked():
        return redirect(url_for(".show"))
    return _page()


@bp.post("/now")
def sync_now():
    """Start a sync in the background and show its progress."""
    if not _unlocked():
        return redirect(url_for(".show"))
    if EmptyForm().validate_on_submit():
        loop.start_manual_sync(current_app._get_current_object())
    return _page()


def _page():
    return render(
        "sync/admin.html",
        "sync/_status.html",
        sync=station.status(),
        progress=loop.manual_progress(current_app._get_current_object()),
        form=EmptyForm(),
    )
