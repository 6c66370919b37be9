"""Voice messages (说话留言): a recording kept with an opinion.

At the station the recording is written while the opinion is still a draft
(keyed by the draft's id, which becomes the opinion's UUID on submit) and
kept until the hub has confirmed it holds the same bytes (by SHA-256) and a
backup of the hub holds them too; then the station's copy goes, as contact
details do. At the hub it arrives in
chunks after the opinion's record and counts as held only once its hash and
duration are checked. The transcript (转写) is typed at the hub only.
"""

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


def seconds_of(duration_ms: int) -> int:
    """Whole seconds, as the receipt and the screens say them (at least 1)."""
    return max(1, int(duration_ms / 1000 + 0.5))


class VoiceMessage(db.Model):
    __tablename__ = "voice_messages"

    # No foreign key: at the station the row is written while the opinion is a draft.
    opinion_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Written once where it was recorded; the hub checks the bytes against them.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The WebM/Opus bytes. Station: until a backup of the hub holds them (then None).
    # Hub: the chunks received so far, in order, until confirmed.
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # Station: when the hub confirmed the hash, by the hub's clock (not sent again).
    # Hub: when the last chunk arrived and the hash and duration were checked.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hub only: what township staff heard, typed so it can be searched and exported.
    transcript: Mapped[str | None] = mapped_column(Text)
    transcribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hub only: when retention erased the bytes (the transcript stays).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def seconds(self) -> int:
        return seconds_of(self.duration_ms)
