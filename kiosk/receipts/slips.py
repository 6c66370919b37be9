"""Papers the township office prints: the assignment slip and a replacement receipt.

The assignment slip (交办单) goes with an opinion to a department that has
no account: an A4 page with the opinion, what the township asks, by when,
and room for the department's written reply and signature. The
constituent's name and phone go on it only when the clerk asks for them
(a tick box, off by default) and may see them at all
(``kiosk.auth.scope.may_see_contacts``, the one policy). Every paper
printed writes an audit row ("slip": who, which, with or without contact
details): it takes the opinion out of the system. Both papers use the
receipt fonts through ``pdf.render_document`` / ``services.receipt_pdf``.
"""

import logging

from flask import render_template

from .. import audit
from ..auth.scope import may_see_contacts
from ..clock import format_local
from ..extensions import db
from ..models import Assignment, Opinion, User
from . import pdf
from . import services as receipts

log = logging.getLogger(__name__)


def prints_contacts(user: User, asked: bool) -> bool:
    """Whether a slip printed by ``user`` carries the constituent's name and phone: asked for and allowed."""
    return bool(asked) and may_see_contacts(user)


def slip_number(assignment: Assignment) -> str:
    """交办单编号: the year it was forwarded and the assignment's number."""
    return f"{format_local(assignment.forwarded_at, '%Y')}-{assignment.id:05d}"


def slip_pdf(actor: User, assignment: Assignment, show_contact: bool) -> bytes:
    """The assignment slip as an A4 PDF; the constituent's contact only with ``show_contact``.

    Writes its audit row and commits before the slow part (see receipt_pdf).
    """
    html = _slip_html(assignment, show_contact)
    _record_slip(actor, assignment, show_contact)
    db.session.commit()
    return pdf.render_document(html)


def slips_pdf(actor: User, assignments: list[Assignment], show_contact: bool) -> bytes:
    """Several assignment slips (a bulk 转办) in one PDF, one slip per page, to print at once.

    One audit row per slip.
    """
    htmls = [_slip_html(assignment, show_contact) for assignment in assignments]
    for assignment in assignments:
        _record_slip(actor, assignment, show_contact)
    db.session.commit()
    return pdf.render_documents(htmls)


def _record_slip(actor: User, assignment: Assignment, show_contact: bool) -> None:
    opinion = assignment.opinion
    audit.record(
        "slip",
        actor=actor,
        opinion=opinion,
        subject=f"assignment:{assignment.id}",
        after={"contacts": bool(show_contact)},
        note=f"交办单 {slip_number(assignment)}" + ("（印有联系人姓名和电话）" if show_contact else "（未印联系人）"),
    )


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
    log.info("assignment slip %s for %s (contacts: %s)", slip_number(assignment), opinion.receipt_number, show_contact)
    return html


def replacement_receipt_pdf(actor: User, opinion: Opinion) -> bytes:
    """The receipt printed again with the current 验证码, in its text and its QR code.

    Writes a "slip" audit row (a receipt carries no contact details).
    """
    audit.record(
        "slip", actor=actor, opinion=opinion, subject="receipt", after={"contacts": False}, note="补打的回执"
    )
    db.session.commit()
    log.info("replacement receipt printed for %s", opinion.receipt_number)
    return receipts.receipt_pdf(opinion, receipts.receipt_url(opinion)).data
