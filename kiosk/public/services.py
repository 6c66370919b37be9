"""Finding an opinion from what is printed on its receipt, what its holder
may see of its progress, and the rating (满意度测评) they may give."""

import ipaddress
import logging
import secrets
import threading
import time
import uuid as uuid_module
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_request_context, request
from sqlalchemy import exists, func, select
from werkzeug.exceptions import TooManyRequests

from ..extensions import db
from ..parsing import is_loopback
from ..models import Opinion, OpinionStatus, Rating, RatingSource, Satisfaction, Station, utcnow
from ..receipts.numbers import AS_DIGITS, LOOK_ALIKES, normalise_receipt_number, normalise_secret

log = logging.getLogger(__name__)

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
    guesses = _guess_limiter()
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
    return db.session.execute(select(Opinion).where(Opinion.receipt_number == number)).scalar_one_or_none()


class TooManyGuesses(TooManyRequests):
    """Too many wrong 验证码 for one receipt, or wrong look-ups from one address."""


class GuessLimiter:
    """Counts wrong look-ups over a sliding 10 minutes, per receipt number and per address.

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

    Kept in memory, and bounded: it only has to make guessing slower than
    useful, and a restart forgetting it costs nothing. Keys are kept in
    the order of their last failure, so the stale ones are dropped from the
    front as new failures come, and the oldest go first past ``MAX_KEYS``.
    Outside a request (commands, tests of services) it does nothing.
    """

    WINDOW_SECONDS = 600
    MAX_KEYS = 50_000

    def __init__(self):
        self._failures: OrderedDict[tuple[str, str], deque] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, number: str) -> None:
        if not has_request_context():
            return
        limit = current_app.config["LOOKUP_FAILURES_PER_10_MINUTES"]
        with self._lock:
            if any(len(self._recent(key)) >= limit for key in self._keys(number)):
                raise TooManyGuesses()

    def record_failure(self, number: str) -> None:
        if not has_request_context():
            return
        now = time.monotonic()
        with self._lock:
            for key in self._keys(number):
                failures = self._failures.setdefault(key, deque())
                failures.append(now)
                self._failures.move_to_end(key)
            self._drop_old(now)

    def _keys(self, number: str) -> list[tuple[str, str]]:
        keys = [("number", number)]
        address = request.remote_addr or ""
        if current_app.config["ROLE"] == "station" and is_loopback(address):
            return keys  # the kiosk's own screen
        return keys + [("address", _household(address))]

    def _recent(self, key: tuple[str, str]) -> deque:
        failures = self._failures.get(key, deque())
        while failures and failures[0] < time.monotonic() - self.WINDOW_SECONDS:
            failures.popleft()
        return failures

    def _drop_old(self, now: float) -> None:
        """Drop keys whose last failure left the window, and the oldest past the cap."""
        while self._failures:
            key, failures = next(iter(self._failures.items()))
            fresh = failures and failures[-1] >= now - self.WINDOW_SECONDS
            if fresh and len(self._failures) <= self.MAX_KEYS:
                return
            del self._failures[key]


def _household(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address by its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def _guess_limiter() -> GuessLimiter:
    # One per app, so two apps in one process (tests, a station beside a
    # hub) never share their counts.
    return current_app.extensions.setdefault("receipt_guesses", GuessLimiter())


# --- what the holder of a receipt sees --------------------------------------------

# How far a chain of merges (A into B, B into C) is followed.
MERGE_DEPTH = 5


@dataclass(frozen=True)
class ProgressStep:
    """One line of the public status history."""

    status: str
    at: datetime
    note: str | None

    @property
    def status_label(self) -> str:
        return OpinionStatus(self.status).label


@dataclass(frozen=True)
class Progress:
    """An opinion's public progress: status, public reply, status history.

    Public text only (never staff names or contact details). For a merged
    duplicate it is the original's progress, after the duplicate's own first
    steps and a line naming the original's receipt.
    """

    status: str
    public_reply: str | None
    steps: list[ProgressStep]
    merged: bool

    @property
    def status_label(self) -> str:
        return OpinionStatus(self.status).label


def followed(opinion: Opinion) -> Opinion:
    """The opinion whose progress ``opinion``'s receipt shows.

    At the hub, a merged duplicate's original (the chain followed a few
    steps at most); the opinion itself otherwise, and always at a station,
    which holds the followed progress under the duplicate's own UUID.
    """
    target = opinion
    if _is_hub():
        for _ in range(MERGE_DEPTH):
            if target.merged_into is None:
                break
            target = target.merged_into
    return target


def progress(opinion: Opinion) -> Progress:
    """What the receipt's holder sees of ``opinion``.

    At the hub a merged duplicate follows its original, live: its own first
    steps, a line naming the original's receipt and the original's steps
    (before the merge and after, but for its own arrival), in time order,
    under the original's status and public reply. A
    station holds what the hub last sent (``kiosk.sync.hub.opinion_state``
    sends this same progress), so there the stored fields are the progress,
    and a "merged" line in the history marks a duplicate.
    """
    return _progress(opinion, 0)


def _progress(opinion: Opinion, depth: int) -> Progress:
    steps = [ProgressStep(e.status, e.at, e.note) for e in opinion.events]
    original = opinion.merged_into if _is_hub() else None
    if original is None or depth >= MERGE_DEPTH:
        merged = opinion.merged_into_uuid is not None or any(s.status == OpinionStatus.MERGED for s in steps)
        return Progress(opinion.status, opinion.public_reply, steps, merged)
    shown = _progress(original, depth + 1)
    merge_steps = [s for s in steps if s.status == OpinionStatus.MERGED]
    merged_at = merge_steps[-1].at if merge_steps else (opinion.updated_at or utcnow())
    own = [s for s in steps if s.status != OpinionStatus.MERGED and s.at <= merged_at]
    # The hub's merge note sends the holder to the other receipt, whose 验证码
    # they do not have; here that receipt's progress follows directly: what the
    # office did on it before the merge (受理, 转办 and its due date) as much as
    # after, all in the order it happened (a station orders the history by
    # time too). Only the original's own arrival (登记, 收到) is left out: the
    # holder's receipt has its own.
    line = ProgressStep(
        OpinionStatus.MERGED,
        merged_at,
        f"已与回执 {original.receipt_number} 合并办理（同类意见），本页显示合并办理的全部进度。",
    )
    theirs = [s for s in shown.steps if s.status not in _ARRIVAL]
    steps = sorted([*own, line, *theirs], key=lambda s: s.at)
    return Progress(shown.status, shown.public_reply, steps, True)


_ARRIVAL = frozenset({OpinionStatus.SUBMITTED, OpinionStatus.RECEIVED})


def _is_hub() -> bool:
    return current_app.config["ROLE"] == "hub"


# --- rating (满意度测评) ------------------------------------------------------------

COMMENT_MAX = 300


class RatingRefused(Exception):
    """A rating that cannot be taken; ``message`` is shown (Chinese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _has_rating(opinion: Opinion, round_: int, counted_only: bool) -> bool:
    condition = exists().where(Rating.opinion_uuid == opinion.uuid, Rating.round == round_)
    if counted_only:
        condition = condition.where(Rating.counted.is_(True))
    return bool(db.session.scalar(select(condition)))


def already_rated(opinion: Opinion) -> bool:
    """Whether the current round of what this receipt shows has its rating.

    A round is one closing: 不满意 reopens the opinion (``reopen_count``
    goes up) and the next closing may be rated again. At the hub a rating
    on a merged duplicate's receipt rates its original (one outcome, one
    rating per round). A station counts its own ratings, and knows of one
    given elsewhere (a phone) from the ``satisfaction`` the hub sends only
    once the current round is rated.
    """
    if _is_hub():
        target = followed(opinion)
        return _has_rating(target, target.reopen_count, counted_only=True)
    return opinion.satisfaction is not None or _has_rating(opinion, opinion.reopen_count, counted_only=False)


def _counted_rating(opinion: Opinion, round_: int) -> Rating | None:
    return db.session.scalar(
        select(Rating)
        .where(Rating.opinion_uuid == opinion.uuid, Rating.round == round_, Rating.counted.is_(True))
        .order_by(Rating.created_at)
        .limit(1)
    )


THANKS = "谢谢，您的评价已记录。"
FOLLOW_UP_THANKS = "工作人员已电话回访，并记录了您对办理结果的评价。"


def rating_note(opinion: Opinion) -> str | None:
    """What is shown instead of the rating form once the round is rated.

    A rating staff recorded from a follow-up call (回访) says so: the holder
    did not rate on a page. Reopened after 不满意, it names the office that
    does the work again. Where the rating came from: ``_rating_source``.
    """
    target = followed(opinion)
    office = opinion.station.township.office_name if opinion.station and opinion.station.township else "镇（街道）人大"
    if already_rated(opinion):
        return FOLLOW_UP_THANKS if _rating_source(target, target.reopen_count) == RatingSource.FOLLOW_UP else THANKS
    reopened = target.reopen_count > 0 and progress(opinion).status == OpinionStatus.REOPENED
    if reopened:
        source = _rating_source(target, target.reopen_count - 1)
        if source is None:
            return None
        thanks = FOLLOW_UP_THANKS if source == RatingSource.FOLLOW_UP else THANKS
        return f"{thanks}您的意见已退回{office}，正在重新办理。"
    return None


def _rating_source(opinion: Opinion, round_: int) -> str | None:
    """Where the round's rating came from, as far as this box knows; None if it knows of none.

    At the hub: the counted rating's source. At a station: a follow-up
    call's if the hub sent one (kept by the pull, ``kiosk.sync.station``),
    else that of a rating given here.
    """
    if _is_hub():
        counted = _counted_rating(opinion, round_)
        return counted.source if counted is not None else None
    sources = set(
        db.session.scalars(select(Rating.source).where(Rating.opinion_uuid == opinion.uuid, Rating.round == round_))
    )
    if RatingSource.FOLLOW_UP in sources:
        return RatingSource.FOLLOW_UP
    return next(iter(sources), None)


def can_rate(opinion: Opinion) -> bool:
    """Closed (办结) as the receipt shows it, and not rated yet this round."""
    return progress(opinion).status == OpinionStatus.CLOSED and not already_rated(opinion)


def rate(opinion: Opinion, value: str, comment: str | None, source: str) -> Rating:
    """Take the receipt holder's rating of a closed opinion, once per round.

    At the hub it is the staff service ``record_rating`` (the first rating
    of a round counts; 不满意 reopens the opinion with the comment). At a
    station the rating is stored here, with a UUID made here and the round
    as last pulled, and pushed like an opinion (a sync is asked for at
    once); the hub then applies the same rules. Commits.
    """
    if value not in {s.value for s in Satisfaction}:
        raise RatingRefused("请点选满意、基本满意或不满意。")
    if already_rated(opinion):
        raise RatingRefused("这张回执本轮已经评价过了，谢谢。")
    if not can_rate(opinion):
        raise RatingRefused("意见办结后才能评价。")
    comment = comment or None
    if _is_hub():
        from ..staff.services import ActionRefused, record_rating

        try:
            return record_rating(opinion, value, comment, source=source)
        except ActionRefused as refused:
            raise RatingRefused(refused.message)
    rating = Rating(
        uuid=str(uuid_module.uuid4()),
        opinion_uuid=opinion.uuid,
        round=opinion.reopen_count,
        value=value,
        comment=comment,
        source=source,
        station_code=opinion.station_code,
        created_at=utcnow(),
    )
    db.session.add(rating)
    db.session.commit()
    log.info("rating %s of %s (round %d) taken at the station", value, opinion.receipt_number, rating.round)
    from ..sync import request_sync

    request_sync()
    return rating
