"""Finding an opinion from what is printed on its receipt: number and 验证码.

What people type is read by ``kiosk.receipts.numbers``; wrong guesses are
counted here, so nobody walks through other people's receipts.
"""

import secrets
from datetime import timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import TooManyRequests

from ..extensions import db
from ..limits import Limit, household, locked_until
from ..models import Opinion, Station
from ..parsing import is_loopback
from ..receipts.numbers import AS_DIGITS, LOOK_ALIKES, normalise_receipt_number, normalise_secret


def _look_alike_number(number: str) -> str | None:
    """The number with its station code corrected, when one station's code
    looks like what was typed (LCOO for LC00) and the typed one is no code."""
    code, _, rest = number.partition("-")
    if not rest or db.session.get(Station, code) is not None:
        return None
    folded_code = Station.code
    for letter, digit in LOOK_ALIKES:
        folded_code = func.replace(folded_code, letter, digit)
    matches = db.session.scalars(
        select(Station.code).where(folded_code == code.translate(AS_DIGITS)).limit(2)
    ).all()
    return f"{matches[0]}-{rest}" if len(matches) == 1 else None


def find_receipt(number: str | None, secret: str | None) -> Opinion | None:
    """The opinion behind a receipt, only when its secret (验证码) matches.

    The number alone says which receipt; the secret proves the holder has
    it, so nobody can walk through other people's receipts by counting.
    Only the current secret opens it: after a replacement receipt, the old
    one no longer does (at the hub at once, at a station once it pulls).
    """
    number, secret = normalise_receipt_number(number), normalise_secret(secret)
    if not number or not secret:
        return None
    guesses = GuessLimiter()
    guesses.check(number)
    opinion = _by_number(number)
    if opinion is None and (look_alike := _look_alike_number(number)):
        number = look_alike
        guesses.check(number)
        opinion = _by_number(number)
    if opinion is None or not secrets.compare_digest(opinion.current_secret.encode(), secret.encode()):
        guesses.record_failure(number)
        return None
    return opinion


def _by_number(number: str) -> Opinion | None:
    """The opinion with what its status page shows, in one query: its history,
    category, station and township (a page phones reload every few seconds)."""
    query = (
        select(Opinion)
        .where(Opinion.receipt_number == number)
        .options(
            joinedload(Opinion.events),
            joinedload(Opinion.category),
            joinedload(Opinion.station).joinedload(Station.township),
        )
    )
    return db.session.execute(query).unique().scalar_one_or_none()


class TooManyGuesses(TooManyRequests):
    """Too many wrong 验证码 for one receipt, or wrong look-ups from one address."""


class GuessLimiter:
    """Counts wrong look-ups over 10 minutes, per receipt number and per address.

    Per number: one receipt's 验证码 cannot be guessed at any speed, from
    anywhere, the kiosk's own screen included; the receipt opens again
    after the wait (six characters from 23 is 148 million secrets, and 20
    tries per 10 minutes is 200 years for a tenth of them). Per address
    (IPv6 by its /64, what one household or phone is given): nobody walks
    through many receipts from one phone or computer. At a station, not
    for the kiosk's own browser, which every villager shares (it connects
    from this machine): one person's typing mistakes must not shut look-up
    for the next, and a touchscreen is slow to guess on anyway. At a hub
    every address counts, this machine's too (a reverse proxy in front).

    The counts are ``kiosk.limits`` rows, so they hold across the hub's
    worker processes and its restarts. Outside a request (commands, tests
    of services) it does nothing.
    """

    WINDOW = timedelta(minutes=10)

    def check(self, number: str) -> None:
        if not has_request_context():
            return
        if any(locked_until(self._keys(number))):
            raise TooManyGuesses()

    def record_failure(self, number: str) -> None:
        if not has_request_context():
            return
        for limit, key in self._keys(number):
            limit.record_failure(key)

    def _keys(self, number: str) -> list[tuple[Limit, str]]:
        failures = current_app.config["LOOKUP_FAILURES_PER_10_MINUTES"]
        keys = [(Limit("lookup-number", failures, self.WINDOW, self.WINDOW), number)]
        address = request.remote_addr or ""
        if current_app.config["ROLE"] == "station" and is_loopback(address):
            return keys  # the kiosk's own screen
        return keys + [(Limit("lookup-address", failures, self.WINDOW, self.WINDOW), household(address))]
