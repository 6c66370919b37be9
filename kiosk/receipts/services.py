"""What a receipt says, where its QR code leads, and its PDF.

A receipt shows the receipt number, the 验证码 secret, a QR code, the
station, the local time, the category, the start of the opinion, when to
expect an answer and the township office's phone number. It never shows the
person's name, and their phone number only masked.
"""

import logging
import time
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

from ..clock import format_local
from ..extensions import db
from ..parsing import is_loopback
from ..models import Opinion, PrintJob, utcnow
from ..text import mask_phone
from . import pdf, printing
from .qr import qr_path, qr_svg

log = logging.getLogger(__name__)

EXCERPT_LENGTH = 30
# Thermal printers print 8 dots per millimetre: a QR module of exactly 7
# dots keeps every module the same size on paper, which scanners like.
QR_MODULE_MM = 7 / 8


def receipt_url(opinion: Opinion) -> str:
    """The status page address printed in the QR code.

    ``PUBLIC_BASE_URL`` once the station is enrolled with a hub; before
    that, the address this request came in on, or ``LOCAL_BASE_URL``
    outside a request. The ``/r/`` path is fixed by ARCHITECTURE.md: it is
    printed on paper and must keep working for years.
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.host_url if has_request_context() else current_app.config["LOCAL_BASE_URL"]
    _warn_if_only_this_machine(base)
    # Built from the route itself (bound without a request, as the printer
    # thread has none); the base may be another box, so no url_for(_external).
    path = current_app.url_map.bind("").build(
        "public.status", {"number": opinion.receipt_number, "k": opinion.current_secret}
    )
    return base.rstrip("/") + path


def _warn_if_only_this_machine(base: str) -> None:
    """Say once per station process when QR codes lead where no phone can follow."""
    app = current_app._get_current_object()
    if app.config["ROLE"] != "station" or app.extensions.get("loopback_qr_warned"):
        return
    if is_loopback(urlsplit(base).hostname):
        app.extensions["loopback_qr_warned"] = True
        log.warning(
            "receipt QR codes lead to %s, which a villager's phone cannot open: "
            "enrol this station with its township hub, or set KIOSK_PUBLIC_BASE_URL",
            base,
        )


def excerpt(content: str, length: int = EXCERPT_LENGTH) -> str:
    """The first ``length`` characters on one line, with … when cut."""
    flat = " ".join(content.split())
    return flat if len(flat) <= length else flat[:length] + "…"


def receipt_context(opinion: Opinion, url: str) -> dict:
    return {
        "opinion": opinion,
        "qr": qr_svg(url),
        "qr_size_mm": round(qr_path(url)[0] * QR_MODULE_MM, 3),
        "submitted_at": format_local(opinion.created_at, "%Y年%m月%d日 %H:%M"),
        "excerpt": excerpt(opinion.content),
        "masked_phone": mask_phone(opinion.contact_phone),
        "office_phone": opinion.station.township.office_phone,
    }


def receipt_pdf(opinion: Opinion, url: str | None = None) -> pdf.ReceiptPDF:
    """The receipt as a PDF as wide as the paper roll and as long as its content.

    Only reads. It ends the session's transaction before the slow part:
    on SQLite every transaction here takes the write lock (BEGIN IMMEDIATE),
    and a villager's submission must not wait for a PDF.
    """
    html = pdf.receipt_html(receipt_context(opinion, url or receipt_url(opinion)))
    db.session.rollback()
    return pdf.render_html(html)


_warmed_up = False


def warm_up() -> None:
    """Render a sample receipt now, so that the first real one is quick.

    Importing WeasyPrint, loading the fonts into Pango, compiling the
    template and the first layout take most of a second; a station with a
    printer does this in the background when it starts serving, long before
    anyone has finished typing an opinion. Nothing is saved or printed.
    """
    global _warmed_up
    if _warmed_up:
        return
    township = SimpleNamespace(name="示例镇", office_phone="0000-0000000")
    sample = SimpleNamespace(
        receipt_number="LC00-000000-0000", current_secret="AAAAAA", created_at=utcnow(), content="样本" * 20,
        contact_phone="13800000000", category=SimpleNamespace(name="其他", answer_days=15),
        station=SimpleNamespace(name="人大代表中心联络站", township=township),
    )  # fmt: skip
    started = time.perf_counter()
    receipt_pdf(sample, receipt_url(sample))
    _warmed_up = True
    log.info("receipt renderer warmed up in %.0f ms", (time.perf_counter() - started) * 1000)


# --- print status, for the screen -------------------------------------------

# One reprint from the kiosk; more needs a deputy (a later screen).
MAX_KIOSK_REPRINTS = 1

STATE_MESSAGES = {
    "rendering": "正在准备回执……",
    "queued": "回执正在排队打印……",
    "printing": "正在打印回执……",
    "printed": "回执已打印，请从打印机取走。",
    "failed": printing.UNAVAILABLE,
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
        in_progress=job.state in printing.IN_PROGRESS,
        # Printing again helps when the printer failed, not when there is none.
        can_reprint=failed
        and not refused
        and bool(current_app.config.get("PRINTER"))
        and printing.reprints_of(opinion) < MAX_KIOSK_REPRINTS,
        receipt_number=opinion.receipt_number,
        secret=opinion.current_secret,
        refused=refused,
    )


def reprint(opinion: Opinion) -> PrintStatus:
    """Print the receipt again: at most once per opinion from the kiosk.

    While a job for it is still in progress (a double tap), that job's
    status comes back instead of a second job. On SQLite the count and the
    new job share one transaction (BEGIN IMMEDIATE), so two taps at once
    cannot both pass the limit.
    """
    latest = printing.latest_job(opinion)
    if latest is not None and latest.state in printing.IN_PROGRESS:
        return print_status(latest)
    if printing.reprints_of(opinion) >= MAX_KIOSK_REPRINTS:
        db.session.rollback()
        log.info("reprint of %s refused: already reprinted", opinion.receipt_number)
        return print_status(latest, refused=True)
    return print_status(printing.start_printing(opinion, kind="reprint"))
