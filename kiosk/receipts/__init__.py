"""Receipts: the PDF, its QR code, and printing it."""

from flask import Blueprint

bp = Blueprint("receipts", __name__)
