"""Requests signed as a station signs them, for tests that send their own bodies."""

import secrets

from kiosk.clock import to_millis
from kiosk.models import utcnow
from kiosk.sync import signing


def signed_headers(key, path, body, station="LC00", timestamp=None, nonce=None, digest=None):
    """The headers of a gzip JSON POST to ``path``, signed with ``key`` (any part may be given wrong)."""
    timestamp = str(timestamp if timestamp is not None else to_millis(utcnow()))
    nonce = nonce or secrets.token_urlsafe(18)
    digest = digest or signing.body_digest(body)
    return {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        signing.H_STATION: station,
        signing.H_TIMESTAMP: timestamp,
        signing.H_NONCE: nonce,
        signing.H_DIGEST: digest,
        signing.H_SIGNATURE: signing.sign(key, signing.request_message("POST", path, timestamp, nonce, digest)),
    }
