"""The station sync admin screen: the station keeper's page at /admin/sync/.

Behind the PIN set in ADMIN_PIN (no PIN, no screen): records waiting, the
last sync and its error, records set aside, and a button that syncs now.
Station boxes only; the hub's set-up pages for city staff (/staff/admin/)
are another package.
"""

import secrets
import time

from flask import Blueprint, abort, current_app, redirect, render_template, session, url_for

from ..htmx import render
from .forms import EmptyForm, PinForm
from . import loop, station

bp = Blueprint("station_sync_admin", __name__, url_prefix="/admin/sync")

# An unlocked screen locks itself again after this long.
UNLOCKED_SECONDS = 15 * 60


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
        return render_template("sync/pin.html", form=PinForm())
    return _page()


@bp.post("/unlock")
def unlock():
    """Check the PIN."""
    form = PinForm()
    if form.validate_on_submit() and secrets.compare_digest(
        form.pin.data.encode(), str(current_app.config["ADMIN_PIN"]).encode()
    ):
        session["sync_admin_until"] = time.time() + UNLOCKED_SECONDS
        return redirect(url_for(".show"))
    time.sleep(1)  # a little friction against guessing
    return render_template("sync/pin.html", form=form, wrong=True), 200


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
