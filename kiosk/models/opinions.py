"""Opinions, their categories, status history and receipt counters.

Field ownership (ARCHITECTURE.md): what the constituent said, category,
deputy, consent, contact details, station and created time are written once
at the station and never changed; status and public replies are written only
at the hub.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class OpinionStatus(StrEnum):
    SUBMITTED = "submitted"  # saved at the station
    RECEIVED = "received"  # the hub holds it
    ACCEPTED = "accepted"  # 受理
    FORWARDED = "forwarded"  # 转办
    REPLIED = "replied"  # 答复
    CLOSED = "closed"  # 办结
    DECLINED = "declined"  # 不予受理

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    OpinionStatus.SUBMITTED: "已在联络站登记",
    OpinionStatus.RECEIVED: "镇人大办已收到",
    OpinionStatus.ACCEPTED: "已受理",
    OpinionStatus.FORWARDED: "已转交有关部门办理",
    OpinionStatus.REPLIED: "已答复",
    OpinionStatus.CLOSED: "已办结",
    OpinionStatus.DECLINED: "不予受理",
}


class Category(db.Model):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    # Name of an icon in static/icons/ (without .svg).
    icon: Mapped[str] = mapped_column(String(24))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Working days within which the township promises an answer.
    answer_days: Mapped[int] = mapped_column(Integer, default=15)


class Opinion(db.Model):
    __tablename__ = "opinions"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt_number: Mapped[str] = mapped_column(String(24), unique=True)
    # 验证码: printed on the receipt and inside its QR code.
    secret: Mapped[str] = mapped_column(String(8))
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    content: Mapped[str] = mapped_column(Text)
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"))
    # Contact details exist only with consent; the version of the notice
    # the person agreed to is kept with them.
    consent_version: Mapped[str | None] = mapped_column(String(16))
    contact_name: Mapped[str | None] = mapped_column(String(40))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # Device clock, UTC.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # Written at the hub only; the station learns them by pulling.
    status: Mapped[str] = mapped_column(String(16), default=OpinionStatus.SUBMITTED)
    public_reply: Mapped[str | None] = mapped_column(Text)

    # Sync (kiosk/sync). Hub clock when the hub first committed this record;
    # the station learns it from the signed acknowledgement.
    hub_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Station only: when a verified acknowledgement arrived. None = still to push.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Hub only: SHA-256 of the record as the station sent it, to tell a
    # repeat (acknowledge again) from a conflict (409).
    sync_digest: Mapped[str | None] = mapped_column(String(64))

    station: Mapped["Station"] = relationship()  # noqa: F821
    category: Mapped[Category] = relationship()
    deputy: Mapped["Deputy | None"] = relationship()  # noqa: F821
    events: Mapped[list["OpinionEvent"]] = relationship(
        back_populates="opinion", order_by="OpinionEvent.at", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return OpinionStatus(self.status).label


class OpinionEvent(db.Model):
    """One step of an opinion's public status history."""

    __tablename__ = "opinion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Public text only: never staff names or contact details.
    note: Mapped[str | None] = mapped_column(Text)

    opinion: Mapped[Opinion] = relationship(back_populates="events")

    @property
    def status_label(self) -> str:
        return OpinionStatus(self.status).label


class ReceiptCounter(db.Model):
    """Last receipt serial issued per station and local day.

    Incremented in the same transaction as the opinion it numbers, and never
    decremented, so a number is never issued twice, clock or no clock.
    """

    __tablename__ = "receipt_counters"
    __table_args__ = (UniqueConstraint("station_code", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"))
    # YYMMDD, local date (Asia/Shanghai).
    day: Mapped[str] = mapped_column(String(6))
    last_serial: Mapped[int] = mapped_column(Integer, default=0)
