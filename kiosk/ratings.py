"""Ratings (满意度测评): which opinion a receipt's rating rates, and what a round holds.

One rule decides which opinion a receipt follows (``followed``): at the hub a
merged duplicate's receipt shows its original's progress, so a rating given
on it rates the original (one outcome, one counted rating per round). A
station holds the followed progress under the duplicate's own UUID, so
there a receipt follows its own opinion. A round is one closing: 不满意
reopens the opinion (``reopen_count`` goes up) and the next closing may be
rated again.

The staff office records ratings (``kiosk.staff.services.record_rating``);
the receipt's holder gives them on a status page or at the kiosk
(``kiosk.public.rating``); a station pushes those given there (``kiosk.sync``).
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import exists, select

from .extensions import db
from .models import Opinion, OpinionStatus, Rating, RatingSource

# How far a chain of merges (A into B, B into C) is followed.
MERGE_DEPTH = 5


@dataclass(frozen=True)
class GivenRating:
    """A rating as given: on a status page, at a kiosk, or on a follow-up call (回访).

    One pushed by a station carries where it was given, and the UUID and
    time it was given with there.
    """

    value: str
    comment: str | None = None
    source: str = RatingSource.STATUS_PAGE
    station_code: str | None = None
    uuid: str | None = None
    created_at: datetime | None = None


def merged_original(opinion: Opinion) -> Opinion | None:
    """The original whose progress a merged duplicate's receipt shows: at the hub only."""
    return opinion.merged_into if _is_hub() else None


def followed(opinion: Opinion) -> Opinion:
    """The opinion whose progress ``opinion``'s receipt shows, and which its rating rates.

    At the hub, a merged duplicate's original (the chain followed a few
    steps at most); the opinion itself otherwise, and always at a station,
    which holds the followed progress under the duplicate's own UUID.
    """
    target = opinion
    for _ in range(MERGE_DEPTH):
        original = merged_original(target)
        if original is None:
            break
        target = original
    return target


def has_rating(opinion: Opinion, round_: int, counted_only: bool = True) -> bool:
    """Whether ``opinion`` holds a rating of this round (by default, a counted one)."""
    condition = exists().where(Rating.opinion_uuid == opinion.uuid, Rating.round == round_)
    if counted_only:
        condition = condition.where(Rating.counted.is_(True))
    return bool(db.session.scalar(select(condition)))


def already_rated(opinion: Opinion) -> bool:
    """Whether the current round of what this receipt shows has its rating.

    At the hub, the followed opinion's counted rating. A station counts its
    own ratings, and knows of one given elsewhere (a phone) from the
    ``satisfaction`` the hub sends only once the current round is rated.
    """
    if _is_hub():
        target = followed(opinion)
        return has_rating(target, target.reopen_count)
    return opinion.satisfaction is not None or has_rating(opinion, opinion.reopen_count, counted_only=False)


def awaiting_rating(opinion: Opinion) -> bool:
    """Whether a rating given on this receipt now would count: closed (办结) as
    the receipt shows it, and not rated yet this round."""
    return followed(opinion).status == OpinionStatus.CLOSED and not already_rated(opinion)


def rating_source(opinion: Opinion, round_: int) -> str | None:
    """Where the round's rating came from, as far as this box knows; None if it knows of none.

    At the hub: the counted rating's source. At a station: a follow-up
    call's if the hub sent one (kept by the pull, ``kiosk.sync.station``),
    else that of a rating given here.
    """
    if _is_hub():
        counted = db.session.scalar(
            select(Rating)
            .where(Rating.opinion_uuid == opinion.uuid, Rating.round == round_, Rating.counted.is_(True))
            .order_by(Rating.created_at)
            .limit(1)
        )
        return counted.source if counted is not None else None
    given_here = select(Rating.source).where(Rating.opinion_uuid == opinion.uuid, Rating.round == round_)
    sources = set(db.session.scalars(given_here))
    if RatingSource.FOLLOW_UP in sources:
        return RatingSource.FOLLOW_UP
    return next(iter(sources), None)


def _is_hub() -> bool:
    return current_app.config["ROLE"] == "hub"
