"""转写: township staff write down what a voice message says.

The recording is what the constituent left and is never changed; the
transcript is the hub's own field beside it (kiosk.models.voice), so a
spoken opinion can be searched, exported and counted like a written one.
Whoever processes the township's opinions types it; each change is an audit
row with the text before and after.
"""

import logging

from ..audit import record
from ..clock import now
from ..extensions import db
from ..models import CONTENT_MAX, Opinion, User
from ..refusals import Refused
from ..text import clean_text
from .services import may_process

log = logging.getLogger(__name__)


class TranscriptRefused(Refused):
    """Not saved; ``message`` says why."""


def transcribe(actor: User, opinion: Opinion, text: str | None) -> bool:
    """Save the transcript of ``opinion``'s voice message; False when it says the same already."""
    if not may_process(actor):
        raise TranscriptRefused("转写由镇（街道）人大办完成；市人大常委会只督办。")
    spoken = opinion.voice
    if spoken is None:
        raise TranscriptRefused("这条意见没有语音留言。")
    text = clean_text(text or "") or None
    if text is not None and len(text) > CONTENT_MAX:
        raise TranscriptRefused(f"转写太长了：最多 {CONTENT_MAX} 个字，现在有 {len(text)} 个字。", field="transcript")
    if text == spoken.transcript:
        return False
    record(
        "voice.transcribe",
        actor=actor,
        opinion=opinion,
        before={"transcript": spoken.transcript},
        after={"transcript": text},
    )
    spoken.transcript, spoken.transcribed_at = text, now()
    db.session.commit()
    return True
