"""The township office's casework: departments, assignments, topics, ratings.

All of it is written at the hub only, except ratings, which a station may
also make (at its look-up screen) and push like any other record.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class Department(db.Model):
    """A department opinions are forwarded to (转办): the city's bureaus, or a township's own offices.

    A township's (镇村建办, 派出所, a 村委会…) is managed by that township's
    staff and offered only for its opinions; a city one (``township_id``
    None) is offered everywhere. A name is unique within its township, and
    among the city's.
    """

    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("township_id", "name", name="uq_departments_township_name"),
        # NULLs never clash in a unique constraint: the city's names need an index of their own.
        Index(
            "uq_departments_city_name",
            "name",
            unique=True,
            postgresql_where=text("township_id IS NULL"),
            sqlite_where=text("township_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    # None: a city department, offered in every township.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    # Who to call and how: printed on the assignment slip (交办单).
    contact_person: Mapped[str | None] = mapped_column(String(40))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    township: Mapped["Township | None"] = relationship()  # noqa: F821

    @property
    def is_city(self) -> bool:
        return self.township_id is None


class AssignmentState(StrEnum):
    ACTIVE = "active"  # with the department
    RETURNED = "returned"  # 回退: the department says it is not theirs
    REPLIED = "replied"  # 答复 recorded
    WITHDRAWN = "withdrawn"  # 撤回转办: the township took it back (returned_at/return_reason hold when and why)


class ExtensionState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


class Assignment(db.Model):
    """One forwarding (转办) of an opinion to a department, with its clock."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default=AssignmentState.ACTIVE)
    forwarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Local date by which the department must reply.
    due_on: Mapped[date] = mapped_column(Date)
    # What the township asks the department to do (printed on the slip).
    instructions: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)
    # 延期: the department asks for a later date; a chair or staff decides.
    extension_state: Mapped[str | None] = mapped_column(String(12))
    extension_until: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    # 催办
    reminder_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 答复: the department's answer, internal until the township closes
    # the opinion with a public reply.
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    opinion: Mapped["Opinion"] = relationship()  # noqa: F821
    department: Mapped[Department] = relationship()


class Topic(db.Model):
    """专题 (三议一评): a supervision item the deputies track, grouping many opinions.

    Taken from the township government's work report (the commitment and
    the department answering for it), assigned to a professional group,
    tracked through records (kiosk.models.deputy_work.TopicRecord) and
    closed by the deputies' evaluation: planned → tracking → evaluated.
    """

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a city-wide topic.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A TopicStatus; a topic opened to group opinions is tracked at once.
    status: Mapped[str] = mapped_column(String(12), default="tracking", server_default="tracking")
    # The work report's year the topic is taken from (its local year when made otherwise).
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    # What the government committed to in its work report, and who answers for it.
    commitment: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(60))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("professional_groups.id"), index=True)
    # The deputies' closing evaluation: votes and the outcome.
    votes_satisfied: Mapped[int | None] = mapped_column(Integer)
    votes_basic: Mapped[int | None] = mapped_column(Integer)
    votes_unsatisfied: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(Text)
    evaluated_on: Mapped[date | None] = mapped_column(Date)

    group: Mapped["ProfessionalGroup | None"] = relationship()  # noqa: F821
    township: Mapped["Township | None"] = relationship()  # noqa: F821


class RatingSource(StrEnum):
    STATUS_PAGE = "status_page"  # the QR code's page, on a phone
    KIOSK = "kiosk"  # the station's look-up screen
    FOLLOW_UP = "follow_up"  # 回访: staff recording a phone call
    DEPUTY = "deputy"  # a deputy rating the answer to their own 一键通 suggestion


class Rating(db.Model):
    """满意度测评 of a closed opinion: once per receipt and round.

    Made where the constituent gives it (UUID made there), written once. A
    kiosk rating travels to the hub like an opinion; the first rating of a
    round counts, a later one for the same round is kept but not counted.
    """

    __tablename__ = "ratings"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    # Opinion.reopen_count when rated.
    round: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12))
    station_code: Mapped[str | None] = mapped_column(String(8))
    # Follow-up calls only: who recorded it (hub).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Hub: whether this rating is the one that counts for its round.
    counted: Mapped[bool | None] = mapped_column(Boolean)
    # Sync, as for opinions.
    hub_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sync_digest: Mapped[str | None] = mapped_column(String(64))
