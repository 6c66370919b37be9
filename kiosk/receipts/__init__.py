"""Receipts: the PDF, its QR code, and printing it."""

from flask import Blueprint

# The receipt's PDF and QR code: served by both roles.
bp = Blueprint("receipts", __name__)
# Printing on the kiosk's receipt printer, and its status: the station's alone.
printing_bp = Blueprint("printing", __name__)
