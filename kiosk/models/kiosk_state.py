"""State the kiosk keeps between screens: drafts and print jobs."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class Draft(db.Model):
    """A half-filled opinion, kept on the server, never in the browser.

    Its id becomes the opinion's UUID on submit, which is what makes a
    second tap on "submit" find the first opinion instead of making another.
    """

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"))
    # JSON object of the answers given so far.
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PrintJob(db.Model):
    """One attempt to print a receipt, followed until CUPS says it is done."""

    __tablename__ = "print_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opinion_uuid: Mapped[str] = mapped_column(ForeignKey("opinions.uuid"), index=True)
    # "first" or "reprint"
    kind: Mapped[str] = mapped_column(String(8), default="first")
    # rendering, queued, printing, printed, failed
    state: Mapped[str] = mapped_column(String(12), default="rendering")
    # Plain words for the screen when something went wrong.
    detail: Mapped[str | None] = mapped_column(Text)
    cups_job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    opinion: Mapped["Opinion"] = relationship()  # noqa: F821
