"""Failures counted against a limit: wrong PINs, wrong 验证码 (``kiosk.limits``)."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class LimitFailure(db.Model):
    """One failure of one kind (``sync-admin-pin``, ``lookup-number``...) for one key.

    Kept in the database so that every worker process sees the same counts
    and a restart forgets none; rows older than their limit's reach are
    deleted as new failures come.
    """

    __tablename__ = "limit_failures"
    __table_args__ = (Index("ix_limit_failures_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
