"""Opinions from phones: the pages a deputy's or a station's QR code opens at the hub, and their posters."""

from flask import Blueprint

bp = Blueprint("phone", __name__)
