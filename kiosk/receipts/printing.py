"""Printing receipts through CUPS: the only module that talks to the printer.

Save first, print second. ``start_printing`` is called after the opinion is
committed; it commits a ``PrintJob`` row and hands the work to a small pool
of background threads owned by the app, so the screen never waits for the
printer. Intake saves the first job's row with the opinion instead
(``add_job``) and starts it after that commit (``start_job``). Nothing here
writes to the opinion, so nothing here can lose it.

A job's state follows what CUPS says about the real job, not what it said
when it took the file: a queue that accepts a job has not printed it.
``printed`` means CUPS reports the job completed; a stopped or disabled
queue, CUPS not answering, a job CUPS aborts or cancels, or a job not
completed within ``PRINT_DEADLINE_SECONDS`` ends ``failed`` with plain words
for the screen. A job given up on is cancelled in CUPS, so that a queue
enabled later does not print a receipt the screen already called failed.

After a restart, jobs left in progress are picked up again on the first
request: followed in CUPS if they had reached it, failed if not. What the
screen shows of a job, and the one reprint it offers: ``print_status``.

Two kinds of printer (``PRINTER_KIND``). "pdf": CUPS gets the receipt PDF
and its driver does the rest (the demo's cups-pdf). "escpos": a thermal
receipt printer, USB or network (port 9100), on a CUPS raw queue; CUPS
gets the ESC/POS raster made by ``raster.escpos_job`` and passes it on
untouched, keeping the job list and retrying the device as for any queue.
Such a printer also says what is wrong with it (ESC/POS ``DLE EOT``): paper
out, cover open. It is asked directly, over its own socket with a short
timeout, from the background threads only: before a job is sent (a
printer without paper fails the job at once, with those words, and CUPS
never gets it), when a job fails, and for the station's report to the hub
(``reported_state``), never while CUPS is sending it a job.
"""

import logging
import math
import os
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import cups
from flask import Flask, current_app
from sqlalchemy import func, inspect, select

from ..extensions import db
from ..models import Opinion, PrintJob, utcnow
from . import raster
from .services import receipt_pdf, receipt_url, warm_up

log = logging.getLogger(__name__)

IN_PROGRESS = ("rendering", "queued", "printing")
FINISHED = ("printed", "failed")
POLL_SECONDS = 0.5
WORKERS = 3

# Plain words for the screen; technical reasons go to the log.
NO_PRINTER = "本站暂时没有打印机。请用手机拍下屏幕上的二维码，或记下回执编号和验证码。"
UNAVAILABLE = "打印机暂时不能打印，请用手机拍下屏幕上的二维码。"
TOO_SLOW = "打印机没有及时打印出回执，请用手机拍下屏幕上的二维码。"
INTERRUPTED = "打印被中断了，请用手机拍下屏幕上的二维码。"

KINDS = ("pdf", "escpos")
# What a thermal printer says of itself; the station reports these words to
# the hub, whose fleet page shows them in Chinese (kiosk.setup.services).
PAPER_OUT = "paper out"
COVER_OPEN = "cover open"
OFFLINE = "offline"
PRINTER_ERROR = "printer error"
TROUBLE_MESSAGES = {
    PAPER_OUT: "打印机缺纸，请用手机拍下屏幕上的二维码，或记下回执编号和验证码。",
    COVER_OPEN: "打印机纸仓盖打开，请用手机拍下屏幕上的二维码，或记下回执编号和验证码。",
    OFFLINE: "打印机未连接，请用手机拍下屏幕上的二维码，或记下回执编号和验证码。",
    PRINTER_ERROR: "打印机出了故障，请用手机拍下屏幕上的二维码，或记下回执编号和验证码。",
}
# A status answer takes milliseconds; a printer that has not answered by
# then is not going to.
STATUS_TIMEOUT_SECONDS = 1.0
# How long the station's report to the hub trusts the last answer.
STATUS_FRESH_SECONDS = 30
DEFAULT_DEVICE_PORT = 9100
# DLE EOT 2, the offline cause: bit 2 is the cover.
OFFLINE_CAUSE = 2
COVER_OPEN_BIT = 0x04

_CUPS_JOB_STATES = {
    cups.IPP_JOB_PENDING: "queued",
    cups.IPP_JOB_HELD: "queued",
    cups.IPP_JOB_PROCESSING: "printing",
    cups.IPP_JOB_STOPPED: "failed",
    cups.IPP_JOB_CANCELED: "failed",
    cups.IPP_JOB_ABORTED: "failed",
    cups.IPP_JOB_COMPLETED: "printed",
}


class PrinterUnavailable(Exception):
    """CUPS does not answer, or the queue cannot print now."""


class CupsDown(PrinterUnavailable):
    """No connection to the CUPS server."""


class PrinterTrouble(PrinterUnavailable):
    """The thermal printer itself says it cannot print: paper out, cover open, ..."""

    def __init__(self, condition: str):
        super().__init__(f"the printer says: {condition}")
        self.condition = condition


# --- the service the screen calls ---------------------------------------------


def has_printer() -> bool:
    """Whether this station has a receipt printer at all (the PRINTER setting)."""
    return bool(current_app.config.get("PRINTER"))


def start_printing(opinion: Opinion, kind: str = "first", url: str | None = None) -> PrintJob:
    """Commit a print job for the opinion's receipt and start it in the background.

    Returns at once. The opinion must already be committed: printing is
    never part of saving. ``url`` is what the QR code encodes (default:
    ``receipt_url(opinion)`` now, so the paper matches the screen).
    Idempotent for the first print: a second tap on "submit" that finds
    the opinion already saved gets the job the first tap started.
    """
    state = inspect(opinion)
    if not state.persistent or state.modified:
        raise RuntimeError("commit the opinion before printing its receipt")
    if kind == "first":
        existing = db.session.scalars(
            select(PrintJob).where(PrintJob.opinion_uuid == opinion.uuid, PrintJob.kind == "first")
        ).first()
        if existing is not None:
            return existing
    url = url or receipt_url(opinion)
    job = add_job(opinion, kind)
    try:
        db.session.commit()
    except Exception:
        forget_job(job)
        raise
    start_job(job, url)
    return job


def add_job(opinion: Opinion, kind: str = "first") -> PrintJob:
    """A print job for the opinion's receipt, added to the session's transaction.

    Nothing prints yet: whoever commits the transaction then calls
    ``start_job`` (or ``forget_job`` when the commit fails). Intake adds the
    first job to the transaction that saves the opinion, so that saving
    costs one commit; the opinion is still committed before printing starts.
    """
    job = PrintJob(id=str(uuid.uuid4()), opinion_uuid=opinion.uuid, kind=kind, state="rendering")
    if not has_printer():
        # Nothing to wait for: the screen says so at once, and the row
        # still tells which receipts never came out on paper.
        job.state, job.detail = "failed", NO_PRINTER
    job.opinion = opinion
    if job.state in IN_PROGRESS:
        # Claimed before it is committed, so that start-up recovery running
        # in another request never takes it for a dead process's job.
        printer_for(current_app._get_current_object()).claim(job.id)
    db.session.add(job)
    return job


def forget_job(job: PrintJob) -> None:
    """Give up the claim on a job whose transaction did not commit."""
    printer_for(current_app._get_current_object()).release(job.id)


def start_job(job: PrintJob, url: str) -> None:
    """Hand a committed job to the background printer; returns at once.

    A job that cannot be handed over is marked failed, so that the screen
    polling it offers the reprint instead of waiting for nothing.
    """
    if job.state in FINISHED:
        return  # failed as it was made: this station has no printer
    printer = printer_for(current_app._get_current_object())
    log.info("print job %s (%s) for %s started", job.id, job.kind, job.opinion.receipt_number)
    try:
        printer.submit(job.id, url)
    except Exception:
        printer.release(job.id)
        _finish(job.id, "failed", UNAVAILABLE)
        raise


def reprints_of(opinion: Opinion) -> int:
    return db.session.scalar(
        select(func.count()).select_from(PrintJob).where(
            PrintJob.opinion_uuid == opinion.uuid, PrintJob.kind == "reprint"
        )
    )


def latest_job(opinion: Opinion) -> PrintJob | None:
    return db.session.scalars(
        select(PrintJob).where(PrintJob.opinion_uuid == opinion.uuid).order_by(PrintJob.created_at.desc()).limit(1)
    ).first()


# --- print status, for the screen -------------------------------------------

# One reprint from the kiosk; more needs a deputy (a later screen).
MAX_KIOSK_REPRINTS = 1

STATE_MESSAGES = {
    "rendering": "正在准备回执……",
    "queued": "回执正在排队打印……",
    "printing": "正在打印回执……",
    "printed": "回执已打印，请从打印机取走。",
    "failed": UNAVAILABLE,
}
REPRINT_REFUSED = "这张回执已经补打过一次，不能再打印了。请用手机拍下屏幕上的二维码，或记下回执编号和验证码。"


@dataclass(frozen=True)
class PrintStatus:
    """What the screen shows about a print job: no personal data."""

    job_id: str
    state: str
    message: str
    in_progress: bool
    can_reprint: bool
    receipt_number: str
    # The 验证码, for the reprint form only; it is on the screen already.
    secret: str
    refused: bool = False


def print_status(job: PrintJob, refused: bool = False) -> PrintStatus:
    opinion = job.opinion
    failed = job.state == "failed"
    return PrintStatus(
        job_id=job.id,
        state=job.state,
        message=REPRINT_REFUSED if refused else (job.detail if failed and job.detail else STATE_MESSAGES[job.state]),
        in_progress=job.state in IN_PROGRESS,
        # Printing again helps when the printer failed, not when there is none.
        can_reprint=failed
        and not refused
        and has_printer()
        and reprints_of(opinion) < MAX_KIOSK_REPRINTS,
        receipt_number=opinion.receipt_number,
        secret=opinion.current_secret,
        refused=refused,
    )


def reprint(opinion: Opinion, limit: int | None = MAX_KIOSK_REPRINTS) -> PrintStatus:
    """Print the receipt again: at most once per opinion from the kiosk
    (``limit``; None for a deputy on duty, who may reprint as often as needed).

    While a job for it is still in progress (a double tap), that job's
    status comes back instead of a second job. On SQLite the count and the
    new job share one transaction (BEGIN IMMEDIATE), so two taps at once
    cannot both pass the limit.
    """
    latest = latest_job(opinion)
    if latest is not None and latest.state in IN_PROGRESS:
        return print_status(latest)
    if limit is not None and reprints_of(opinion) >= limit:
        db.session.rollback()
        log.info("reprint of %s refused: already reprinted", opinion.receipt_number)
        return print_status(latest, refused=True)
    return print_status(start_printing(opinion, kind="reprint"))


# --- the background workers -----------------------------------------------------


class ReceiptPrinter:
    """Background threads that print receipts and follow them in CUPS.

    One per app (``app.extensions["receipt_printer"]``), started on first
    use. Daemon threads: a process that stops leaves its unfinished jobs to
    the recovery of the next start, never a shutdown that waits on a printer.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.tasks: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        # Jobs this process is working on; others in progress are orphans.
        self.active: set[str] = set()
        self.recovered = False
        # The thermal printer's last word on itself, and when (monotonic).
        self.condition: str | None = None
        self.condition_at: float | None = None

    def claim(self, job_id: str) -> None:
        with self.lock:
            self.active.add(job_id)

    def release(self, job_id: str) -> None:
        with self.lock:
            self.active.discard(job_id)

    def submit(self, job_id: str, url: str | None) -> None:
        with self.lock:
            self.active.add(job_id)
            self._start_threads()
        self.tasks.put((job_id, url))

    def _start_threads(self) -> None:
        while len(self.threads) < WORKERS:
            thread = threading.Thread(target=self._work, name=f"receipt-printer-{len(self.threads)}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            job_id, url = self.tasks.get()
            try:
                with self.app.app_context():
                    run_job(job_id, url)
            except Exception:
                log.exception("print job %s crashed", job_id)
                try:
                    with self.app.app_context():
                        _finish(job_id, "failed", UNAVAILABLE)
                except Exception:
                    # The database is unwell too; the next start-up's recovery
                    # finishes the job. The thread must live on for the others.
                    log.exception("print job %s could not be marked failed", job_id)
            finally:
                self.release(job_id)

    def recover(self) -> None:
        """Pick up jobs a previous process left in progress (once per process)."""
        with self.lock:
            if self.recovered:
                return
            self.recovered = True
        orphans = db.session.scalars(select(PrintJob).where(PrintJob.state.in_(IN_PROGRESS))).all()
        for job in orphans:
            if job.id in self.active:
                continue
            if job.cups_job_id is None:
                # It never reached CUPS; the PDF it was rendering is gone.
                log.info("print job %s was interrupted before CUPS had it", job.id)
                _finish(job.id, "failed", INTERRUPTED)
            else:
                log.info("following print job %s (CUPS job %s) again", job.id, job.cups_job_id)
                self.submit(job.id, None)


def printer_for(app: Flask) -> ReceiptPrinter:
    printer = app.extensions.get("receipt_printer")
    if printer is None:
        printer = app.extensions.setdefault("receipt_printer", ReceiptPrinter(app))
    return printer


def init_app(app: Flask) -> None:
    """On the first request of a station process: recover orphaned jobs, warm up.

    Not at app creation: the database may not be migrated yet then, and
    ``flask`` commands create the app too without serving anything.
    """
    if app.config["ROLE"] != "station":
        return
    check_settings(app.config)

    @app.before_request
    def _start_printing_service():
        printer = printer_for(app)
        if not printer.recovered:
            printer.recover()
            # Without a printer nothing renders receipts in the background:
            # no need to spend the memory before someone asks for a PDF.
            if app.config.get("PRINTER"):
                threading.Thread(target=_warm_up, args=(app,), name="receipt-warm-up", daemon=True).start()


def check_settings(config) -> None:
    """Refuse to start on printer settings that could only fail at the first receipt."""
    if config["PRINTER_KIND"] not in KINDS:
        raise RuntimeError(f"KIOSK_PRINTER_KIND must be one of {KINDS}, not {config['PRINTER_KIND']!r}")
    dots = config["PRINTER_DOTS"]
    if type(dots) is not int or dots <= 0 or dots % 8:
        raise RuntimeError(f"KIOSK_PRINTER_DOTS must be a positive multiple of 8 (576, 384), not {dots!r}")
    device = config.get("PRINTER_DEVICE")
    if device and device_address(device) is None:
        raise RuntimeError(f"KIOSK_PRINTER_DEVICE must be host:port or socket://host:port, not {device!r}")


def thermal() -> bool:
    return current_app.config["PRINTER_KIND"] == "escpos"


def _warm_up(app: Flask) -> None:
    try:
        with app.app_context():
            warm_up()
            if thermal():
                raster.escpos_library()
    except Exception:
        # A broken renderer shows on the first receipt, with its own message.
        log.exception("warming up the receipt renderer failed")


# --- one job ---------------------------------------------------------------------


def run_job(job_id: str, url: str | None) -> None:
    """Render, send to CUPS and follow one job to printed or failed."""
    job = db.session.get(PrintJob, job_id)
    if job is None or job.state in FINISHED:
        db.session.rollback()
        return
    printer = current_app.config.get("PRINTER")
    if not printer:
        _finish(job_id, "failed", NO_PRINTER)
        return
    deadline = job.created_at + timedelta(seconds=current_app.config["PRINT_DEADLINE_SECONDS"])
    cups_job_id = job.cups_job_id
    if cups_job_id is None:
        try:
            cups_job_id = _send(job, printer, url)
        except PrinterUnavailable as reason:
            log.warning("print job %s not sent to %s: %s", job_id, printer, reason)
            trouble = reason.condition if isinstance(reason, PrinterTrouble) else None
            _finish(job_id, "failed", TROUBLE_MESSAGES.get(trouble, UNAVAILABLE))
            return
        _set_state(job_id, "queued", cups_job_id=cups_job_id)
    else:
        # Waiting on CUPS below must not hold the database (SQLite's write
        # lock comes with every transaction here).
        db.session.rollback()
    _follow(job_id, printer, cups_job_id, deadline)


def _send(job: PrintJob, printer: str, url: str | None) -> int:
    job_id, number = job.id, job.opinion.receipt_number
    # receipt_pdf ends the transaction: nothing below, CUPS included, holds
    # the database while a villager submits.
    receipt = receipt_pdf(job.opinion, url)
    connection = _connect()
    queue_attributes = _check_printer(connection, printer)
    if thermal():
        if queue_attributes.get("printer-state") == cups.IPP_PRINTER_IDLE:
            # Not while CUPS sends the printer another job: it may take one connection at a time.
            condition = check_device(queue_attributes)
            if condition is not None:
                raise PrinterTrouble(condition)
        data = raster.escpos_job(receipt, current_app.config["PRINTER_DOTS"])
        # A raw job: CUPS passes the bytes to the device untouched.
        options, suffix = {"raw": "true"}, ".escpos"
    else:
        width = current_app.config["PAPER_WIDTH_MM"]
        # Round up, so the page never exceeds the paper CUPS is told about.
        height = math.ceil(receipt.height_mm * 10) / 10
        data, options, suffix = receipt.data, {"media": f"Custom.{width}x{height}mm"}, ".pdf"
    fd, path = tempfile.mkstemp(prefix="receipt-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        cups_job_id = connection.printFile(printer, path, f"回执 {number}", options)
    except cups.IPPError as error:
        raise PrinterUnavailable(f"CUPS refused the job: {error}") from error
    finally:
        os.unlink(path)
    log.info("print job %s is CUPS job %s on %s (%s)", job_id, cups_job_id, printer, options)
    return cups_job_id


def _follow(job_id: str, printer: str, cups_job_id: int, deadline) -> None:
    # Counted on the monotonic clock from here: a box's wall clock may jump.
    limit = current_app.config["PRINT_DEADLINE_SECONDS"]
    remaining = min(max((deadline - utcnow()).total_seconds(), 0), limit)
    give_up_at = time.monotonic() + remaining
    connection = None
    state = None
    while True:
        try:
            connection = connection or _connect()
            attributes = connection.getJobAttributes(
                cups_job_id, requested_attributes=["job-state", "job-state-reasons"]
            )
            new_state = _CUPS_JOB_STATES.get(attributes.get("job-state"), "queued")
            if new_state == "printed":
                _finish(job_id, "printed")
                return
            if new_state == "failed":
                log.warning("CUPS job %s ended %s", cups_job_id, attributes)
                _finish(job_id, "failed", _why_failed(UNAVAILABLE, connection, printer))
                return
            if new_state == "queued":
                # A disabled queue holds jobs forever: say so now, not at the deadline.
                _check_printer(connection, printer)
            if new_state != state:
                _set_state(job_id, new_state)
                state = new_state
        except (cups.IPPError, CupsDown, RuntimeError) as error:
            # CUPS went away or restarts: keep asking until the deadline.
            log.info("print job %s: CUPS did not answer (%s)", job_id, error)
            connection = None
        except PrinterUnavailable as reason:
            log.warning("print job %s: %s", job_id, reason)
            _cancel(connection, cups_job_id)
            _finish(job_id, "failed", _why_failed(UNAVAILABLE, connection, printer))
            return
        if time.monotonic() > give_up_at:
            log.warning("print job %s (CUPS job %s) not printed by the deadline", job_id, cups_job_id)
            _cancel(connection, cups_job_id)
            _finish(job_id, "failed", _why_failed(TOO_SLOW, connection, printer))
            return
        time.sleep(POLL_SECONDS)


def _connect() -> "cups.Connection":
    """A new connection (pycups connections are not shared between threads).

    The server is also set as this thread's libcups default (libcups keeps
    it per thread): printing a file looks its queue up on the default
    server, whatever server the connection itself goes to.
    """
    server = current_app.config.get("CUPS_SERVER")
    try:
        if server:
            host, _, port = server.rpartition(":")
            if server.startswith("/") or not host:
                host, port = server, "631"
            cups.setServer(host)
            cups.setPort(int(port))
        return cups.Connection()
    except RuntimeError as error:
        raise CupsDown(f"cannot reach CUPS at {server or 'the default server'}: {error}") from error


QUEUE_ATTRIBUTES = ["printer-state", "printer-is-accepting-jobs", "printer-state-message", "device-uri"]


def _check_printer(connection, printer: str) -> dict:
    """The queue's attributes, when it can print now."""
    try:
        attributes = connection.getPrinterAttributes(printer, requested_attributes=QUEUE_ATTRIBUTES)
    except cups.IPPError as error:
        raise PrinterUnavailable(f"no queue {printer!r}: {error}") from error
    if attributes.get("printer-state") == cups.IPP_PRINTER_STOPPED:
        raise PrinterUnavailable(f"queue {printer!r} is stopped: {attributes.get('printer-state-message')}")
    if not attributes.get("printer-is-accepting-jobs", True):
        raise PrinterUnavailable(f"queue {printer!r} is not accepting jobs")
    return attributes


def _cancel(connection, cups_job_id: int) -> None:
    try:
        (connection or _connect()).cancelJob(cups_job_id)
    except (cups.IPPError, RuntimeError, PrinterUnavailable) as error:
        log.info("could not cancel CUPS job %s: %s", cups_job_id, error)


def _set_state(job_id: str, state: str, **values) -> None:
    job = db.session.get(PrintJob, job_id)
    job.state = state
    for name, value in values.items():
        setattr(job, name, value)
    db.session.commit()


def _finish(job_id: str, state: str, detail: str | None = None) -> None:
    db.session.rollback()
    _set_state(job_id, state, detail=detail)
    log.info("print job %s %s", job_id, state)


# --- the thermal printer's own word -----------------------------------------------


def reported_state() -> str:
    """What the station tells the hub of its receipt printer, for the fleet page.

    A thermal printer's trouble (paper out, cover open, offline) first, as
    last heard within ``STATUS_FRESH_SECONDS`` or asked now; else how the
    latest print job ended, or "idle", or "no printer".
    """
    if not current_app.config.get("PRINTER"):
        return "no printer"
    if thermal():
        condition = _recent_condition()
        if condition is not None:
            return condition
    return db.session.scalar(select(PrintJob.state).order_by(PrintJob.created_at.desc()).limit(1)) or "idle"


def _recent_condition() -> str | None:
    printer = printer_for(current_app._get_current_object())
    if printer.condition_at is not None and time.monotonic() - printer.condition_at < STATUS_FRESH_SECONDS:
        return printer.condition
    attributes = _queue_attributes(None, current_app.config["PRINTER"])
    if attributes.get("printer-state") == cups.IPP_PRINTER_PROCESSING:
        return printer.condition  # CUPS is sending it a job: not now
    return check_device(attributes)


def _why_failed(default: str, connection, printer: str) -> str:
    """The thermal printer's own word on why a job failed, when it has one; else ``default``."""
    if not thermal():
        return default
    condition = check_device(_queue_attributes(connection, printer))
    return TROUBLE_MESSAGES.get(condition, default)


def _queue_attributes(connection, printer: str) -> dict:
    """The queue's attributes; none when CUPS does not answer (it is sending the printer nothing then)."""
    try:
        return (connection or _connect()).getPrinterAttributes(printer, requested_attributes=QUEUE_ATTRIBUTES)
    except (cups.IPPError, RuntimeError, PrinterUnavailable) as error:
        log.info("no word from CUPS on %s: %s", printer, error)
        return {}


def check_device(queue_attributes: dict) -> str | None:
    """Ask the thermal printer about itself; remember and return its trouble, None when ready or silent.

    Its address is ``PRINTER_DEVICE``, else the queue's ``socket://`` device;
    a USB printer behind CUPS's usb backend is not asked.
    """
    configured = current_app.config.get("PRINTER_DEVICE")
    address = device_address(configured or queue_attributes.get("device-uri") or "")
    if address is None:
        return None
    condition = ask_device(*address)
    printer = printer_for(current_app._get_current_object())
    printer.condition, printer.condition_at = condition, time.monotonic()
    if condition is not None:
        log.warning("receipt printer at %s:%s says: %s", *address, condition)
    return condition


def device_address(text: str) -> tuple[str, int] | None:
    """``(host, port)`` from "host:port", "host" or "socket://host:port"; None for anything else."""
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme != "socket":
            return None
        text = text.split("?", 1)[0].rstrip("/")
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = text, str(DEFAULT_DEVICE_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def ask_device(host: str, port: int) -> str | None:
    """The printer's trouble by ESC/POS ``DLE EOT``: None when it is online, or does not answer status.

    Offline, it says why: the paper sensor (``DLE EOT 4``), then the cover
    (``DLE EOT 2``). Nobody listening at its address: ``OFFLINE``.
    """
    escpos = raster.escpos_library()
    device = escpos.Network(host, port, timeout=STATUS_TIMEOUT_SECONDS)
    try:
        device.open()
    except escpos.DeviceNotFoundError as error:
        log.info("receipt printer at %s:%s does not answer: %s", host, port, error)
        return OFFLINE
    try:
        if device.is_online():
            return None
        if device.paper_status() == 0:
            return PAPER_OUT
        cause = device.query_status(escpos.RT_STATUS + bytes([OFFLINE_CAUSE]))
        if cause and cause[0] & COVER_OPEN_BIT:
            return COVER_OPEN
        return PRINTER_ERROR
    except OSError as error:  # a timeout too
        # Connected, but no status: a printer that does not answer DLE EOT
        # over the network may still print.
        log.info("receipt printer at %s:%s gave no status: %s", host, port, error)
        return None
    finally:
        device.close()
