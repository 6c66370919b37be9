"""Statistics, exports and the annual report."""

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")

from . import routes  # noqa: E402,F401
