"""Activation slips: one A6-sized slip per deputy, to hand over with their account.

Each carries the deputy's name, username, one-time code, until when it
works, and the hub's address as text and as a QR code (the activation page,
the username filled in). The address is ``PUBLIC_BASE_URL``: the one a
phone anywhere can open. Rendered by WeasyPrint with the receipt fonts.
"""

from urllib.parse import urlencode

from flask import current_app, has_request_context, render_template, request

from ..receipts import pdf
from ..receipts.qr import qr_svg
from .accounts import IssuedCode, formatted

NO_ADDRESS = "没有设置镇人大办系统的公网地址：请先设置 KIOSK_PUBLIC_BASE_URL（代表用手机打开的地址），再生成激活单。"


def hub_address() -> str | None:
    """The hub's public address, else (from a staff page) the address the page was opened on."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.host_url
    return base.rstrip("/") if base else None


def slips_pdf(issued: list[IssuedCode], township_name: str, base: str) -> bytes:
    """Every slip of ``issued`` in one PDF, one per page."""
    path = current_app.url_map.bind("").build("desk.activate")
    slips = [
        {
            "code": code,
            "shown_code": formatted(code.code),
            "qr": qr_svg(f"{base}{path}?{urlencode({'username': code.username})}"),
        }
        for code in issued
    ]
    html = render_template(
        "desk/activation_slips.html", slips=slips, township_name=township_name, address=f"{base}{path}"
    )
    return pdf.render_document(html)
