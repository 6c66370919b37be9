"""The station's sync admin screen, behind a PIN."""

from flask import Blueprint

bp = Blueprint("sync_admin", __name__, url_prefix="/admin/sync")
