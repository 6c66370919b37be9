"""Receipt PDFs, the receipt screen's QR code, and print status."""

from flask import abort, make_response, request

from ..extensions import db
from ..htmx import render
from ..models import PrintJob
from ..public.lookup import find_receipt
from . import bp, printing, printing_bp, services
from .forms import ReprintForm
from .qr import qr_svg

@printing_bp.record_once
def _set_up_printing(state):
    printing.init_app(state.app)


@printing_bp.get("/print-jobs/<job_id>")
def print_status(job_id):
    """Where printing a receipt has got to; polls itself while in progress."""
    job = db.session.get(PrintJob, job_id) or abort(404)
    return _status_response(printing.print_status(job))


@printing_bp.post("/receipts/<number>/reprint")
def reprint(number):
    """Print a receipt once more, once, after printing it failed."""
    form = ReprintForm()
    if not form.validate_on_submit():
        abort(400)
    opinion = find_receipt(number, form.secret.data) or abort(404)
    return _status_response(printing.reprint(opinion))


@bp.get("/receipts/<number>.pdf")
def receipt_pdf(number):
    """The receipt as a PDF: the address printed on the paper, for years."""
    opinion = find_receipt(number, request.args.get("k")) or abort(404)
    response = make_response(services.receipt_pdf(opinion).data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{opinion.receipt_number}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/receipts/<number>/qr.svg")
def receipt_qr(number):
    """The receipt's QR code as an SVG image, for the receipt screen."""
    opinion = find_receipt(number, request.args.get("k")) or abort(404)
    response = make_response(qr_svg(services.receipt_url(opinion)))
    response.mimetype = "image/svg+xml"
    # Its address holds the 验证码: the kiosk's browser keeps nothing of a receipt
    # for the next person (the code itself is cached in the process, qr_path).
    response.headers["Cache-Control"] = "no-store"
    return response


def _status_response(status: printing.PrintStatus):
    response = render("receipts/print_status.html", "receipts/_print_status.html", print_status=status)
    response.headers["Cache-Control"] = "no-store"
    return response
