"""Statistics, exports and the annual report."""

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")
