"""Deputies and the stations they are attached to."""

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

station_deputies = Table(
    "station_deputies",
    db.metadata,
    Column("station_code", ForeignKey("stations.code", ondelete="CASCADE"), primary_key=True),
    Column("deputy_id", ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
)


class Deputy(db.Model):
    __tablename__ = "deputies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"))
    # Stations publish their deputies' phone numbers; this one is public.
    phone: Mapped[str | None] = mapped_column(String(20))
    # e.g. 村党支部书记, 个体工商户
    occupation: Mapped[str | None] = mapped_column(String(60))

    stations: Mapped[list["Station"]] = relationship(  # noqa: F821
        secondary=station_deputies, back_populates="deputies"
    )
