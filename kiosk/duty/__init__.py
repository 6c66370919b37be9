"""Deputies on duty at the kiosk: check-in with a PIN, deputy mode, check-out (station only)."""

from flask import Blueprint

bp = Blueprint("duty", __name__, url_prefix="/duty")
