"""The hand-made year (``load_small_year``) the statistics, export and report
tests count: 罗城街道 (stations LC00, LC01) and 素龙街道 (SL00), 2019, times
local (Asia/Shanghai). Opinions arrive through the hub's sync store
(``receive_opinion``); their final state is then written as the workflow
would have left it, with the dates the figures depend on.

                 received accepted closed declined merged days    满意/基本/不满意 overdue now
罗城街道 2019        7        5       3       1       1    3+5+1   1 / 1 / 1       3 (one is F, 2020)
素龙街道 2019        2        1       1       0       0    2       1 / 0 / 0       1
city 2019           9        6       4       1       1    11 / 4  2 / 1 / 1       4
"""

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from kiosk.extensions import db
from kiosk.models import OpinionStatus as S
from tests.support.factories import receive_opinion

LOCAL = ZoneInfo("Asia/Shanghai")
PAST = datetime(2019, 1, 1).date()  # a due date long gone: overdue now


def local(*args) -> datetime:
    """A local time, given as UTC (the sync wire speaks UTC only)."""
    return datetime(*args, tzinfo=LOCAL).astimezone(timezone.utc)


def _opinion(
    station, category, created, status, *, closed_days=None, satisfaction=None, overdue=False, **fields
):
    opinion = receive_opinion(station, category=category, created_at=created, received_at=created, **fields)
    opinion.status = status
    if status in (S.ACCEPTED, S.CLOSED, S.REOPENED):
        opinion.accepted_at = created + timedelta(hours=2)
    if closed_days is not None:
        opinion.closed_at = created + timedelta(days=closed_days)
    opinion.satisfaction = satisfaction
    if overdue:
        opinion.accept_due_on = opinion.close_due_on = PAST
    db.session.commit()
    return opinion


def load_small_year() -> dict:
    """The table above; returns the opinions by letter."""
    o = {}
    o["A"] = _opinion(
        "LC00", "road", local(2019, 1, 10, 10), S.CLOSED, closed_days=3, satisfaction="satisfied"
    )
    o["B"] = _opinion("LC00", "road", local(2019, 1, 20, 9), S.CLOSED, closed_days=5, satisfaction="basic")
    o["C"] = _opinion("LC01", "water", local(2019, 3, 5, 15), S.CLOSED, closed_days=1)
    o["D"] = _opinion("LC01", "water", local(2019, 3, 6, 11), S.DECLINED, closed_days=2)
    # The last half hour of 2019, local time (still 2019-12-31 in UTC too).
    o["E"] = _opinion("LC00", "environment", local(2019, 12, 31, 23, 30), S.ACCEPTED, overdue=True)
    # Half past midnight on New Year's Day local time: 2019 in UTC, 2020 here.
    o["F"] = _opinion("LC00", "road", local(2020, 1, 1, 0, 30), S.RECEIVED, overdue=True)
    o["G"] = _opinion("LC01", "road", local(2019, 6, 1, 8), S.MERGED)
    o["J"] = _opinion(
        "LC00", "village", local(2019, 4, 1, 10), S.REOPENED, satisfaction="unsatisfied", overdue=True
    )
    o["H"] = _opinion(
        "SL00", "road", local(2019, 2, 1, 10), S.CLOSED, closed_days=2, satisfaction="satisfied"
    )
    o["I"] = _opinion("SL00", "other", local(2019, 2, 2, 10), S.RECEIVED, overdue=True)
    return o


# What a generated opinion may end as, with the fields that state implies.
_ENDS = [S.RECEIVED, S.ACCEPTED, S.FORWARDED, S.REPLIED, S.CLOSED, S.CLOSED, S.DECLINED, S.MERGED, S.REOPENED]
_RATINGS = [None, "satisfied", "basic", "unsatisfied"]


def generate_year(year: int = 2019, count: int = 240, seed: int = 12) -> list:
    """``count`` opinions spread over ``year`` (and the hours either side of it) at stations of
    several townships, in every state, many left in a month's last or first local hour.

    Not counted by hand: the rollup's check compares two ways of counting them.
    """
    rng = random.Random(seed)
    stations = ["LC00", "LC01", "SL00", "SL01", "LJ00", "FJ00"]
    categories = ["road", "water", "environment", "village", "other", "jobs"]
    made = []
    for i in range(count):
        month = rng.randint(1, 12)
        if i % 4 == 0:  # the month's last local half hour, or the next month's first
            edge = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=LOCAL)
            created = edge + timedelta(minutes=rng.choice([-30, -1, 0, 30]))
        else:
            created = datetime(year, month, rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), tzinfo=LOCAL)
        created = created.astimezone(timezone.utc)
        opinion = receive_opinion(rng.choice(stations), category=rng.choice(categories), created_at=created)
        status = rng.choice(_ENDS)
        opinion.status = status
        if status != S.RECEIVED and rng.random() < 0.8:
            opinion.accepted_at = created + timedelta(hours=rng.randint(1, 48))
        if status in (S.CLOSED, S.DECLINED, S.MERGED) and rng.random() < 0.9:
            opinion.closed_at = created + timedelta(days=rng.uniform(0.5, 40))
        if rng.random() < 0.1:
            opinion.hub_received_at = None
        opinion.satisfaction = rng.choice(_RATINGS) if status in (S.CLOSED, S.REOPENED) else None
        made.append(opinion)
    db.session.commit()
    return made
