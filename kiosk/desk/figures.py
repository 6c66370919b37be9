"""What the desk adds to a deputy's 履职档案 (kiosk.deputies.duty_file), compiled from the records.

- ``suggestions``: 一键通 suggestions they made in the period; ``suggestions_closed``:
  of those, the ones closed (办结) now.
- ``answers``: direct answers (代表答复) they gave in the period.
- ``diary_entries``: diary entries of days in the period that stand published now.
- ``ratings``: the constituents' counted ratings, given in the period, of opinions
  addressed to them (a deputy's rating of their own suggestion is not one of them).
"""

from datetime import datetime

from sqlalchemy import func, select

from ..clock import to_local
from ..extensions import db
from ..models import DEPUTY_ANSWER, Deputy, DiaryEntry, Opinion, OpinionEvent, OpinionStatus, Rating, Satisfaction

FIGURES = ("suggestions", "suggestions_closed", "answers", "diary_entries", "ratings")


def figures(deputy: Deputy, start: datetime, end: datetime) -> dict:
    """``FIGURES`` of ``deputy`` between two UTC moments (local midnights)."""
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
    suggested = (Opinion.suggesting_deputy_id == deputy.id, Opinion.created_at >= start, Opinion.created_at < end)
    first_day, end_day = to_local(start).date(), to_local(end).date()
    rated = dict(
        db.session.execute(
            select(Rating.value, func.count())
            .join(Opinion, Opinion.uuid == Rating.opinion_uuid)
            .where(
                Opinion.deputy_id == deputy.id,
                Rating.counted.is_(True),
                Rating.created_at >= start,
                Rating.created_at < end,
            )
            .group_by(Rating.value)
        ).all()
    )
    return {
        "suggestions": count(Opinion, *suggested),
        "suggestions_closed": count(Opinion, *suggested, Opinion.status == OpinionStatus.CLOSED),
        "answers": db.session.scalar(
            select(func.count())
            .select_from(OpinionEvent)
            .join(Opinion, Opinion.uuid == OpinionEvent.opinion_uuid)
            .where(
                Opinion.deputy_id == deputy.id,
                OpinionEvent.kind == DEPUTY_ANSWER,
                OpinionEvent.at >= start,
                OpinionEvent.at < end,
            )
        ),
        "diary_entries": count(
            DiaryEntry,
            DiaryEntry.deputy_id == deputy.id,
            DiaryEntry.published_at.is_not(None),
            DiaryEntry.day >= first_day,
            DiaryEntry.day < end_day,
        ),
        "ratings": {s.value: int(rated.get(s.value, 0)) for s in Satisfaction},
    }
