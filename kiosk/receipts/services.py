"""What a receipt says, where its QR code leads, and its PDF.

A receipt shows the receipt number, the 验证码 secret, a QR code, the
station, the local time, the category, the start of the opinion, when to
expect an answer and the township office's phone number. It never shows the
person's name, and their phone number only masked.
"""

from flask import current_app, has_request_context, request

from ..localtime import format_local
from ..models import Opinion
from ..text import mask_phone
from . import pdf
from .qr import qr_svg

EXCERPT_LENGTH = 30


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
    return f"{base.rstrip('/')}/r/{opinion.receipt_number}?k={opinion.secret}"


def excerpt(content: str, length: int = EXCERPT_LENGTH) -> str:
    """The first ``length`` characters on one line, with … when cut."""
    flat = " ".join(content.split())
    return flat if len(flat) <= length else flat[:length] + "…"


def receipt_context(opinion: Opinion, url: str) -> dict:
    return {
        "opinion": opinion,
        "qr": qr_svg(url),
        "submitted_at": format_local(opinion.created_at, "%Y年%m月%d日 %H:%M"),
        "excerpt": excerpt(opinion.content),
        "masked_phone": mask_phone(opinion.contact_phone),
        "office_phone": opinion.station.township.office_phone,
    }


def receipt_pdf(opinion: Opinion, url: str | None = None) -> pdf.ReceiptPDF:
    """The receipt as a PDF as wide as the paper roll and as long as its content."""
    html = pdf.receipt_html(receipt_context(opinion, url or receipt_url(opinion)))
    return pdf.render_html(html)
