"""代表: the deputy directory at the hub (import, photos, staff pages) and their photos on both roles."""

from flask import Blueprint

# Photos, served at the hub and at every station (content-addressed, public).
bp = Blueprint("deputies", __name__)
# The directory's staff pages, beside the set-up pages.
admin_bp = Blueprint("deputy_admin", __name__, url_prefix="/staff/admin/deputies")
