"""Public pages: the status page a receipt's QR code leads to."""

from flask import Blueprint

bp = Blueprint("public", __name__)
