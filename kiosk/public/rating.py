"""The receipt holder's rating (满意度测评), on a status page or at the kiosk.

Which opinion it rates and whether its round is rated: ``kiosk.ratings``.
"""

import logging
import uuid as uuid_module

from flask import current_app

from ..extensions import db
from ..models import Opinion, OpinionStatus, Rating, RatingSource, Satisfaction, utcnow
from ..ratings import GivenRating, already_rated, awaiting_rating, followed, rating_source
from ..refusals import Refused
from ..staff.services import ActionRefused, record_rating
from ..sync import request_sync

log = logging.getLogger(__name__)

COMMENT_MAX = 300

THANKS = "谢谢，您的评价已记录。"
FOLLOW_UP_THANKS = "工作人员已电话回访，并记录了您对办理结果的评价。"


class RatingRefused(Refused):
    """A rating that cannot be taken; ``message`` is shown (Chinese)."""


def rating_note(opinion: Opinion) -> str | None:
    """What is shown instead of the rating form once the round is rated.

    A rating staff recorded from a follow-up call (回访) says so: the holder
    did not rate on a page. Reopened after 不满意, it names the office that
    does the work again. Where the rating came from: ``rating_source``.
    """
    target = followed(opinion)
    office = opinion.station.township.office_name if opinion.station and opinion.station.township else "镇（街道）人大"
    if already_rated(opinion):
        return FOLLOW_UP_THANKS if rating_source(target, target.reopen_count) == RatingSource.FOLLOW_UP else THANKS
    # The status the receipt shows is the followed opinion's (``kiosk.public.progress``).
    reopened = target.reopen_count > 0 and target.status == OpinionStatus.REOPENED
    if reopened:
        source = rating_source(target, target.reopen_count - 1)
        if source is None:
            return None
        thanks = FOLLOW_UP_THANKS if source == RatingSource.FOLLOW_UP else THANKS
        return f"{thanks}您的意见已退回{office}，正在重新办理。"
    return None


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
    if not awaiting_rating(opinion):
        raise RatingRefused("意见办结后才能评价。")
    comment = comment or None
    if current_app.config["ROLE"] == "hub":
        try:
            return record_rating(opinion, GivenRating(value, comment, source))
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
    request_sync()
    return rating
