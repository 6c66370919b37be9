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
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import (
    ARRAY,
    Select,
    String,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
    update,
)

from ..clock import iso, parse_iso
from ..extensions import db
from ..models import (
    CONTENT_MAX,
    Activity,
    activity_deputies,
    AssistedEntry,
    DutyCheckin,
    DutyCheckout,
    ReceptionEntry,
    Category,
    Channel,
    Deputy,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    RatingSource,
    Satisfaction,
    SetAsideRecord,
    Station,
    VoiceMessage,
)
from ..ratings import GivenRating, followed
from ..receipts.numbers import SECRET, station_number
from ..staff.services import ActionRefused, record_rating
from ..text import clean_text
from ..voice import DURATION_GRACE_MS
from ..voice import limits as voice_limits
from ..workdays import due_dates
from . import wire

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
        """Mark records the hub holds. Only with a verified acknowledgement;
        repeats are harmless, as only records still waiting change."""
        m, marked = self.model, 0
        for received, uuids in _by_moment(acks).items():
            marked += db.session.execute(
                update(m)
                .where(m.uuid.in_(listed(uuids)), m.acknowledged_at.is_(None))
                .values(acknowledged_at=now, hub_received_at=received)
                .execution_options(synchronize_session=False)
            ).rowcount
        return marked

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
        rows = db.session.execute(select(m.uuid, m.sync_digest, m.hub_received_at).where(m.uuid.in_(listed(uuids))))
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

    # A voice message (说话留言) is named in its opinion's record by SHA-256,
    # size and duration; its bytes follow in chunks once the record is
    # acknowledged (kiosk.sync.voice). Only a spoken opinion carries the key,
    # so every other record's digest stays what it was.
    VOICE_FIELDS = {"sha256", "size", "duration_ms"}

    # The columns ``to_wire`` reads, in the order it unpacks them.
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
        VoiceMessage.sha256,
        VoiceMessage.size,
        VoiceMessage.duration_ms,
    )

    # --- station ----------------------------------------------------------

    def _pending_query(self, *columns):
        return super()._pending_query(*columns).outerjoin(VoiceMessage, VoiceMessage.opinion_uuid == Opinion.uuid)

    def to_wire(self, row) -> dict:
        """A row of ``WIRE_COLUMNS`` as the station sends it."""
        # Unpacked, not read by attribute: three times faster over a backlog.
        (
            uuid, number, secret, station_code, category, content, deputy_id, consent, name, phone, created_at,
            sha256, size, duration_ms,
        ) = row  # fmt: skip
        data = {
            "uuid": uuid,
            "receipt_number": number,
            "secret": secret,
            "station_code": station_code,
            "category": category,
            "content": content,
            "deputy_id": deputy_id,
            "consent_version": consent,
            "contact_name": name,
            "contact_phone": phone,
            "created_at": iso(created_at),
        }
        if sha256 is not None:
            data["voice"] = {"sha256": sha256, "size": size, "duration_ms": duration_ms}
        return data

    def mark_acknowledged(self, acks: dict[str, datetime], now: datetime) -> int:
        """Mark opinions the hub holds.

        Only ever called with a verified acknowledgement. Repeats are harmless:
        only opinions still waiting change. Two statements per receipt time
        (a batch the hub stored together shares one), whatever the batch's
        size: the "received" step for those still "submitted", then the
        marking itself, which also moves them to "received". Their name and
        phone go once a backup of the hub holds them too
        (``kiosk.sync.station.forget_personal_data``).
        """
        marked = 0
        for received, uuids in _by_moment(acks).items():
            waiting = (Opinion.uuid.in_(listed(uuids)), Opinion.acknowledged_at.is_(None))
            db.session.execute(
                insert(OpinionEvent).from_select(
                    ["opinion_uuid", "status", "at"],
                    select(
                        Opinion.uuid, literal(OpinionStatus.RECEIVED.value), literal(received, OpinionEvent.at.type)
                    ).where(*waiting, Opinion.status == OpinionStatus.SUBMITTED),
                )
            )
            marked += db.session.execute(
                update(Opinion)
                .where(*waiting)
                .values(
                    acknowledged_at=now,
                    hub_received_at=received,
                    status=case(
                        (Opinion.status == OpinionStatus.SUBMITTED, OpinionStatus.RECEIVED.value),
                        else_=Opinion.status,
                    ),
                )
                .execution_options(synchronize_session=False)
            ).rowcount
        return marked

    # --- hub --------------------------------------------------------------

    def _check_fields(self, data) -> None:
        spoken = isinstance(data, dict) and "voice" in data
        super()._check_fields({k: v for k, v in data.items() if k != "voice"} if spoken else data)
        if spoken:
            check_voice(data["voice"])

    def clean(self, data, station_code: str) -> dict:
        self._check_fields(data)
        _text(data, "uuid", 36, pattern=UUID_RE)
        _text(data, "station_code", 8)
        if data["station_code"] != station_code:
            raise BadRecord(f"opinion {data['uuid']} belongs to another station")
        _text(data, "receipt_number", 24, pattern=station_number(station_code))
        _text(data, "secret", 8, pattern=SECRET)
        _text(data, "category", 24)
        # Spoken only: the recording is the opinion, the text may be empty.
        if not ("voice" in data and data["content"] == ""):
            _text(data, "content", CONTENT_MAX)
        _text(data, "consent_version", 16, optional=True)
        _text(data, "contact_name", 40, optional=True)
        _text(data, "contact_phone", 20, optional=True)
        if data["consent_version"] is None and (data["contact_name"] or data["contact_phone"]):
            raise BadRecord(f"opinion {data['uuid']} has contact details without consent")
        deputy = data["deputy_id"]
        if deputy is not None and (type(deputy) is not int or not 0 < deputy < 2**31):
            raise BadRecord("deputy_id must be a positive integer or null")
        # The kiosk's own cleaning once more: a stolen station key can send anything.
        return {
            **data,
            "content": clean_text(data["content"]),
            "contact_name": clean_text(data["contact_name"]) or None,
            "created_at": self._created_at(data),
        }

    def store(self, records, station_code, received_at):
        """Insert new opinions with status "received"; return refusals by UUID.

        A batch costs the same few statements whatever its size: what the
        hub holds already is read once, the opinions go in with one
        statement (executemany on SQLite), and their first two status steps
        ("submitted" at the station's time, "received" at the hub's) are
        copied from the inserted rows by the database, not sent row by row.
        """
        refusals: dict[str, Refusal] = {}
        numbers = [data["receipt_number"] for data, _ in records]
        taken = set(
            db.session.scalars(select(Opinion.receipt_number).where(Opinion.receipt_number.in_(listed(numbers))))
        )
        categories = {c.code: c for c in db.session.scalars(select(Category))}
        # Loaded with the request's signature already (kiosk.sync.hub): no statement.
        township_id = db.session.get(Station, station_code).township_id
        used = {data["category"] for data, _ in records} & categories.keys()
        due = {code: due_dates(received_at, categories[code].accept_days, categories[code].answer_days) for code in used}
        deputy_ids = {data["deputy_id"] for data, _ in records if data["deputy_id"] is not None}
        known_deputies = set(db.session.scalars(select(Deputy.id).where(Deputy.id.in_(deputy_ids)))) if deputy_ids else set()
        rows = []
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
            accept_due, close_due = due[data["category"]]
            rows.append(
                (
                    uuid,
                    data["receipt_number"],
                    data["secret"],
                    data["category"],
                    data["content"],
                    data["deputy_id"],
                    data["consent_version"],
                    data["contact_name"],
                    data["contact_phone"],
                    naive_utc(data["created_at"]),
                    record_digest,
                    accept_due,
                    close_due,
                )
            )
        if rows:
            received = naive_utc(received_at)
            # The same for every opinion of the batch.
            shared = (station_code, township_id, OpinionStatus.RECEIVED.value, received, received)
            _insert_opinions(rows, shared)
            stored = {row[0] for row in rows}
            spoken = [
                {"opinion_uuid": data["uuid"], "created_at": received_at, "data": b"", **data["voice"]}
                for data, _ in records
                if "voice" in data and data["uuid"] in stored
            ]
            if spoken:
                # Named now, its bytes to follow (kiosk.sync.voice).
                db.session.execute(insert(VoiceMessage), spoken)
        return refusals


# The columns ``_insert_opinions`` writes: per opinion, then shared by a batch.
_OPINION_COLUMNS = (
    ("uuid", "text"),
    ("receipt_number", "text"),
    ("secret", "text"),
    ("category_code", "text"),
    ("content", "text"),
    ("deputy_id", "integer"),
    ("consent_version", "text"),
    ("contact_name", "text"),
    ("contact_phone", "text"),
    ("created_at", "timestamp"),
    ("sync_digest", "text"),
    ("accept_due_on", "date"),
    ("close_due_on", "date"),
)
_SHARED_COLUMNS = ("station_code", "township_id", "status", "hub_received_at", "updated_at")
# Where in a row the times and dates are, which SQLite takes as text.
_TIMED = tuple(i for i, (_c, sql_type) in enumerate(_OPINION_COLUMNS) if sql_type in ("timestamp", "date"))


def _sqlite_row(row: tuple) -> list:
    values = list(row)
    for i in _TIMED:
        values[i] = _sqlite_value(values[i])
    return values


def _insert_opinions(rows: list[tuple], shared: tuple) -> None:
    """New opinions and their first two status steps, in the session's transaction.

    Straight to the driver: SQLAlchemy's per-row parameter handling costs
    more than the insert itself at this size, so values are what the driver
    takes (plain strings, ints, naive UTC datetimes, dates)."""
    connection = db.session.connection()
    names = ", ".join([c for c, _type in _OPINION_COLUMNS] + list(_SHARED_COLUMNS))
    submitted, received = OpinionStatus.SUBMITTED.value, OpinionStatus.RECEIVED.value
    if connection.dialect.name == "postgresql":
        # One statement: the batch as one array per column, the steps taken
        # from what the insert returns.
        arrays = ", ".join(f"%s::{sql_type}[]" for _c, sql_type in _OPINION_COLUMNS)
        statement = (
            f"WITH new AS (INSERT INTO opinions ({names}) SELECT *, %s, %s, %s, %s, %s FROM unnest({arrays})"
            " RETURNING uuid, created_at, hub_received_at)"
            " INSERT INTO opinion_events (opinion_uuid, status, at)"
            " SELECT uuid, %s, created_at FROM new UNION ALL SELECT uuid, %s, hub_received_at FROM new"
        )
        columns = [list(values) for values in zip(*rows)]
        connection.exec_driver_sql(statement, (*shared, *columns, submitted, received))
        return
    markers = ", ".join("?" for _ in range(len(_OPINION_COLUMNS) + len(_SHARED_COLUMNS)))
    shared = tuple(_sqlite_value(v) for v in shared)
    connection.exec_driver_sql(
        f"INSERT INTO opinions ({names}) VALUES ({markers})",
        [(*_sqlite_row(row), *shared) for row in rows],
    )
    new = listed([row[0] for row in rows])
    db.session.execute(
        insert(OpinionEvent).from_select(
            ["opinion_uuid", "status", "at"],
            union_all(
                select(Opinion.uuid, literal(submitted), Opinion.created_at).where(Opinion.uuid.in_(new)),
                select(Opinion.uuid, literal(received), Opinion.hub_received_at).where(Opinion.uuid.in_(new)),
            ),
        )
    )


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

    # The columns ``to_wire`` reads, in the order it unpacks them.
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

    def to_wire(self, row) -> dict:
        """A row of ``WIRE_COLUMNS`` as the station sends it."""
        uuid, opinion_uuid, round_, value, comment, source, station_code, created_at = row
        return {
            "uuid": uuid,
            "opinion_uuid": opinion_uuid,
            "round": round_,
            "value": value,
            "comment": comment,
            "source": source,
            "station_code": station_code,
            "created_at": iso(created_at),
        }

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
        return {**data, "comment": clean_text(data["comment"]) or None, "created_at": self._created_at(data)}

    def store(self, records, station_code, received_at):
        """Rate through ``record_rating`` without committing (the batch's
        transaction commits); return refusals by UUID."""
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
                        given = GivenRating(
                            data["value"],
                            data["comment"],
                            data["source"],
                            station_code=station_code,
                            uuid=data["uuid"],
                            created_at=data["created_at"],
                        )
                        rating = record_rating(opinion, given, commit=False)
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


class DeputyRecords(RecordType):
    """What a deputy on duty leaves at a station (kiosk.models.deputy_records).

    Small and few, so stored through the ORM. A check-in names its deputy;
    the others name their check-in, which must be this station's and held by
    the hub (a batch stores check-ins first). What a record names is checked,
    and a record naming something the hub lacks is refused and set aside.
    """

    FIELDS: set[str]

    def to_wire(self, row) -> dict:
        data = dict(zip(self.FIELDS_ORDER, row))
        data["created_at"] = iso(data["created_at"])
        return data

    @property
    def WIRE_COLUMNS(self):
        return tuple(getattr(self.model, name) for name in self.FIELDS_ORDER)

    def clean(self, data, station_code: str) -> dict:
        self._check_fields(data)
        _text(data, "uuid", 36, pattern=UUID_RE)
        self.check(data, station_code)
        return {**data, "created_at": self._created_at(data)}

    def check(self, data: dict, station_code: str) -> None:
        _text(data, "checkin_uuid", 36, pattern=UUID_RE)

    def store(self, records, station_code, received_at):
        """Add each record whose references hold; return refusals by UUID."""
        refusals: dict[str, Refusal] = {}
        checkins = self._checkins(records, station_code)
        for data, record_digest in records:
            refusal = self.refusal(data, checkins, station_code)
            if refusal is not None:
                refusals[data["uuid"]] = refusal
                continue
            db.session.add(self.model(**data, sync_digest=record_digest, hub_received_at=received_at))
        db.session.flush()
        return refusals

    def _checkins(self, records, station_code) -> set[str]:
        wanted = {data.get("checkin_uuid") for data, _ in records} - {None}
        if not wanted:
            return set()
        return set(
            db.session.scalars(
                select(DutyCheckin.uuid).where(DutyCheckin.uuid.in_(listed(wanted)), DutyCheckin.station_code == station_code)
            )
        )

    def refusal(self, data: dict, checkins: set[str], station_code: str) -> Refusal | None:
        if data["checkin_uuid"] not in checkins:
            return Refusal("unknown_checkin", f"镇人大办没有本站编号为 {data['checkin_uuid']} 的签到")
        return None


class CheckinRecords(DeputyRecords):
    name = "duty_checkin"
    model = DutyCheckin
    FIELDS_ORDER = ("uuid", "station_code", "deputy_id", "created_at")
    FIELDS = set(FIELDS_ORDER)

    def check(self, data, station_code):
        _text(data, "station_code", 8)
        if data["station_code"] != station_code:
            raise BadRecord(f"check-in {data['uuid']} belongs to another station")
        if type(data["deputy_id"]) is not int or not 0 < data["deputy_id"] < 2**31:
            raise BadRecord("deputy_id must be a positive integer")

    def refusal(self, data, checkins, station_code):
        if db.session.get(Deputy, data["deputy_id"]) is None:
            return Refusal("unknown_deputy", f"镇人大办没有编号为 {data['deputy_id']} 的代表")
        return None


class CheckoutRecords(DeputyRecords):
    name = "duty_checkout"
    model = DutyCheckout
    FIELDS_ORDER = ("uuid", "checkin_uuid", "ended_by", "created_at")
    FIELDS = set(FIELDS_ORDER)

    def check(self, data, station_code):
        super().check(data, station_code)
        if data["ended_by"] not in ("deputy", "idle"):
            raise BadRecord("ended_by must be deputy or idle")

    def refusal(self, data, checkins, station_code):
        if (refused := super().refusal(data, checkins, station_code)) is not None:
            return refused
        if db.session.scalar(select(DutyCheckout.uuid).where(DutyCheckout.checkin_uuid == data["checkin_uuid"])):
            return Refusal("already_ended", f"签到 {data['checkin_uuid']} 已有签退")
        return None


class ReceptionRecords(DeputyRecords):
    name = "reception_entry"
    model = ReceptionEntry
    FIELDS_ORDER = ("uuid", "checkin_uuid", "people", "about", "receipt_numbers", "created_at")
    FIELDS = set(FIELDS_ORDER)

    def check(self, data, station_code):
        super().check(data, station_code)
        if type(data["people"]) is not int or not 0 < data["people"] < 1000:
            raise BadRecord("people must be a whole number from 1 to 999")
        _text(data, "about", 500, optional=True)
        _text(data, "receipt_numbers", 400, optional=True)

    def clean(self, data, station_code):
        cleaned = super().clean(data, station_code)
        return {**cleaned, "about": clean_text(cleaned["about"]) or None}


class AssistedRecords(DeputyRecords):
    name = "assisted_entry"
    model = AssistedEntry
    FIELDS_ORDER = ("uuid", "checkin_uuid", "opinion_uuid", "created_at")
    FIELDS = set(FIELDS_ORDER)

    def check(self, data, station_code):
        super().check(data, station_code)
        _text(data, "opinion_uuid", 36, pattern=UUID_RE)

    def refusal(self, data, checkins, station_code):
        if (refused := super().refusal(data, checkins, station_code)) is not None:
            return refused
        opinion_station = db.session.scalar(select(Opinion.station_code).where(Opinion.uuid == data["opinion_uuid"]))
        if opinion_station != station_code:
            return Refusal("unknown_opinion", f"镇人大办没有本站编号为 {data['opinion_uuid']} 的意见")
        return None

    def store(self, records, station_code, received_at):
        """As every deputy record; and the opinions they name came by assisted entry (代为录入).

        The opinion's wire record carries no channel (older boxes send none),
        so the hub learns it from the entry, which follows its opinion.
        """
        refusals = super().store(records, station_code, received_at)
        assisted = [data["opinion_uuid"] for data, _digest in records if data["uuid"] not in refusals]
        if assisted:
            db.session.execute(
                update(Opinion)
                .where(Opinion.uuid.in_(listed(assisted)))
                .values(channel=Channel.ASSISTED.value)
                .execution_options(synchronize_session=False)
            )
        return refusals


class ActivityRecords(DeputyRecords):
    """联系群众活动 recorded at the kiosk by a deputy on duty: the deputies present travel with it."""

    name = "activity"
    model = Activity
    FIELDS_ORDER = ("uuid", "checkin_uuid", "station_code", "held_on", "people", "topics", "created_at")
    FIELDS = {*FIELDS_ORDER, "deputy_ids"}
    # Within the hub's token budget for one record (KIOSK_SYNC_MAX_BATCH).
    DEPUTIES_MAX = 50

    def pending(self, limit, after=None):
        records = super().pending(limit, after)
        present: dict[str, list[int]] = {}
        for uuid, deputy_id in db.session.execute(
            select(activity_deputies.c.activity_uuid, activity_deputies.c.deputy_id).where(
                activity_deputies.c.activity_uuid.in_(listed(r["uuid"] for r in records))
            )
        ):
            present.setdefault(uuid, []).append(deputy_id)
        for record in records:
            record["held_on"] = record["held_on"].isoformat()
            record["deputy_ids"] = sorted(present.get(record["uuid"], []))
        return records

    def check(self, data, station_code):
        super().check(data, station_code)
        _text(data, "station_code", 8)
        if data["station_code"] != station_code:
            raise BadRecord(f"activity {data['uuid']} belongs to another station")
        try:
            date.fromisoformat(data["held_on"])
        except (TypeError, ValueError) as error:
            raise BadRecord("held_on must be a date like 2026-12-06") from error
        if type(data["people"]) is not int or not 0 < data["people"] < 10000:
            raise BadRecord("people must be a whole number from 1 to 9999")
        _text(data, "topics", 500)
        ids = data["deputy_ids"]
        if (
            not isinstance(ids, list) or not 0 < len(ids) <= self.DEPUTIES_MAX or len(set(ids)) != len(ids)
            or any(type(i) is not int or not 0 < i < 2**31 for i in ids)
        ):  # fmt: skip
            raise BadRecord("deputy_ids must be a list of distinct positive integers")

    def clean(self, data, station_code):
        cleaned = super().clean(data, station_code)
        return {**cleaned, "held_on": date.fromisoformat(cleaned["held_on"]), "topics": clean_text(cleaned["topics"])}

    def refusal(self, data, checkins, station_code):
        if (refused := super().refusal(data, checkins, station_code)) is not None:
            return refused
        known = set(db.session.scalars(select(Deputy.id).where(Deputy.id.in_(data["deputy_ids"]))))
        if missing := sorted(set(data["deputy_ids"]) - known):
            return Refusal("unknown_deputy", f"镇人大办没有编号为 {missing[0]} 的代表")
        return None

    def store(self, records, station_code, received_at):
        """Each activity with its deputies present; refusals by UUID."""
        refusals: dict[str, Refusal] = {}
        checkins = self._checkins(records, station_code)
        for data, record_digest in records:
            refusal = self.refusal(data, checkins, station_code)
            if refusal is not None:
                refusals[data["uuid"]] = refusal
                continue
            values = {k: v for k, v in data.items() if k != "deputy_ids"}
            db.session.add(self.model(**values, sync_digest=record_digest, hub_received_at=received_at))
            db.session.flush()
            db.session.execute(
                insert(activity_deputies), [{"activity_uuid": data["uuid"], "deputy_id": i} for i in data["deputy_ids"]]
            )
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
        # As "%Y-%m-%d %H:%M:%S.%f", without strftime's cost.
        return value.isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def listed(values) -> Select:
    """``values`` (strings) as a one-column subquery for ``column.in_()``,
    bound as one parameter: a batch of 2,000 UUIDs is one value to send and
    a statement the same size as a batch of one, not 2,000 placeholders to
    render and parse."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return select(func.unnest(bindparam(None, values, type_=ARRAY(String))))
    return select(literal_column("value")).select_from(func.json_each(bindparam(None, json.dumps(values))))


def _by_moment(acks: dict[str, datetime]) -> dict[datetime, list[str]]:
    """UUIDs grouped by their hub receipt time (a batch stored together shares one)."""
    groups: dict[datetime, list[str]] = {}
    for uuid, moment in acks.items():
        groups.setdefault(moment, []).append(uuid)
    return groups


SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def check_voice(voice) -> None:
    """A voice message as an opinion's record names it: SHA-256, size and duration within the limits."""
    if not isinstance(voice, dict) or set(voice) != OpinionRecords.VOICE_FIELDS:
        raise BadRecord("voice must be an object with sha256, size and duration_ms")
    if not isinstance(voice["sha256"], str) or not SHA256_RE.fullmatch(voice["sha256"]):
        raise BadRecord("voice sha256 must be 64 lower-case hex digits")
    max_seconds, max_bytes = voice_limits()
    if type(voice["size"]) is not int or not 0 < voice["size"] <= max_bytes:
        raise BadRecord(f"voice size must be 1 to {max_bytes} bytes")
    if type(voice["duration_ms"]) is not int or not 0 < voice["duration_ms"] <= max_seconds * 1000 + DURATION_GRACE_MS:
        raise BadRecord(f"voice duration_ms must be 1 to {max_seconds * 1000 + DURATION_GRACE_MS}")


def _text(data: dict, key: str, max_length: int, optional: bool = False, pattern: re.Pattern | None = None) -> None:
    value = data[key]
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise BadRecord(f"{key} must be text of 1 to {max_length} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise BadRecord(f"{key} is not in the expected form")


# Opinions first: a batch's ratings and assisted entries are of opinions the hub
# already holds; check-ins before the records that name them.
RECORD_TYPES: dict[str, RecordType] = {
    t.name: t
    for t in (
        OpinionRecords(), RatingRecords(), CheckinRecords(), CheckoutRecords(), ReceptionRecords(), AssistedRecords(),
        ActivityRecords(),
    )
}


def waiting_count() -> int:
    """Records of every type this station has not had acknowledged yet."""
    return sum(t.count_pending() for t in RECORD_TYPES.values())
