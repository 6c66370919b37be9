"""The duty roster (值班/接待日): which deputy is on duty at which station, on which day.

Hub-owned: township staff write the roster at the hub. A station holds its
own shifts from today on, in this same table, as the pull's reference data
brings them; nothing at a station writes it otherwise.
"""

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from ..extensions import db
from .places import Station
from .types import UTCDateTime, utcnow


class DutyShift(db.Model):
    """One deputy on duty at one station on one local date (值班)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        # One shift per deputy, station and day. Ordered so the same index
        # serves "this station's shifts in this month" and "today's".
        UniqueConstraint("station_code", "on", "deputy_id", name="uq_duty_shifts_station_on_deputy"),
        CheckConstraint("starts IS NULL OR ends IS NULL OR starts < ends", name="duty_shift_times"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code", ondelete="CASCADE"))
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id", ondelete="CASCADE"), index=True)
    # The local (Asia/Shanghai) date of the shift.
    on: Mapped[date] = mapped_column(Date)
    # Local times, optional (e.g. 09:00–12:00); none means the whole day.
    starts: Mapped[time | None] = mapped_column(Time)
    ends: Mapped[time | None] = mapped_column(Time)
    # Public: shown at the station (e.g. 接待群众、收集意见).
    note: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship()
    deputy: Mapped["Deputy"] = relationship()  # noqa: F821

    @property
    def township_id(self) -> int:
        """The township of the shift's station (whose stations hear of a changed roster)."""
        # A shift not yet flushed has no station loaded; its session knows the station.
        station = self.station or object_session(self).get(Station, self.station_code)
        return station.township_id

    @property
    def hours(self) -> str:
        """The times as people read them: "09:00–12:00", "09:00 起", or "" for the whole day."""
        if self.starts and self.ends:
            return f"{self.starts:%H:%M}–{self.ends:%H:%M}"
        if self.starts:
            return f"{self.starts:%H:%M} 起"
        if self.ends:
            return f"至 {self.ends:%H:%M}"
        return ""
