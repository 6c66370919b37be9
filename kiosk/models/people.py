"""Deputies, their photos and the stations they are attached to.

The hub keeps the directory. A station holds only its own deputies and only
their public fields (never the private mobile), as the pull brings them.
"""

import secrets
from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, ForeignKey, LargeBinary, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

station_deputies = Table(
    "station_deputies",
    db.metadata,
    Column("station_code", ForeignKey("stations.code", ondelete="CASCADE"), primary_key=True),
    Column("deputy_id", ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
)

# The congress a deputy was elected to, highest first. A 街道 has no congress
# of its own, so a 镇-level deputy never belongs to one.
LEVELS = ("全国", "省", "云浮市", "罗定市", "镇")
TOWNSHIP_LEVEL = "镇"
SEXES = ("男", "女")


def new_public_id() -> str:
    """A deputy's public id (their QR code's address): random, so nobody can count through them."""
    return secrets.token_urlsafe(9)


class Deputy(db.Model):
    __tablename__ = "deputies"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True, default=new_public_id)
    name: Mapped[str] = mapped_column(String(40))
    sex: Mapped[str | None] = mapped_column(String(2))
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"))
    level: Mapped[str] = mapped_column(String(8), default=TOWNSHIP_LEVEL)
    # e.g. 村党支部书记, 个体工商户
    occupation: Mapped[str | None] = mapped_column(String(60))
    # Private: for staff only, never sent to a station. Import matches on it.
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    # Shown at the stations; may be empty.
    public_phone: Mapped[str | None] = mapped_column(String(20))
    # The SHA-256 of the photo (content-addressed: a station fetches it once).
    photo: Mapped[str | None] = mapped_column(ForeignKey("deputy_photos.sha256"))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    # Kept, never deleted: opinions and shifts still name them. Stations drop them.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    # The duty PIN's slow salted hash (scrypt), never the PIN: it opens deputy
    # mode at the kiosk and nothing else. Travels to their stations in the pull.
    pin_hash: Mapped[str | None] = mapped_column(String(200))

    stations: Mapped[list["Station"]] = relationship(  # noqa: F821
        secondary=station_deputies, back_populates="deputies", order_by="Station.code"
    )

    @property
    def phone(self) -> str | None:
        """The number a constituent may call: the public one."""
        return self.public_phone

    @property
    def initial(self) -> str:
        """The first character of the name: the placeholder where there is no photo."""
        return self.name[:1]


class DeputyPhoto(db.Model):
    """A deputy's photo, JPEG, at most 600 px, without EXIF; named by its SHA-256."""

    __tablename__ = "deputy_photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
