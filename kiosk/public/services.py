"""Finding an opinion from what is printed on its receipt."""

import re
import secrets
import threading
import time
from collections import defaultdict, deque

from flask import current_app, has_request_context, request
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from ..extensions import db
from ..models import Opinion

# Station code, local date YYMMDD, four-digit daily serial, typed without hyphens.
UNHYPHENATED_NUMBER = re.compile(r"([A-Z0-9]{2,8})(\d{6})(\d{4})")


def normalise_receipt_number(number: str | None) -> str:
    """Upper case, without spaces, hyphens where they belong.

    People type numbers read off paper or over the phone: with or without
    hyphens (some of them, or full-width ones), in lower case, with spaces.
    """
    value = re.sub(r"[－—–]", "-", re.sub(r"\s", "", number or "")).upper()
    if value.count("-") == 2:
        return value
    if match := UNHYPHENATED_NUMBER.fullmatch(value.replace("-", "")):
        return "-".join(match.groups())
    return value


def normalise_secret(secret: str | None) -> str:
    return re.sub(r"\s", "", secret or "").upper()


def find_receipt(number: str | None, secret: str | None) -> Opinion | None:
    """The opinion behind a receipt, only when its secret (验证码) matches.

    The number alone says which receipt; the secret proves the holder has
    it, so nobody can walk through other people's receipts by counting.
    """
    number, secret = normalise_receipt_number(number), normalise_secret(secret)
    if not number or not secret:
        return None
    guesses = _guess_limiter()
    guesses.check()
    opinion = db.session.execute(select(Opinion).where(Opinion.receipt_number == number)).scalar_one_or_none()
    if opinion is None or not secrets.compare_digest(opinion.secret.encode(), secret.encode()):
        guesses.record_failure()
        return None
    return opinion


class GuessLimiter:
    """Counts wrong look-ups per address over a sliding 10 minutes.

    Kept in memory: it only has to make guessing slower than useful, and a
    restart forgetting it costs nothing (six characters from 23 is 148
    million secrets). Outside a request (commands, tests of services) it
    does nothing.
    """

    WINDOW_SECONDS = 600

    def __init__(self):
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self) -> None:
        if not has_request_context():
            return
        limit = current_app.config["LOOKUP_FAILURES_PER_10_MINUTES"]
        with self._lock:
            if len(self._recent(request.remote_addr)) >= limit:
                raise TooManyRequests()

    def record_failure(self) -> None:
        if has_request_context():
            with self._lock:
                self._recent(request.remote_addr).append(time.monotonic())

    def _recent(self, address: str) -> deque:
        failures = self._failures[address]
        while failures and failures[0] < time.monotonic() - self.WINDOW_SECONDS:
            failures.popleft()
        return failures


def _guess_limiter() -> GuessLimiter:
    # One per app, so two apps in one process (tests, a station beside a
    # hub) never share their counts.
    return current_app.extensions.setdefault("receipt_guesses", GuessLimiter())
