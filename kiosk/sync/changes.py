"""The hub's change log: what each station must pull, numbered in order.

A listener on every session flush at the hub notes, for each change a
station may need, one ``SyncChange`` row: a hub-owned public field or status
history entry of an opinion (for the opinion's station, and for the station
of every duplicate merged into it, whose receipt shows its progress), or
reference data
(deputies and their stations, the duty roster, categories, a township's
office phone). So the staff queue and any other hub code need not know sync
exists: writing the model is enough.

Numbers come from ``SyncSequence``: the increment holds the counter's row
lock until the transaction ends, so a station never sees change 7 while
change 6 can still commit (which a plain autoincrement allows on PostgreSQL)
and a cursor never skips anything.
"""

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from ..clock import now
from ..models import (
    Category,
    Deputy,
    DutyShift,
    Opinion,
    OpinionEvent,
    Station,
    SyncChange,
    SyncSequence,
    Township,
)

# What a station holds of an opinion's hub-owned fields (kiosk.sync.hub.opinion_state).
OPINION_FIELDS = ("status", "public_reply", "replacement_secret", "satisfaction", "reopen_count", "merged_into_uuid")
# How far a chain of merges (A into B, B into C) is followed.
MERGE_DEPTH = 5


def allocate(session: Session, count: int) -> range:
    """``count`` new change numbers, in this transaction."""
    table = SyncSequence.__table__
    top = session.execute(
        table.update().where(table.c.name == "change").values(value=table.c.value + count).returning(table.c.value)
    ).scalar_one()
    return range(top - count + 1, top + 1)


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context, instances) -> None:
    if not has_app_context() or current_app.config.get("ROLE") != "hub":
        return
    with session.no_autoflush:
        wanted = _changes_in(session)
        wanted |= _duplicates_of(session, {uuid for kind, _s, _t, uuid in wanted if kind == "opinion"})
    if not wanted:
        return
    moment = now()
    for number, (kind, station_code, township_id, uuid) in zip(allocate(session, len(wanted)), sorted(wanted, key=str)):
        session.add(
            SyncChange(
                id=number, kind=kind, station_code=station_code, township_id=township_id, opinion_uuid=uuid, at=moment
            )
        )


def _changes_in(session: Session) -> set[tuple]:
    wanted: set[tuple] = set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if _made_at_the_hub(obj, session):
            continue
        if isinstance(obj, Opinion):
            state = inspect(obj)
            if obj not in session.new and any(state.attrs[f].history.has_changes() for f in OPINION_FIELDS):
                wanted.add(("opinion", obj.station_code, None, obj.uuid))
        elif isinstance(obj, OpinionEvent):
            opinion = obj.opinion or session.get(Opinion, obj.opinion_uuid)
            if opinion is not None:
                wanted.add(("opinion", opinion.station_code, None, opinion.uuid))
        elif isinstance(obj, Deputy):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                wanted |= {("reference", None, township_id, None) for township_id in _deputy_townships(session, obj)}
        elif isinstance(obj, (Station, DutyShift)):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                wanted.add(("reference", None, obj.township_id, None))
        elif isinstance(obj, Township):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                wanted.add(("reference", None, obj.id, None))
        elif isinstance(obj, Category):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                wanted.add(("reference", None, None, None))
    return wanted


def _made_at_the_hub(obj, session: Session) -> bool:
    """A deputy's 一键通 suggestion (or a step of one): made at the hub, held by no station."""
    if isinstance(obj, OpinionEvent):
        obj = obj.opinion or session.get(Opinion, obj.opinion_uuid)
    return isinstance(obj, Opinion) and obj.suggesting_deputy_id is not None


def _deputy_townships(session: Session, deputy: Deputy) -> set[int]:
    """The townships whose stations show (or showed) this deputy: theirs, before and after a
    move, and those of every station attached or detached (a city-level deputy may serve anywhere)."""
    state = inspect(deputy)
    township = state.attrs.township_id.history
    ids = {deputy.township_id, *township.deleted}
    stations = state.attrs.stations.load_history()
    for station in (*stations.added, *stations.unchanged, *stations.deleted):
        ids.add(station.township_id)
    return {i for i in ids if i is not None}


def _duplicates_of(session: Session, uuids: set[str]) -> set[tuple]:
    """Changes for the duplicates merged into these opinions (and into those)."""
    wanted: set[tuple] = set()
    seen, frontier = set(uuids), set(uuids)
    for _ in range(MERGE_DEPTH):
        if not frontier:
            break
        rows = session.execute(
            select(Opinion.uuid, Opinion.station_code).where(Opinion.merged_into_uuid.in_(frontier))
        ).all()
        frontier = {uuid for uuid, _code in rows} - seen
        seen |= frontier
        wanted |= {("opinion", code, None, uuid) for uuid, code in rows if uuid in frontier}
    return wanted


def note_reference_change(session: Session, township_id: int | None = None) -> None:
    """For writes the listener cannot see (Core statements): note them by hand."""
    (number,) = allocate(session, 1)
    session.add(SyncChange(id=number, kind="reference", township_id=township_id, at=now()))
