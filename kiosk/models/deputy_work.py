"""Deputies' work on the record: contact activities, report-backs, 三议一评's
professional groups and tracking records, and evaluations (满意度测评, 述职评议).

A contact activity may be made at a station by a deputy on duty and pushed
to the hub like a check-in (kiosk.sync.records), or recorded at the hub by
township staff; either way it is written once. Linking the opinions gathered
at it is the hub's (like topics). The rest is written at the hub only, each
write with an audit row. The deputy's file (履职档案) counts all of it.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .deputy_records import _SyncedRecord
from .types import UTCDateTime, utcnow

activity_deputies = Table(
    "activity_deputies",
    db.metadata,
    Column("activity_uuid", ForeignKey("activities.uuid", ondelete="CASCADE"), primary_key=True),
    Column("deputy_id", ForeignKey("deputies.id"), primary_key=True, index=True),
)

# An opinion belongs to one activity at most: the one where it was gathered.
activity_opinions = Table(
    "activity_opinions",
    db.metadata,
    Column("opinion_uuid", ForeignKey("opinions.uuid"), primary_key=True),
    Column("activity_uuid", ForeignKey("activities.uuid", ondelete="CASCADE"), index=True, nullable=False),
)

group_members = Table(
    "professional_group_members",
    db.metadata,
    Column("group_id", ForeignKey("professional_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("deputy_id", ForeignKey("deputies.id"), primary_key=True, index=True),
)


class Activity(_SyncedRecord, db.Model):
    """联系群众活动: a meeting of deputies with constituents at a station."""

    __tablename__ = "activities"

    station_code: Mapped[str] = mapped_column(String(8), index=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    people: Mapped[int] = mapped_column(Integer)
    # What was talked about, in short (public on the deputy's file: no personal data).
    topics: Mapped[str] = mapped_column(Text)
    # Made at the kiosk: the check-in of the deputy who recorded it.
    checkin_uuid: Mapped[str | None] = mapped_column(ForeignKey("duty_checkins.uuid"), index=True)
    # Made at the hub: the member of staff who recorded it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    deputies: Mapped[list["Deputy"]] = relationship(secondary=activity_deputies, order_by="Deputy.id")  # noqa: F821
    station: Mapped["Station"] = relationship(  # noqa: F821
        primaryjoin="Activity.station_code == Station.code", foreign_keys=[station_code], viewonly=True
    )


class ReportBack(db.Model):
    """代表向选民述职: a deputy reports their work to voters, who evaluate it."""

    __tablename__ = "report_backs"

    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(80))
    voters_present: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    basic: Mapped[int] = mapped_column(Integer)
    unsatisfied: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deputy: Mapped["Deputy"] = relationship()  # noqa: F821


class ProfessionalGroup(db.Model):
    """专业小组: a named group of a township's deputies that tracks topics."""

    __tablename__ = "professional_groups"
    __table_args__ = (UniqueConstraint("township_id", "name", name="uq_professional_groups_township_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list["Deputy"]] = relationship(secondary=group_members, order_by="Deputy.id")  # noqa: F821
    township: Mapped["Township"] = relationship()  # noqa: F821


class TopicStatus(StrEnum):
    """Where a 三议一评 topic is: taken from the work report, being tracked, evaluated."""

    PLANNED = "planned"
    TRACKING = "tracking"
    EVALUATED = "evaluated"

    @property
    def label(self) -> str:
        return {"planned": "计划", "tracking": "跟踪中", "evaluated": "已测评"}[self.value]


class TrackingKind(StrEnum):
    INSPECTION = "inspection"
    HEARING = "hearing"
    MEETING = "meeting"
    SURVEY = "survey"

    @property
    def label(self) -> str:
        return {"inspection": "视察", "hearing": "听证", "meeting": "座谈会议", "survey": "调研"}[self.value]


class TopicRecord(db.Model):
    """A tracking record of a topic: an inspection, a hearing, a meeting; who went, what was found."""

    __tablename__ = "topic_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12))
    who: Mapped[str] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvaluationKind(StrEnum):
    SPECIAL_WORK = "special_work"  # 专项工作满意度测评
    HEAD_REPORT = "head_report"  # 述职评议 of a government head

    @property
    def label(self) -> str:
        return {"special_work": "专项工作满意度测评", "head_report": "述职评议"}[self.value]


class Evaluation(db.Model):
    """专项工作满意度测评 or 述职评议: the votes by category, the result, the rectification asked for."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # What (a special work) or who (a government head, with their post) is evaluated.
    subject: Mapped[str] = mapped_column(String(80))
    meeting: Mapped[str] = mapped_column(String(80))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    satisfied: Mapped[int] = mapped_column(Integer)
    basic: Mapped[int] = mapped_column(Integer)
    unsatisfied: Mapped[int] = mapped_column(Integer)
    # A Satisfaction value: the meeting's verdict.
    result: Mapped[str] = mapped_column(String(12))
    rectification: Mapped[str | None] = mapped_column(Text)
    rectification_due: Mapped[date | None] = mapped_column(Date)
    # Set by the follow-up that says the rectification is done.
    rectified_on: Mapped[date | None] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    township: Mapped["Township"] = relationship()  # noqa: F821
    follow_ups: Mapped[list["EvaluationFollowUp"]] = relationship(order_by="EvaluationFollowUp.id")


class EvaluationFollowUp(db.Model):
    """What was checked of a rectification, and whether it is done."""

    __tablename__ = "evaluation_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
