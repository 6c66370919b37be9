"""The security headers every response of both roles carries, set in one place."""

from flask import Flask, current_app, request

# No inline script or style anywhere: every script and style sheet is a file under static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=()"
# The kiosk's screens will record a villager's voice message.
KIOSK_PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(self)"
KIOSK_BLUEPRINT = "intake"


def is_kiosk_page() -> bool:
    """True for the station's kiosk screens, the only pages that may use the microphone."""
    return current_app.config["ROLE"] == "station" and request.blueprint == KIOSK_BLUEPRINT


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Permissions-Policy"] = (
            KIOSK_PERMISSIONS_POLICY if is_kiosk_page() else PERMISSIONS_POLICY
        )
        return response
