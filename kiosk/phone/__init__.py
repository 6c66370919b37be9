"""Opinions from phones: the pages a deputy's or a station's QR code opens at the hub, and their posters."""

from flask import Blueprint

# The public pages: no login.
bp = Blueprint("phone", __name__)
# Staff print the posters for their township.
admin_bp = Blueprint("phone_admin", __name__, url_prefix="/staff/posters")
