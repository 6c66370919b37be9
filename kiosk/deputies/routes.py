"""Deputies' photos (both roles) and the directory's staff pages (hub)."""

import re

from flask import abort, make_response

from ..extensions import db
from ..models import DeputyPhoto
from . import bp

SHA256 = re.compile(r"[0-9a-f]{64}")
# Named by their content: a photo at an address never changes.
FOREVER = "public, max-age=31536000, immutable"


@bp.get("/deputies/photos/<sha>.jpg")
def photo(sha):
    """A deputy's photo, by its SHA-256."""
    stored = db.session.get(DeputyPhoto, sha) if SHA256.fullmatch(sha) else None
    if stored is None:
        abort(404)
    response = make_response(stored.data)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = FOREVER
    return response
