"""What a deputy on duty does at a station: check in, check out, log the people
received, enter an opinion for someone beside them.

Each is a record made at the station with its own UUID, written once and
never changed, and pushed to the hub like an opinion (kiosk.sync.records).
A check-out, a reception-log entry and an assisted entry name their
check-in, whose deputy and station they share; the deputy's file
(履职档案) counts them at the hub.
"""

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


def new_uuid() -> str:
    return str(uuid_module.uuid4())


class _SyncedRecord:
    """The columns every record pushed to the hub carries (see RecordType)."""

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    # The station's clock when it was made.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hub_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # At the station: when the hub's signed answer said it holds it.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sync_digest: Mapped[str | None] = mapped_column(String(64))


class DutyCheckin(_SyncedRecord, db.Model):
    """A deputy checked in for duty at a station, with their PIN."""

    __tablename__ = "duty_checkins"

    station_code: Mapped[str] = mapped_column(String(8), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), index=True)

    deputy: Mapped["Deputy"] = relationship()  # noqa: F821


class DutyCheckout(_SyncedRecord, db.Model):
    """The end of a check-in: the deputy's 签退, or deputy mode left idle."""

    __tablename__ = "duty_checkouts"

    checkin_uuid: Mapped[str] = mapped_column(ForeignKey("duty_checkins.uuid"), unique=True, index=True)
    # "deputy" (签退) or "idle" (ended by itself)
    ended_by: Mapped[str] = mapped_column(String(8))


class ReceptionEntry(_SyncedRecord, db.Model):
    """接待登记: people a deputy received, in short; no personal data asked for."""

    __tablename__ = "reception_entries"

    checkin_uuid: Mapped[str] = mapped_column(ForeignKey("duty_checkins.uuid"), index=True)
    people: Mapped[int] = mapped_column(Integer)
    about: Mapped[str | None] = mapped_column(Text)
    # Receipt numbers of the opinions it led to, separated by spaces.
    receipt_numbers: Mapped[str | None] = mapped_column(String(400))


class AssistedEntry(_SyncedRecord, db.Model):
    """代为录入: an opinion a deputy on duty typed for a constituent beside them."""

    __tablename__ = "assisted_entries"

    checkin_uuid: Mapped[str] = mapped_column(ForeignKey("duty_checkins.uuid"), index=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), unique=True, index=True)
