"""Server-side staff sessions.

The browser's session cookie carries a random token under ``SESSION_KEY``;
the hub keeps only its SHA-256 in ``StaffSession``. Signing out, or idle time
longer than ``STAFF_IDLE_MINUTES``, ends the row, so an old cookie sent
again is refused even though its signature is still valid.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app, has_request_context, request, session

from ..extensions import db, login_manager
from ..models import StaffSession, User, utcnow

log = logging.getLogger(__name__)

SESSION_KEY = "staff_token"
# Touch last_seen_at at most this often: a page view need not write.
TOUCH_EVERY = timedelta(seconds=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, now=None) -> str:
    """Open a server-side session for ``user``; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    moment = now or utcnow()
    db.session.add(
        StaffSession(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=moment,
            last_seen_at=moment,
            address=request.remote_addr if has_request_context() else None,
        )
    )
    db.session.commit()
    return token


def end_session(token: str | None, now=None) -> None:
    """End the session behind ``token`` (no-op for an unknown one)."""
    if not token:
        return
    row = db.session.get(StaffSession, _hash(token))
    if row is not None and row.ended_at is None:
        row.ended_at = now or utcnow()
        db.session.commit()


def user_for_token(token: str | None, now=None) -> User | None:
    """The user of a live session, touching it; None if ended, idle or unknown."""
    if not token:
        return None
    row = db.session.get(StaffSession, _hash(token))
    if row is None or row.ended_at is not None:
        return None
    moment = now or utcnow()
    idle = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    if moment - row.last_seen_at > idle:
        row.ended_at = row.last_seen_at + idle
        db.session.commit()
        log.info("staff session of user %s ended after idle time", row.user_id)
        return None
    if not row.user.active:
        return None
    if moment - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = moment
        db.session.commit()
    return row.user


@login_manager.request_loader
def _load_user(_request):
    return user_for_token(session.get(SESSION_KEY))
