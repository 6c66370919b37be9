"""Townships, stations and the box's own identity."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime


class StationLevel(StrEnum):
    CENTER = "center"  # 中心联络站, one per township
    STATION = "station"  # 联络站, mostly at villages
    POINT = "point"  # 联络点, at a deputy's home or workplace
    # 网上联络站: one per township, with no box. Phone opinions (kiosk.phone)
    # are numbered under its code, so no real station's counter is touched.
    ONLINE = "online"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self.value]

    @classmethod
    def with_box(cls) -> list["StationLevel"]:
        """The levels of stations with a kiosk: every one but the township's online station."""
        return [level for level in cls if level is not cls.ONLINE]


LEVEL_LABELS = {
    "center": "人大代表中心联络站",
    "station": "人大代表联络站",
    "point": "人大代表联络点",
    "online": "人大代表网上联络站",
}
# The station table's check, as SQL (migration 0013 widened it to ``online``).
LEVEL_CHECK = "level in ('center', 'station', 'point', 'online')"


class Township(db.Model):
    __tablename__ = "townships"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    # 镇 or 街道
    kind: Mapped[str] = mapped_column(String(8))
    # The office's phone (镇人大办 / 街道人大工委, see office_name), printed on receipts.
    office_phone: Mapped[str | None] = mapped_column(String(40))

    stations: Mapped[list["Station"]] = relationship(back_populates="township")

    @property
    def is_subdistrict(self) -> bool:
        return self.kind == "街道"

    @property
    def congress_name(self) -> str:
        """Who the opinions go to: a 镇 has its people's congress (XX镇人大); a 街道
        has none of its own, only the district congress's working committee
        (XX街道人大工委)."""
        return f"{self.name}人大工委" if self.is_subdistrict else f"{self.name}人大"

    @property
    def office_name(self) -> str:
        """The office people deal with: XX镇人大办, or XX街道人大工委 (the committee is the office)."""
        return f"{self.name}人大工委" if self.is_subdistrict else f"{self.name}人大办"

    @property
    def office_full_name(self) -> str:
        """The office's formal name, as headed on papers (交办单)."""
        return f"{self.name}人大工作委员会" if self.is_subdistrict else f"{self.name}人民代表大会办公室"


class Station(db.Model):
    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint(LEVEL_CHECK, name="station_level"),
        # A township has at most one online station: its phone opinions' numbers.
        Index(
            "ix_stations_online_township",
            "township_id",
            unique=True,
            sqlite_where=text("level = 'online'"),
            postgresql_where=text("level = 'online'"),
        ),
    )

    # 2 to 8 capital letters or digits; part of every receipt number.
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(8))
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"))
    address: Mapped[str | None] = mapped_column(String(120))

    township: Mapped[Township] = relationship(back_populates="stations")
    deputies: Mapped[list["Deputy"]] = relationship(  # noqa: F821
        secondary="station_deputies", back_populates="stations", order_by="Deputy.id"
    )

    @property
    def serving_deputies(self) -> list["Deputy"]:  # noqa: F821
        """The deputies attached here who have not retired: the ones a station shows and plans."""
        return [d for d in self.deputies if not d.retired]

    @property
    def level_label(self) -> str:
        return StationLevel(self.level).label

    @property
    def is_online(self) -> bool:
        """The township's online station: no box, no kiosk, only a receipt counter."""
        return self.level == StationLevel.ONLINE


class BoxIdentity(db.Model):
    """The single row saying which station this box is (station role only)."""

    __tablename__ = "box_identity"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"))
    # Set by `backup restore`: receipts issued after the backup are unknown
    # here, so the kiosk takes no submit until a sync has re-sent what the hub
    # lacks and raised the receipt counters past the hub's (kiosk.backup).
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    station: Mapped[Station] = relationship()
