"""What store-and-forward sync keeps on each side.

Hub side: the hub-owned fields of each station (its public key, last
contact, what it last reported), one-time enrolment tokens, the nonces it
has seen, the change log that pull cursors point into, records set aside
because they conflicted, and an audit trail of explicit decisions.

Station side: the single row of sync state (pull cursor, clock offset,
last success and error) and the records the hub refused, kept aside for a
person to look at.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

# --- hub --------------------------------------------------------------------


class SyncStation(db.Model):
    """The hub's own fields about one station (hub role only)."""

    __tablename__ = "sync_stations"

    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), primary_key=True)
    # Raw Ed25519 public key, base64; None until a box enrols.
    public_key: Mapped[str | None] = mapped_column(String(64))
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the station said about itself on its last request.
    reported_backlog: Mapped[int | None] = mapped_column(Integer)
    software_version: Mapped[str | None] = mapped_column(String(40))
    printer_state: Mapped[str | None] = mapped_column(String(40))
    last_cursor: Mapped[int | None] = mapped_column(BigInteger)

    station: Mapped["Station"] = relationship()  # noqa: F821


class EnrolmentToken(db.Model):
    """A one-time token a new box exchanges for its enrolment. Only its hash is kept."""

    __tablename__ = "enrolment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncNonce(db.Model):
    """A request nonce the hub has accepted; a second use is a replay."""

    __tablename__ = "sync_nonces"

    station_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(40), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SyncSequence(db.Model):
    """Named counters. Incrementing one holds its row lock until commit,
    so change numbers become visible in the order they were given out."""

    __tablename__ = "sync_sequences"

    name: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncChange(db.Model):
    """One numbered change a station may need to pull.

    ``kind`` is ``opinion`` (status or public reply of ``opinion_uuid`` at
    ``station_code``) or ``reference`` (deputies, duty roster, categories,
    office phone of ``township_id``; every township when it is None).
    """

    __tablename__ = "sync_changes"
    __table_args__ = (
        Index("ix_sync_changes_station", "station_code", "id"),
        Index("ix_sync_changes_township", "township_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    station_code: Mapped[str | None] = mapped_column(String(8))
    township_id: Mapped[int | None] = mapped_column(Integer)
    opinion_uuid: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncConflict(db.Model):
    """A record the hub refused because it already holds that UUID with
    other content (or the content breaks a rule); kept for a person."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (UniqueConstraint("uuid", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(String(8), index=True)
    record_type: Mapped[str] = mapped_column(String(24))
    uuid: Mapped[str] = mapped_column(String(36))
    digest: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(40))
    # The record as the station sent it (JSON).
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncAudit(db.Model):
    """An explicit decision somebody took about sync (e.g. accepting a
    bundle from a revoked station): who, when, why."""

    __tablename__ = "sync_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    station_code: Mapped[str] = mapped_column(String(8), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class HubDatabase(db.Model):
    """The hub database's one row: which copy of it this is, and its newest backup (hub role only).

    ``generation`` changes when a backup is restored (``flask sync restored``):
    a station that sees another generation re-sends what it had sent and
    pulls from the start, since the restored copy may lack both. A station
    keeps an acknowledged opinion's name and phone until ``backed_up_at``
    (the snapshot time of the newest backup that succeeded) is past its
    receipt, so a restored backup never lacks what stations deleted.
    """

    __tablename__ = "hub_database"
    __table_args__ = (CheckConstraint("id = 1", name="hub_database_single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    generation: Mapped[str] = mapped_column(String(32))
    backed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- station ----------------------------------------------------------------


class SyncState(db.Model):
    """The station's single row of sync state (station role only)."""

    __tablename__ = "sync_state"
    __table_args__ = (CheckConstraint("id = 1", name="sync_state_single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    # Last change number at the hub this station has applied.
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Hub clock minus this box's clock, milliseconds.
    clock_offset_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Plain words for the admin screen; None after a success.
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # The hub database's generation last seen (HubDatabase); None before the first answer.
    hub_generation: Mapped[str | None] = mapped_column(String(32))
    # True from a new generation until everything has been sent to the restored hub again.
    resending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class SetAsideRecord(db.Model):
    """A record the hub refused (409); not pushed again until a person acts."""

    __tablename__ = "sync_set_aside"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
