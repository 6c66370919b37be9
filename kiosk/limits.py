"""Limits on failures: so many wrong tries within a window lock a key for a while.

One mechanism for every limit that must hold across worker processes and
restarts, as signing in does (``kiosk.auth.services``): the sync admin
PIN, wrong 验证码 at the look-up, later the deputies' PIN. A limit has a
kind; what it counts per key (a receipt number, an address, the one PIN
of a box) is up to its caller. Failures are rows in ``limit_failures``;
a try refused because the key is locked is not counted, so a lock ends on
time, and the rows a key can hold stay few.

The same rows also count things done, not failed (opinions sent from
phones, ``kiosk.phone``): ``next_free`` says when fewer than so many fall
within the window again, and ``note`` counts one inside the caller's
transaction, so the opinion and its count commit together.
"""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select

from .clock import now
from .extensions import db
from .models import LimitFailure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """``failures`` failures within ``window`` lock the key for ``lock`` after the last."""

    kind: str
    failures: int
    window: timedelta
    lock: timedelta

    def locked_until(self, key: str, moment: datetime | None = None) -> datetime | None:
        """When the key opens again; None while it is open."""
        return locked_until([(self, key)], moment)[0]

    def _until(self, times: list[datetime], moment: datetime) -> datetime | None:
        """When a key with failures at ``times`` (in order) opens again; None while it is open."""
        times = [at for at in times if at > moment - self.window - self.lock]
        until = None
        # Every run of ``failures`` within the window locks until ``lock`` after its last.
        for first, last in zip(times, times[self.failures - 1 :]):
            if last - first <= self.window and last + self.lock > moment:
                until = last + self.lock
        return until

    def record_failure(self, key: str, moment: datetime | None = None) -> None:
        """Count a failure for ``key``. Commits, so it counts even if the request then fails."""
        self.note(key, moment)
        db.session.commit()
        log.info("limit %s: failure for %s", self.kind, key)

    def note(self, key: str, moment: datetime | None = None) -> None:
        """Count one for ``key`` in the caller's transaction (no commit)."""
        moment = moment or now()
        db.session.add(LimitFailure(kind=self.kind, key=_key(key), at=moment))
        # Rows this old can lock nothing any more.
        db.session.execute(
            delete(LimitFailure).where(
                LimitFailure.kind == self.kind, LimitFailure.at <= moment - self.window - self.lock
            )
        )

    def next_free(self, key: str, moment: datetime | None = None) -> datetime | None:
        """When fewer than ``failures`` of ``key`` fall within the window again; None while they do now.

        For a limit on how often a thing is done: the window slides, so a
        key waits only for its oldest counted time to leave it.
        """
        moment = moment or now()
        times = db.session.scalars(
            select(LimitFailure.at)
            .where(
                LimitFailure.kind == self.kind,
                LimitFailure.key == _key(key),
                LimitFailure.at > moment - self.window,
            )
            .order_by(LimitFailure.at.desc())
            .limit(self.failures)
        ).all()
        if len(times) < self.failures:
            return None
        return times[-1] + self.window

    def clear(self, key: str) -> None:
        """Forget the failures of ``key`` (after a success). Commits."""
        db.session.execute(
            delete(LimitFailure).where(LimitFailure.kind == self.kind, LimitFailure.key == _key(key))
        )
        db.session.commit()


def household(address: str) -> str:
    """A client's address as limits count it: IPv4 as it is, IPv6 by its /64
    (what one household or phone is given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def locked_until(keys: list[tuple[Limit, str]], moment: datetime | None = None) -> list[datetime | None]:
    """When each of several limits' keys opens again (None while open), read in one query.

    A page that checks two limits on every request (the receipt look-up: per
    number and per address) pays one round trip to the database, not two.
    """
    moment = moment or now()
    oldest = min(moment - limit.window - limit.lock for limit, _key_ in keys)
    rows = db.session.execute(
        select(LimitFailure.kind, LimitFailure.key, LimitFailure.at)
        .where(
            or_(*(and_(LimitFailure.kind == limit.kind, LimitFailure.key == _key(key)) for limit, key in keys)),
            LimitFailure.at > oldest,
        )
        .order_by(LimitFailure.at)
    ).all()
    return [
        limit._until([at for kind, row_key, at in rows if kind == limit.kind and row_key == _key(key)], moment)
        for limit, key in keys
    ]


def _key(key: str) -> str:
    return key[:64]


def minutes_left(until: datetime, moment: datetime | None = None) -> int:
    """Whole minutes until ``until``, at least one: what a person is told to wait."""
    seconds = (until - (moment or now())).total_seconds()
    return max(1, -(-int(seconds) // 60))
