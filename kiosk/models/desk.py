"""What deputies keep at their desk (kiosk.desk): notes to the office, attachments, the diary.

All of it is made at the hub by a signed-in deputy and stays there.
"""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class DeskNote(db.Model):
    """A deputy asks the township office to take an opinion addressed to them up (提请办理).

    Internal: shown to the office in the queue and on the opinion's page,
    never on a public page.
    """

    __tablename__ = "desk_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deputy: Mapped["Deputy"] = relationship()  # noqa: F821


class SuggestionAttachment(db.Model):
    """The one attachment of a 一键通 suggestion: an image or a PDF, checked by decoding."""

    __tablename__ = "suggestion_attachments"

    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(120))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DiaryEntry(db.Model):
    """履职日记: a short dated entry of a deputy's own work; private until published.

    A published entry can be withdrawn (private again); ``published_at`` is
    the latest publication.
    """

    __tablename__ = "diary_entries"
    __table_args__ = (Index("ix_diary_entries_deputy_day", "deputy_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"))
    day: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None
