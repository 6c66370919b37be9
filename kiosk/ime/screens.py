"""Each kiosk screen's Rime session: made on first keystroke, dropped with the villager's draft."""

import secrets

from flask import current_app, session

from . import rime

SESSION_KEY = "ime_session"


def screen_key() -> str:
    """This screen's key for its Rime session, kept in the Flask session beside the draft."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(12)
    return session[SESSION_KEY]


def end_screen_session() -> None:
    """Forget what this screen typed: the next villager starts on a fresh Rime session."""
    key = session.pop(SESSION_KEY, None)
    if key and rime.engine_started():
        rime.engine(current_app).end_session(key)
