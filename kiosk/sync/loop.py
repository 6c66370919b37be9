"""When the station syncs: on a timer in a background loop, with back-off
while the link fails; at once after a submission (``request_sync``); and in
a thread of its own when the sync screen's button asks (``start_manual_sync``).
Every one of them runs ``station.sync_once``, which takes the box's sync lock.
"""

import logging
import random
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from ..extensions import db
from ..models import SyncState
from .enrolment import ENROLMENT_FILE, enrolment
from .station import SyncResult, sync_once

log = logging.getLogger(__name__)


def backoff_seconds(failures: int, retry: float, maximum: float, rng: random.Random | None = None) -> float:
    """Delay before the next try after ``failures`` failures in a row:
    doubling from ``retry`` up to ``maximum``, less up to a fifth at random
    so 236 boxes that lost the link together do not return together."""
    if failures <= 0:
        return 0.0
    delay = min(maximum, retry * 2 ** min(failures - 1, 30))
    return delay * (1 - 0.2 * (rng or random).random())


def delay_after(result: SyncResult, failures: int, retry: float, maximum: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after a failed sync: the back-off, or longer when the hub's proxy
    said it was busy (Retry-After), plus up to half that again at random, so the
    stations it turned away in one second do not all come back in one second."""
    delay = backoff_seconds(failures, retry, maximum, rng)
    if result.retry_after:
        delay = max(delay, min(maximum, result.retry_after * (1 + 0.5 * (rng or random).random())))
    return delay


class SyncLoop:
    """Syncs on a timer, with back-off while the link fails, and at once when woken."""

    def __init__(self, app: Flask):
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.run, name="sync-loop", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            delay = self.step()
            self.wake.wait(delay)
            self.wake.clear()

    def step(self) -> float:
        """One sync; returns the seconds to wait before the next."""
        config = self.app.config
        try:
            with self.app.app_context():
                if enrolment() is None:
                    return config["SYNC_INTERVAL_SECONDS"]
                # Waits for a sync started elsewhere (the CLI, the button).
                result = sync_once(wait=config["SYNC_TIMEOUT_SECONDS"] * 2)
                failures = db.session.get(SyncState, 1).failures
                db.session.remove()
        except Exception:
            log.exception("sync loop step failed")
            return config["SYNC_RETRY_SECONDS"]
        if result.ok or result.busy:
            return config["SYNC_INTERVAL_SECONDS"]
        return delay_after(result, failures, config["SYNC_RETRY_SECONDS"], config["SYNC_MAX_BACKOFF_SECONDS"])


def request_sync() -> None:
    """Ask the loop for a sync now (after a submission); returns at once.

    Does nothing on a box that is not enrolled or runs without the loop."""
    loop: SyncLoop | None = current_app.extensions.get("sync_loop")
    if loop is None or not current_app.config["SYNC_BACKGROUND"] or enrolment() is None:
        return
    loop.ensure_started()
    loop.wake.set()


def init_app(app: Flask) -> None:
    app.extensions["sync_loop"] = SyncLoop(app)
    derived = app.config.get("PUBLIC_BASE_URL") is None
    app.extensions["sync_public_base_derived"] = derived

    @app.before_request
    def _sync_housekeeping():
        # PUBLIC_BASE_URL follows the enrolment, which another process
        # (`flask station enroll`) may have written since this one started.
        path = Path(app.instance_path) / ENROLMENT_FILE
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return
        if app.extensions.get("sync_enrolment_mtime") != mtime:
            app.extensions["sync_enrolment_mtime"] = mtime
            link = enrolment()
            if derived and link is not None:
                app.config["PUBLIC_BASE_URL"] = link.public_base_url
        if app.config["SYNC_BACKGROUND"] and not app.testing:
            app.extensions["sync_loop"].ensure_started()

    with app.app_context():
        link = enrolment()
        if derived and link is not None:
            app.config["PUBLIC_BASE_URL"] = link.public_base_url


@dataclass
class ManualProgress:
    running: bool = False
    message: str = ""
    result: SyncResult | None = None


def manual_progress(app: Flask) -> ManualProgress:
    return app.extensions.setdefault("sync_manual", ManualProgress())


def start_manual_sync(app: Flask) -> None:
    """Run one sync in a thread, reporting progress for the screen to poll.

    Waits for a sync already running (the loop) rather than failing."""
    progress = manual_progress(app)
    if progress.running:
        return
    progress.running, progress.message, progress.result = True, "正在连接镇人大办……", None

    def work():
        try:
            with app.app_context():
                progress.result = sync_once(wait=app.config["SYNC_TIMEOUT_SECONDS"] * 2, progress=_say(progress))
                db.session.remove()
        except Exception:
            log.exception("manual sync failed")
            progress.result = SyncResult(error="同步时出错，请稍后再试。")
        finally:
            progress.running = False

    threading.Thread(target=work, name="sync-now", daemon=True).start()


def _say(progress: ManualProgress):
    def say(message: str) -> None:
        progress.message = message

    return say
