"""Opinions, their categories, status history and receipt counters.

Field ownership (ARCHITECTURE.md): what the constituent said, category,
deputy, consent, contact details, station and created time are written once
at the station and never changed; status and public replies are written only
at the hub.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
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
    MERGED = "merged"  # 合并: a duplicate, followed through its original
    REOPENED = "reopened"  # 不满意: back with the township after closing

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


# Generic labels (a page that knows the township names its office instead:
# Township.office_name, e.g. 罗城街道人大工委已收到).
STATUS_LABELS = {
    OpinionStatus.SUBMITTED: "已在联络站登记",
    OpinionStatus.RECEIVED: "镇（街道）人大已收到",
    OpinionStatus.ACCEPTED: "已受理",
    OpinionStatus.FORWARDED: "已转交有关部门办理",
    OpinionStatus.REPLIED: "已答复",
    OpinionStatus.CLOSED: "已办结",
    OpinionStatus.DECLINED: "不予受理",
    OpinionStatus.MERGED: "已与同类意见合并办理",
    OpinionStatus.REOPENED: "群众不满意，正在重新办理",
}

# Statuses in which the township has nothing more to do (Open311 "closed").
FINISHED_STATUSES = frozenset({OpinionStatus.CLOSED, OpinionStatus.DECLINED, OpinionStatus.MERGED})
# The condition of the open opinions' index, as SQL: every status but the
# finished ones, named one by one, so that a query naming them all (the
# queue's "open" tab and overdue filter, the dashboard's overdue count) can
# use it, and one saying NOT IN (Open311's open requests, newest first by
# created_at) is not drawn to it.
OPEN_PREDICATE = "status IN ({})".format(
    ", ".join(f"'{s.value}'" for s in OpinionStatus if s not in FINISHED_STATUSES)
)
# What the year's figures read besides township and created_at.
FIGURES_COLUMNS = (
    "station_code",
    "category_code",
    "status",
    "accepted_at",
    "closed_at",
    "hub_received_at",
    "satisfaction",
)


class Channel(StrEnum):
    """How an opinion reached the township: typed at a kiosk, typed there by a
    deputy on duty for the person (代为录入), sent from a phone, or a deputy's
    own suggestion from their desk (一键通)."""

    KIOSK = "kiosk"
    ASSISTED = "assisted"
    PHONE = "phone"
    DESK = "desk"

    @property
    def label(self) -> str:
        return {"kiosk": "联络站一体机", "assisted": "代表代为录入", "phone": "手机扫码", "desk": "代表一键通"}[self.value]


class Satisfaction(StrEnum):
    """满意度测评: what a constituent says of a closed opinion."""

    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"

    @property
    def label(self) -> str:
        return {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}[self.value]


class Category(db.Model):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    # Name of an icon in static/icons/ (without .svg).
    icon: Mapped[str] = mapped_column(String(24))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Working days within which the township promises an answer (办结).
    answer_days: Mapped[int] = mapped_column(Integer, default=15)
    # Working days within which the township accepts (受理) or declines.
    accept_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


# The longest opinion, in characters: the kiosk's form and the hub's check of
# a pushed record both hold to it (the column itself is unbounded text).
CONTENT_MAX = 2000


class Opinion(db.Model):
    __tablename__ = "opinions"
    __table_args__ = (
        # The staff queue: one township, one status, newest first (keyset on
        # created_at, uuid) or most urgent first (close_due_on).
        Index("ix_opinions_queue", "township_id", "status", "created_at", "uuid"),
        Index("ix_opinions_township_created", "township_id", "created_at", "uuid"),
        Index("ix_opinions_township_due", "township_id", "close_due_on"),
        # "Overdue now" on the dashboard and the queue: only open opinions.
        # On PostgreSQL with uuid too, for the EXISTS on late assignments:
        # the city's count then never reads the table.
        Index(
            "ix_opinions_open_due",
            "township_id",
            "close_due_on",
            "accept_due_on",
            "status",
            postgresql_where=text(OPEN_PREDICATE),
            postgresql_include=["uuid"],
            sqlite_where=text(OPEN_PREDICATE),
        ),
        # The year's figures (kiosk.stats) read from the index alone on
        # PostgreSQL, a township's or (every township in turn) the city's.
        # SQLite has no INCLUDE; there it holds a hub's opinions only (a
        # township set), so a station pays nothing for it.
        Index(
            "ix_opinions_township_figures",
            "township_id",
            "created_at",
            postgresql_include=list(FIGURES_COLUMNS),
            sqlite_where=text("township_id IS NOT NULL"),
        ),
        # A deputy's desk: the opinions addressed to them, newest first.
        Index("ix_opinions_deputy_created", "deputy_id", "created_at"),
    )

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
    # ``Channel``: set where the opinion is made (a phone opinion at the hub,
    # an assisted entry at the station), and at the hub when an assisted
    # entry arrives for an opinion pushed as a kiosk one.
    channel: Mapped[str] = mapped_column(String(8), default=Channel.KIOSK, server_default=Channel.KIOSK.value)
    # A phone opinion left from a station's QR code: the station it is for
    # (``station_code`` is then the township's online station, which numbered it).
    addressed_station_code: Mapped[str | None] = mapped_column(String(8))

    # 一键通: a deputy's own suggestion, made at the hub (kiosk.desk), with its
    # title; None for a constituent's opinion.
    suggesting_deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(60))

    # Written at the hub only; the station learns them by pulling.
    status: Mapped[str] = mapped_column(String(16), default=OpinionStatus.SUBMITTED)
    # The public answer: the reply on closing (办结) or the reason for
    # declining (不予受理). Never staff names or contact details.
    public_reply: Mapped[str | None] = mapped_column(Text)
    # A replacement receipt's 验证码; once set, the printed ``secret`` no
    # longer opens anything (the station's own field stays as it was sent).
    replacement_secret: Mapped[str | None] = mapped_column(String(8))
    # The latest counted rating (``Satisfaction``) of the current round.
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    # How many times 不满意 sent it back; ratings are once per round.
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Hub only: the staff queue's fields (never sent to a station as such).
    # Denormalised from the station so the queue filters one index.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    merged_into_uuid: Mapped[str | None] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Local dates by working days (kiosk.workdays) from hub receipt.
    accept_due_on: Mapped[date | None] = mapped_column(Date)
    close_due_on: Mapped[date | None] = mapped_column(Date)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last change made at the hub (Open311 updated_datetime).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
    deputy: Mapped["Deputy | None"] = relationship(foreign_keys=[deputy_id])  # noqa: F821
    suggesting_deputy: Mapped["Deputy | None"] = relationship(foreign_keys=[suggesting_deputy_id])  # noqa: F821
    department: Mapped["Department | None"] = relationship()  # noqa: F821
    topic: Mapped["Topic | None"] = relationship()  # noqa: F821
    merged_into: Mapped["Opinion | None"] = relationship(remote_side=[uuid])
    # No foreign key (a column added to a table that stations fill): only phone opinions set it.
    addressed_station: Mapped["Station | None"] = relationship(  # noqa: F821
        primaryjoin="foreign(Opinion.addressed_station_code) == Station.code", viewonly=True
    )
    events: Mapped[list["OpinionEvent"]] = relationship(
        back_populates="opinion", order_by="OpinionEvent.at", cascade="all, delete-orphan"
    )
    # 说话留言, if the person spoke (kiosk.models.voice); its bytes are loaded only when asked for.
    voice: Mapped["VoiceMessage | None"] = relationship(  # noqa: F821
        primaryjoin="Opinion.uuid == foreign(VoiceMessage.opinion_uuid)", uselist=False, viewonly=True
    )

    @property
    def status_label(self) -> str:
        return OpinionStatus(self.status).label

    @property
    def current_secret(self) -> str:
        """The 验证码 that opens this receipt now."""
        return self.replacement_secret or self.secret

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_deputy_suggestion(self) -> bool:
        return self.suggesting_deputy_id is not None

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label

    @property
    def by_phone(self) -> bool:
        return self.channel == Channel.PHONE


# A public step that is no change of status: a deputy's direct answer (代表答复).
DEPUTY_ANSWER = "deputy_answer"
EVENT_KIND_LABELS = {DEPUTY_ANSWER: "代表答复"}


class OpinionEvent(db.Model):
    """One step of an opinion's public status history."""

    __tablename__ = "opinion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Public text only: never staff names or contact details.
    note: Mapped[str | None] = mapped_column(Text)
    # None: a change of status; else a step of its own (``EVENT_KIND_LABELS``),
    # recorded under the status the opinion had then.
    kind: Mapped[str | None] = mapped_column(String(16))

    opinion: Mapped[Opinion] = relationship(back_populates="events")

    @property
    def status_label(self) -> str:
        return EVENT_KIND_LABELS.get(self.kind) or OpinionStatus(self.status).label


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
