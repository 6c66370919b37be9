"""Record types that travel from station to hub, through one mechanism.

Each type says how to read its unsent rows at the station, how to put one on
the wire, how the hub checks and stores a batch of them, and how the station
marks them acknowledged. Opinions are the first type; duty check-ins,
activities, deputy suggestions and ratings are added the same way and pushed
by the same code.

Rules every type keeps (ARCHITECTURE.md): the record's UUID is made where it
is created; what it says is written once at the station and never changed;
the hub stores a batch in one transaction and tells a repeat (same UUID,
same digest: acknowledge again) from a conflict (same UUID, other content:
refused with 409 and kept aside on both sides).
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import select, tuple_, update

from ..extensions import db
from ..models import (
    Category,
    Deputy,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    RatingSource,
    Satisfaction,
    SetAsideRecord,
    Station,
)
from ..workdays import due_dates
from . import wire
from .clock import iso, parse_iso

log = logging.getLogger(__name__)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class BadRecord(ValueError):
    """A record that is malformed: the whole batch is refused, nothing written."""


@dataclass(frozen=True)
class Refusal:
    """Why the hub would not store one record; the station sets it aside."""

    reason: str
    detail: str


def digest(data: dict) -> str:
    return hashlib.sha256(wire.canonical(data)).hexdigest()


class RecordType:
    """What every synced record type provides; see ``OpinionRecords``.

    The station side is shared: a type's model has ``uuid``, ``created_at``,
    ``acknowledged_at``, ``hub_received_at`` and ``sync_digest``, and the
    type names the columns its ``to_wire`` reads (``WIRE_COLUMNS``).
    """

    name: str
    model: type
    FIELDS: set[str]
    WIRE_COLUMNS: tuple

    # station
    def _pending_query(self, *columns):
        m = self.model
        return (
            select(*(columns or (m.uuid,)))
            .where(m.acknowledged_at.is_(None), m.uuid.not_in(_set_aside_uuids()))
            .order_by(m.created_at, m.uuid)
        )

    def pending(self, limit: int, after=None) -> list[dict]:
        """Up to ``limit`` unacknowledged records in a stable order, those
        after the key ``after`` (from ``key_of``) when given."""
        # Plain rows of only what goes on the wire, not ORM objects: a backlog
        # can be ten thousand long.
        m = self.model
        query = self._pending_query(*self.WIRE_COLUMNS).limit(limit)
        if after is not None:
            query = query.where(tuple_(m.created_at, m.uuid) > tuple_(*after))
        return [self.to_wire(row) for row in db.session.execute(query)]

    def to_wire(self, row) -> dict:
        raise NotImplementedError

    def key_of(self, data: dict):
        """The position of a record in ``pending``'s order."""
        return (parse_iso(data["created_at"]), data["uuid"])

    def count_pending(self) -> int:
        return db.session.scalar(select(db.func.count()).select_from(self._pending_query().subquery()))

    def mark_acknowledged(self, acks: dict[str, datetime], now: datetime) -> int:
        raise NotImplementedError

    def unacknowledged(self, uuids: list[str]) -> list[str]:
        """Which of ``uuids`` are records of this type still waiting here."""
        m = self.model
        uuids = [u for u in uuids if isinstance(u, str)]
        return list(db.session.scalars(select(m.uuid).where(m.uuid.in_(uuids), m.acknowledged_at.is_(None))))

    # hub
    def clean(self, data, station_code: str) -> dict:
        raise NotImplementedError

    def _check_fields(self, data) -> None:
        if not isinstance(data, dict):
            raise BadRecord(f"each {self.name} must be an object")
        if set(data) != self.FIELDS:
            unknown, missing = sorted(set(data) - self.FIELDS), sorted(self.FIELDS - set(data))
            raise BadRecord(f"{self.name} fields: unknown {unknown}, missing {missing}")

    @staticmethod
    def _created_at(data: dict) -> datetime:
        try:
            return parse_iso(data["created_at"])
        except (ValueError, TypeError) as error:
            raise BadRecord("created_at must be a UTC time like 2026-11-27T08:00:00.000000Z") from error

    def existing(self, uuids: list[str]) -> dict[str, tuple[str, datetime]]:
        """Digest and hub receipt time of the records the hub already holds."""
        m = self.model
        rows = db.session.execute(select(m.uuid, m.sync_digest, m.hub_received_at).where(m.uuid.in_(uuids)))
        return {uuid: (d, at) for uuid, d, at in rows}

    def store(self, records: list[tuple[dict, str]], station_code: str, received_at: datetime) -> dict[str, Refusal]:
        raise NotImplementedError


def _set_aside_uuids():
    return select(SetAsideRecord.uuid)


class OpinionRecords(RecordType):
    name = "opinion"
    model = Opinion

    FIELDS = {
        "uuid",
        "receipt_number",
        "secret",
        "station_code",
        "category",
        "content",
        "deputy_id",
        "consent_version",
        "contact_name",
        "contact_phone",
        "created_at",
    }

    # The columns ``to_wire`` reads.
    WIRE_COLUMNS = (
        Opinion.uuid,
        Opinion.receipt_number,
        Opinion.secret,
        Opinion.station_code,
        Opinion.category_code,
        Opinion.content,
        Opinion.deputy_id,
        Opinion.consent_version,
        Opinion.contact_name,
        Opinion.contact_phone,
        Opinion.created_at,
    )

    # --- station ----------------------------------------------------------

    def to_wire(self, opinion) -> dict:
        """An Opinion (or a row with its columns) as the station sends it."""
        return {
            "uuid": opinion.uuid,
            "receipt_number": opinion.receipt_number,
            "secret": opinion.secret,
            "station_code": opinion.station_code,
            "category": opinion.category_code,
            "content": opinion.content,
            "deputy_id": opinion.deputy_id,
            "consent_version": opinion.consent_version,
            "contact_name": opinion.contact_name,
            "contact_phone": opinion.contact_phone,
            "created_at": iso(opinion.created_at),
        }

    def mark_acknowledged(self, acks: dict[str, datetime], now: datetime) -> int:
        """Mark opinions the hub holds, and delete their name and phone here.

        Only ever called with a verified acknowledgement. Repeats are harmless.
        """
        if not acks:
            return 0
        waiting = dict(
            db.session.execute(
                select(Opinion.uuid, Opinion.status).where(
                    Opinion.uuid.in_(list(acks)), Opinion.acknowledged_at.is_(None)
                )
            ).all()
        )
        if not waiting:
            return 0
        # One UPDATE per (receipt time, new status): a batch the hub stored
        # together shares one receipt time, so this is one or two statements.
        groups: dict[tuple, list[str]] = {}
        for uuid, status in waiting.items():
            new_status = OpinionStatus.RECEIVED if status == OpinionStatus.SUBMITTED else status
            groups.setdefault((acks[uuid], new_status), []).append(uuid)
        for (received, new_status), uuids in groups.items():
            db.session.execute(
                update(Opinion)
                .where(Opinion.uuid.in_(uuids))
                .values(
                    acknowledged_at=now,
                    hub_received_at=received,
                    status=new_status,
                    contact_name=None,
                    contact_phone=None,
                )
                .execution_options(synchronize_session=False)
            )
        events = [
            {"opinion_uuid": uuid, "status": OpinionStatus.RECEIVED, "at": naive_utc(acks[uuid])}
            for uuid, status in waiting.items()
            if status == OpinionStatus.SUBMITTED
        ]
        insert_many(OpinionEvent.__table__, events)
        return len(waiting)

    # --- hub --------------------------------------------------------------

    def clean(self, data, station_code: str) -> dict:
        from ..intake.services import CONTENT_MAX

        self._check_fields(data)
        _text(data, "uuid", 36, pattern=UUID_RE)
        _text(data, "station_code", 8)
        if data["station_code"] != station_code:
            raise BadRecord(f"opinion {data['uuid']} belongs to another station")
        _text(data, "receipt_number", 24, pattern=re.compile(rf"^{re.escape(station_code)}-\d{{6}}-\d{{4,6}}$"))
        _text(data, "secret", 8, pattern=re.compile(r"^[0-9A-Z]{4,8}$"))
        _text(data, "category", 24)
        _text(data, "content", CONTENT_MAX)
        _text(data, "consent_version", 16, optional=True)
        _text(data, "contact_name", 40, optional=True)
        _text(data, "contact_phone", 20, optional=True)
        if data["consent_version"] is None and (data["contact_name"] or data["contact_phone"]):
            raise BadRecord(f"opinion {data['uuid']} has contact details without consent")
        deputy = data["deputy_id"]
        if deputy is not None and (type(deputy) is not int or not 0 < deputy < 2**31):
            raise BadRecord("deputy_id must be a positive integer or null")
        return {**data, "created_at": self._created_at(data)}

    def store(self, records, station_code, received_at):
        """Insert new opinions with status "received"; return refusals by UUID."""
        refusals: dict[str, Refusal] = {}
        numbers = [data["receipt_number"] for data, _ in records]
        taken = set(db.session.scalars(select(Opinion.receipt_number).where(Opinion.receipt_number.in_(numbers))))
        categories = {c.code: c for c in db.session.scalars(select(Category))}
        township_id = db.session.scalar(select(Station.township_id).where(Station.code == station_code))
        due = {c.code: due_dates(received_at, c.accept_days, c.answer_days) for c in categories.values()}
        deputy_ids = {data["deputy_id"] for data, _ in records if data["deputy_id"] is not None}
        known_deputies = set(db.session.scalars(select(Deputy.id).where(Deputy.id.in_(deputy_ids)))) if deputy_ids else set()
        rows, events = [], []
        received = naive_utc(received_at)
        for data, record_digest in records:
            uuid = data["uuid"]
            if data["receipt_number"] in taken:
                refusals[uuid] = Refusal("receipt_taken", f"回执号 {data['receipt_number']} 已被另一条意见使用")
                continue
            if data["category"] not in categories:
                refusals[uuid] = Refusal("unknown_category", f"镇人大办没有类别 {data['category']}")
                continue
            if data["deputy_id"] is not None and data["deputy_id"] not in known_deputies:
                refusals[uuid] = Refusal("unknown_deputy", f"镇人大办没有编号为 {data['deputy_id']} 的代表")
                continue
            taken.add(data["receipt_number"])
            created = naive_utc(data["created_at"])
            rows.append(
                {
                    "uuid": uuid,
                    "receipt_number": data["receipt_number"],
                    "secret": data["secret"],
                    "station_code": station_code,
                    "category_code": data["category"],
                    "content": data["content"],
                    "deputy_id": data["deputy_id"],
                    "consent_version": data["consent_version"],
                    "contact_name": data["contact_name"],
                    "contact_phone": data["contact_phone"],
                    "created_at": created,
                    "status": OpinionStatus.RECEIVED.value,
                    "public_reply": None,
                    "hub_received_at": received,
                    "acknowledged_at": None,
                    "sync_digest": record_digest,
                    "township_id": township_id,
                    "accept_due_on": due[data["category"]][0],
                    "close_due_on": due[data["category"]][1],
                    "updated_at": received,
                }
            )
            events.append({"opinion_uuid": uuid, "status": OpinionStatus.SUBMITTED.value, "at": created})
            events.append({"opinion_uuid": uuid, "status": OpinionStatus.RECEIVED.value, "at": received})
        insert_many(Opinion.__table__, rows)
        insert_many(OpinionEvent.__table__, events)
        return refusals


class RatingRecords(RecordType):
    """Ratings given at a station (its look-up screen, its own status page).

    The station stores a rating with the round (``reopen_count``) it last
    pulled; the hub applies ``record_rating``'s rules to a rating of the
    current round (the first counts; 不满意 reopens the opinion; a merged
    duplicate's rating rates its original) and keeps a rating of an earlier
    round without counting it. A rating of an opinion the hub does not hold
    for this station is refused and set aside.
    """

    name = "rating"
    model = Rating

    FIELDS = {"uuid", "opinion_uuid", "round", "value", "comment", "source", "station_code", "created_at"}
    SOURCES = frozenset({RatingSource.KIOSK.value, RatingSource.STATUS_PAGE.value})
    VALUES = frozenset(s.value for s in Satisfaction)
    COMMENT_MAX = 2000

    # The columns ``to_wire`` reads.
    WIRE_COLUMNS = (
        Rating.uuid,
        Rating.opinion_uuid,
        Rating.round,
        Rating.value,
        Rating.comment,
        Rating.source,
        Rating.station_code,
        Rating.created_at,
    )

    # --- station ----------------------------------------------------------

    def to_wire(self, rating) -> dict:
        """A Rating (or a row with its columns) as the station sends it."""
        return {
            "uuid": rating.uuid,
            "opinion_uuid": rating.opinion_uuid,
            "round": rating.round,
            "value": rating.value,
            "comment": rating.comment,
            "source": rating.source,
            "station_code": rating.station_code,
            "created_at": iso(rating.created_at),
        }

    def mark_acknowledged(self, acks: dict[str, datetime], now: datetime) -> int:
        """Mark ratings the hub holds. Only with a verified acknowledgement."""
        waiting = list(
            db.session.scalars(select(Rating.uuid).where(Rating.uuid.in_(list(acks)), Rating.acknowledged_at.is_(None)))
        )
        groups: dict[datetime, list[str]] = {}
        for uuid in waiting:
            groups.setdefault(acks[uuid], []).append(uuid)
        for received, uuids in groups.items():
            db.session.execute(
                update(Rating)
                .where(Rating.uuid.in_(uuids))
                .values(acknowledged_at=now, hub_received_at=received)
                .execution_options(synchronize_session=False)
            )
        return len(waiting)

    # --- hub --------------------------------------------------------------

    def clean(self, data, station_code: str) -> dict:
        self._check_fields(data)
        _text(data, "uuid", 36, pattern=UUID_RE)
        _text(data, "opinion_uuid", 36, pattern=UUID_RE)
        _text(data, "station_code", 8)
        if data["station_code"] != station_code:
            raise BadRecord(f"rating {data['uuid']} belongs to another station")
        if not isinstance(data["value"], str) or data["value"] not in self.VALUES:
            raise BadRecord(f"value must be one of {sorted(self.VALUES)}")
        if not isinstance(data["source"], str) or data["source"] not in self.SOURCES:
            raise BadRecord(f"source must be one of {sorted(self.SOURCES)}")
        _text(data, "comment", self.COMMENT_MAX, optional=True)
        if type(data["round"]) is not int or not 0 <= data["round"] < 2**31:
            raise BadRecord("round must be a whole number >= 0")
        return {**data, "created_at": self._created_at(data)}

    def store(self, records, station_code, received_at):
        """Rate through ``record_rating`` without committing (the batch's
        transaction commits); return refusals by UUID."""
        from ..public.services import followed
        from ..staff.services import ActionRefused, record_rating

        refusals: dict[str, Refusal] = {}
        wanted = {data["opinion_uuid"] for data, _ in records}
        opinions = {o.uuid: o for o in db.session.scalars(select(Opinion).where(Opinion.uuid.in_(wanted)))}
        for data, record_digest in records:
            opinion = opinions.get(data["opinion_uuid"])
            if opinion is None or opinion.station_code != station_code:
                refusals[data["uuid"]] = Refusal("unknown_opinion", f"镇人大办没有本站编号为 {data['opinion_uuid']} 的意见")
                continue
            # A duplicate's receipt rates its original, in the original's round.
            target = followed(opinion)
            rating = None
            if data["round"] == target.reopen_count:
                try:
                    # A savepoint: a refused rating leaves nothing behind in the batch.
                    with db.session.begin_nested():
                        rating = record_rating(
                            opinion,
                            data["value"],
                            data["comment"],
                            source=data["source"],
                            station_code=station_code,
                            uuid=data["uuid"],
                            created_at=data["created_at"],
                            commit=False,
                        )
                except ActionRefused as refused:
                    log.info(
                        "rating %s of %s kept, not counted: %s", data["uuid"], opinion.receipt_number, refused.message
                    )
            if rating is None:
                # Given for an earlier round (rated meanwhile elsewhere, or
                # reopened since), or not countable now: kept, not counted.
                rating = Rating(
                    uuid=data["uuid"],
                    opinion_uuid=target.uuid,
                    round=data["round"],
                    value=data["value"],
                    comment=data["comment"],
                    source=data["source"],
                    station_code=station_code,
                    created_at=data["created_at"],
                    counted=False,
                )
                db.session.add(rating)
            rating.sync_digest = record_digest
            rating.hub_received_at = received_at
        db.session.flush()
        return refusals


def naive_utc(moment: datetime) -> datetime:
    """What UTCDateTime stores; for ``insert_many``, which skips type processing."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def insert_many(table, rows: list[dict]) -> None:
    """The driver's executemany for a batch of rows, in the session's transaction.

    Bypasses per-value type processing (a backlog is ten thousand rows), so
    values must be what the driver takes: plain strings, ints, naive UTC
    datetimes."""
    if not rows:
        return
    columns = list(rows[0])
    connection = db.session.connection()
    # Straight to the driver: SQLAlchemy's per-row parameter handling costs
    # more than the insert itself at this size.
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(marker for _ in columns)})"
    if connection.dialect.name == "sqlite":
        # Spelt as SQLAlchemy spells them on SQLite (always with microseconds),
        # so string comparisons on a whole second still order correctly.
        rows = [{c: _sqlite_value(v) for c, v in row.items()} for row in rows]
    connection.exec_driver_sql(statement, [tuple(row[c] for c in columns) for row in rows])


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _text(data: dict, key: str, max_length: int, optional: bool = False, pattern: re.Pattern | None = None) -> None:
    value = data[key]
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise BadRecord(f"{key} must be text of 1 to {max_length} characters")
    if pattern is not None and not pattern.match(value):
        raise BadRecord(f"{key} is not in the expected form")


# Opinions first: a batch's ratings are of opinions the hub already holds.
RECORD_TYPES: dict[str, RecordType] = {t.name: t for t in (OpinionRecords(), RatingRecords())}
