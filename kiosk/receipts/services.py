"""What a receipt says, where its QR code leads, and its PDF.

A receipt shows the receipt number, the 验证码 secret, a QR code, the
station, the local time, the category, the start of the opinion, when to
expect an answer and the township office's phone number. It never shows the
person's name or phone number, not even masked.
"""

import logging
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

from ..clock import format_local
from ..duty.services import entered_by
from ..extensions import db
from ..parsing import is_loopback
from ..models import Opinion, utcnow
from . import pdf
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
        "office_phone": opinion.station.township.office_phone,
        "entered_by": entered_by(opinion.uuid),
        # 附语音留言（N 秒）: the recording is said, never printed.
        "voice_seconds": opinion.voice.seconds if opinion.voice else None,
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
        uuid=None, receipt_number="LC00-000000-0000", current_secret="AAAAAA", created_at=utcnow(), content="样本" * 20,
        contact_phone="13800000000", category=SimpleNamespace(name="其他", answer_days=15), voice=None,
        station=SimpleNamespace(name="人大代表中心联络站", township=township),
    )  # fmt: skip
    started = time.perf_counter()
    receipt_pdf(sample, receipt_url(sample))
    _warmed_up = True
    log.info("receipt renderer warmed up in %.0f ms", (time.perf_counter() - started) * 1000)
