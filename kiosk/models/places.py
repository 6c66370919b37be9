"""Townships, stations and the box's own identity."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class StationLevel(StrEnum):
    CENTER = "center"  # 中心联络站, one per township
    STATION = "station"  # 联络站, mostly at villages
    POINT = "point"  # 联络点, at a deputy's home or workplace

    @property
    def label(self) -> str:
        return {"center": "人大代表中心联络站", "station": "人大代表联络站", "point": "人大代表联络点"}[self.value]


class Township(db.Model):
    __tablename__ = "townships"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    # 镇 or 街道
    kind: Mapped[str] = mapped_column(String(8))
    # The township people's congress office (镇人大办), printed on receipts.
    office_phone: Mapped[str | None] = mapped_column(String(40))

    stations: Mapped[list["Station"]] = relationship(back_populates="township")


class Station(db.Model):
    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint("level in ('center', 'station', 'point')", name="station_level"),
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
    def level_label(self) -> str:
        return StationLevel(self.level).label


class BoxIdentity(db.Model):
    """The single row saying which station this box is (station role only)."""

    __tablename__ = "box_identity"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"))

    station: Mapped[Station] = relationship()
