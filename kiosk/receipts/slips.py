"""Papers the township office prints: the assignment slip and a replacement receipt.

The assignment slip (交办单) goes with an opinion to a department that has
no account: an A4 page with the opinion, what the township asks, by when,
and room for the department's written reply and signature. Both papers use
the receipt fonts through ``pdf.render_document`` / ``services.receipt_pdf``.
"""

import logging

from flask import render_template

from ..extensions import db
from ..localtime import format_local
from ..models import Assignment, Opinion, Role, User
from . import pdf
from . import services as receipts

log = logging.getLogger(__name__)

# Roles that may see a constituent's name and phone: every hub staff role;
# the township keeps them so that staff (and the department) can call back.
CONTACT_ROLES = frozenset({Role.CITY, Role.CHAIR, Role.TOWNSHIP})


def may_see_contact(user: User) -> bool:
    return user.role in CONTACT_ROLES


def slip_number(assignment: Assignment) -> str:
    """交办单编号: the year it was forwarded and the assignment's number."""
    return f"{format_local(assignment.forwarded_at, '%Y')}-{assignment.id:05d}"


def slip_pdf(assignment: Assignment, show_contact: bool) -> bytes:
    """The assignment slip as an A4 PDF; the constituent's contact only with ``show_contact``."""
    html = _slip_html(assignment, show_contact)
    # Only reads: end the transaction before the slow part (see receipt_pdf).
    db.session.rollback()
    return pdf.render_document(html)


def slips_pdf(assignments: list[Assignment], show_contact: bool) -> bytes:
    """Several assignment slips (a bulk 转办) in one PDF, one slip per page, to print at once."""
    htmls = [_slip_html(assignment, show_contact) for assignment in assignments]
    db.session.rollback()
    return pdf.render_documents(htmls)


def _slip_html(assignment: Assignment, show_contact: bool) -> str:
    opinion = assignment.opinion
    html = render_template(
        "receipts/slip.html",
        assignment=assignment,
        opinion=opinion,
        department=assignment.department,
        township=opinion.station.township,
        number=slip_number(assignment),
        received_on=format_local(opinion.hub_received_at or opinion.created_at, "%Y年%m月%d日"),
        forwarded_on=format_local(assignment.forwarded_at, "%Y年%m月%d日"),
        show_contact=show_contact,
    )
    log.info("assignment slip %s for %s", slip_number(assignment), opinion.receipt_number)
    return html


def replacement_receipt_pdf(opinion: Opinion) -> bytes:
    """The receipt printed again with the current 验证码, in its text and its QR code."""
    return receipts.receipt_pdf(opinion, receipts.receipt_url(opinion)).data
