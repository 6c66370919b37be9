"""The dashboard's figures kept per township, station, category and local month.

Rules:
- A cell of ``opinion_figures`` holds exactly what grouping that month's
  opinions would give (``counted``, the same expressions the dashboard
  uses on the opinions themselves), so the two never disagree.
- Nothing that writes opinions calls this module. Triggers on ``opinions``
  (migration 0009) list every (township, UTC day) whose counted fields
  changed, whoever wrote them: the sync intake's raw SQL, staff actions,
  bulk actions, merges, ratings, demo and bench loaders.
- Those days' local months are recomputed from the opinions before the
  writing session commits (a ``before_commit`` hook on ``db.session``), and
  before the dashboard reads (``catch_up``), which covers writers outside
  the app's session and the sync API, which leaves its days stale
  (``LEAVE_STALE``) so that stations' pushes never wait on each other here.
- On PostgreSQL one refresh runs at a time (a transaction-scoped advisory
  lock), and it claims the stale days before counting, so a day changed by
  a transaction that commits meanwhile stays listed for the next refresh.
"""

import weakref
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app, has_app_context
from sqlalchemy import case, delete, event, exists, func, insert, inspect, literal, literal_column, or_, select

from .. import clock
from ..extensions import db
from ..models import Opinion, OpinionFigures, OpinionStatus, Satisfaction, StaleFigures

# pg_advisory_xact_lock's key for the refresh ("figures" in ASCII, as a number).
_LOCK_KEY = 0x66696775726573

# Statuses that mean the township has taken the opinion on (受理) at some point.
ACCEPTED_STATUSES = (
    OpinionStatus.ACCEPTED,
    OpinionStatus.FORWARDED,
    OpinionStatus.REPLIED,
    OpinionStatus.CLOSED,
    OpinionStatus.REOPENED,
)

# The cells' count columns, in the order ``counted`` gives them.
COUNT_COLUMNS = (
    "received",
    "accepted",
    "closed",
    "declined",
    "merged",
    "timed",
    "days",
    "satisfied",
    "basic",
    "unsatisfied",
)


def days_to_close(closed_at, received_at):
    """Calendar days from hub receipt to closing, as a SQL expression of this database."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(closed_at) - func.julianday(received_at)
    # date_part gives a double; EXTRACT would give a numeric, far slower to add up.
    return func.date_part(literal_column("'epoch'"), closed_at - received_at) / 86400.0


def counted(o) -> tuple:
    """The figures of a group of opinions (``o``: the Opinion model or a subquery's columns), as aggregates."""
    closed = o.status == OpinionStatus.CLOSED
    timed = closed & o.closed_at.is_not(None) & o.hub_received_at.is_not(None)
    return (
        func.count(),
        func.count().filter(or_(o.accepted_at.is_not(None), o.status.in_(ACCEPTED_STATUSES))),
        func.count().filter(closed),
        func.count().filter(o.status == OpinionStatus.DECLINED),
        func.count().filter(o.status == OpinionStatus.MERGED),
        func.count().filter(timed),
        func.sum(case((timed, days_to_close(o.closed_at, o.hub_received_at)), else_=None)),
        func.count().filter(o.satisfaction == Satisfaction.SATISFIED),
        func.count().filter(o.satisfaction == Satisfaction.BASIC),
        func.count().filter(o.satisfaction == Satisfaction.UNSATISFIED),
    )


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[from, until) of a local month, as aware datetimes."""
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return (
        datetime.combine(month, time(), tzinfo=clock.zone()),
        datetime.combine(following, time(), tzinfo=clock.zone()),
    )


def _local_months(day: date) -> set[date]:
    """The local months a UTC day overlaps (two at a month's edge)."""
    first = datetime.combine(day, time(), tzinfo=timezone.utc)
    last = first + timedelta(days=1) - timedelta(microseconds=1)
    return {clock.to_local(moment).date().replace(day=1) for moment in (first, last)}


def refresh(session) -> int:
    """Recount the cells of every stale day's months; returns how many (township, month) were recounted."""
    if not session.scalar(select(exists().select_from(StaleFigures))):
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    claimed = session.execute(delete(StaleFigures).returning(StaleFigures.township_id, StaleFigures.day)).all()
    months = {(township_id, month) for township_id, day in set(claimed) for month in _local_months(day)}
    for township_id, month in sorted(months):
        _recount(session, township_id, month)
    return len(months)


def _recount(session, township_id: int, month: date) -> None:
    start, until = month_bounds(month)
    session.execute(
        delete(OpinionFigures).where(OpinionFigures.township_id == township_id, OpinionFigures.month == month)
    )
    numbers = list(counted(Opinion))
    numbers[6] = func.coalesce(numbers[6], 0.0)  # no closed opinion with both times: 0 days
    cells = (
        select(literal(township_id), literal(month), Opinion.station_code, Opinion.category_code, *numbers)
        .where(Opinion.township_id == township_id, Opinion.created_at >= start, Opinion.created_at < until)
        .group_by(Opinion.station_code, Opinion.category_code)
    )
    columns = ["township_id", "month", "station_code", "category_code", *COUNT_COLUMNS]
    session.execute(insert(OpinionFigures).from_select(columns, cells))


def catch_up() -> None:
    """Recount what writers outside the app's session left stale (a loader, another program), and commit."""
    if db.session.scalar(select(exists().select_from(StaleFigures))):
        refresh(db.session)
        db.session.commit()


# A session whose ``info`` holds this key commits without recounting: its stale
# days stay listed for the dashboard (``catch_up``) or the next writer. The sync
# API sets it: a push recounted its township's whole month inside its transaction,
# one push at a time (the advisory lock), so a province's stations syncing at once
# queued on each other and on a month growing with every push.
LEAVE_STALE = "rollup_leave_stale"

# Engines whose database has the rollup's tables (a hub that has not migrated yet has not).
_ready: "weakref.WeakSet" = weakref.WeakSet()


def _before_commit(session) -> None:
    """Recount what this transaction changed, inside it: the figures commit with the opinions."""
    if not has_app_context() or current_app.config.get("ROLE") != "hub" or session.info.get(LEAVE_STALE):
        return
    session.flush()
    bind = session.get_bind()
    if bind not in _ready:
        if not inspect(session.connection()).has_table(StaleFigures.__tablename__):
            return
        _ready.add(bind)
    refresh(session)


def init_app(app) -> None:
    """Keep the figures as opinions change (one hook on the app's session, for every app of the process)."""
    if not event.contains(db.session, "before_commit", _before_commit):
        event.listen(db.session, "before_commit", _before_commit)
