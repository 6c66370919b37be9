"""Staff accounts at the hub, their sessions, login attempts and the audit log."""

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class Role(StrEnum):
    CITY = "city"  # 市人大常委会: every township; manages the set-up
    CHAIR = "chair"  # 镇人大主席/副主席: township staff plus key supervision
    TOWNSHIP = "township"  # 镇人大办: their own township only
    DEPUTY = "deputy"  # 人大代表: their own desk (kiosk.desk), nothing of the staff pages

    @property
    def label(self) -> str:
        return {"city": "市人大常委会", "chair": "镇人大主席/副主席", "township": "镇人大办", "deputy": "人大代表"}[
            self.value
        ]


# The township office's and the city's roles: the staff pages are theirs alone.
STAFF_ROLES = frozenset({Role.CITY, Role.CHAIR, Role.TOWNSHIP})


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role in ('city', 'chair', 'township', 'deputy')", name="user_role"),
        CheckConstraint("role = 'city' or township_id is not null", name="user_township"),
        # A deputy's account is tied to one deputy of the directory, and only theirs is.
        CheckConstraint("(role = 'deputy') = (deputy_id is not null)", name="user_deputy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(40))
    # Werkzeug scrypt hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(8))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deputies only: the directory's deputy this account is (one account each).
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"), unique=True)
    # A one-time activation code (its SHA-256) until the first sign-in sets
    # the password; the account has no usable password meanwhile.
    activation_hash: Mapped[str | None] = mapped_column(String(64))
    activation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The desk's badge counts what changed after this (the last visit).
    desk_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    township: Mapped["Township | None"] = relationship()  # noqa: F821
    deputy: Mapped["Deputy | None"] = relationship()  # noqa: F821

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_city(self) -> bool:
        return self.role == Role.CITY

    @property
    def is_chair(self) -> bool:
        return self.role == Role.CHAIR

    @property
    def is_deputy(self) -> bool:
        return self.role == Role.DEPUTY


class StaffSession(db.Model):
    """A signed-in session, held on the server so logging out ends it.

    The browser's cookie carries a random token; only its SHA-256 is kept.
    """

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """Every login attempt, for throttling per account and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(db.Model):
    """Append-only: who did what, when, to what, with the values before and after.

    Rows are never updated or deleted (``kiosk.audit`` refuses both), and
    each carries the hash of the one before it, so that an edit or a
    deletion made behind the application's back shows (``flask audit verify``).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_opinion_at", "opinion_uuid", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
        # One successor per row: two writers that raced would fork the chain.
        UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Copied, so the log reads the same after an account is renamed.
    username: Mapped[str | None] = mapped_column(String(40))
    # e.g. "accept", "forward", "denied", "category.update"
    action: Mapped[str] = mapped_column(String(40))
    opinion_uuid: Mapped[str | None] = mapped_column(String(36))
    # What else it concerns, e.g. "department:3", "township:5".
    subject: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(45))
    # SHA-256 of the previous row's ``row_hash`` chain ("0" * 64 for the first),
    # and of this row's canonical form with it (``kiosk.audit.row_hash``).
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    user: Mapped[User | None] = relationship()
