"""Public status pages."""

from flask import current_app

from . import bp


@bp.get("/healthz")
def healthz():
    """Liveness check for service managers and tests."""
    return {"ok": True, "role": current_app.config["ROLE"]}
