"""The duty roster (值班安排): township staff plan which deputy is on duty at which station and day."""

from flask import Blueprint

bp = Blueprint("roster", __name__, url_prefix="/staff/roster")
