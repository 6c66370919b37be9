"""Receipts: the PDF, its QR code, and printing it."""

from flask import Blueprint

bp = Blueprint("receipts", __name__)


@bp.record_once
def _set_up_printing(state):
    from . import printing

    printing.init_app(state.app)


from . import routes  # noqa: E402,F401
