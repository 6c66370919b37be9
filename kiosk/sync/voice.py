"""Voice messages on the link: content-addressed, in chunks, resumable, confirmed by hash.

An opinion's record names its recording (SHA-256, size, duration); the hub
stores that with the record. Once the record is acknowledged, the station
sends the bytes in chunks to ``/api/v1/sync/voice/<sha256>/<offset>``, each
request signed like a push. The hub appends a chunk only at the offset it
has reached, and answers with how far it has got, so a sync cut in the
middle resumes where the hub stopped, not from the start. With the last
chunk the hub checks the whole file: its SHA-256 against the name, and the
file itself as the station did (WebM, one Opus track, its duration from the
packets, the duration the record declared). Only then does it say
``confirmed``, and only on that signed word, once a backup of the hub holds
it too, does the station delete its copy, as it does with contact details
(``kiosk.sync.station.forget_personal_data``). The USB bundle carries whole
files the same way (``bundle_voices``, ``take_bundled``).
"""

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from .. import voice
from ..clock import from_millis, now
from ..extensions import db
from ..models import Opinion, SetAsideRecord, VoiceMessage
from .client import HubRefused
from .registry import SyncError

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
# The station's and the hub's reading of the same file agree to the packet;
# a little slack for a hub whose ffprobe is a newer one.
DURATION_TOLERANCE_MS = 100


class VoiceBad(Exception):
    """The hub holds every byte of a recording, and it is not the one named: discarded, to be sent again."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# --- hub ----------------------------------------------------------------------


def _held(station_code: str, sha256: str) -> list[VoiceMessage]:
    """This station's voice messages by SHA-256 (the same bytes twice are stored twice)."""
    return list(
        db.session.scalars(
            select(VoiceMessage)
            .join(Opinion, Opinion.uuid == VoiceMessage.opinion_uuid)
            .where(VoiceMessage.sha256 == sha256, Opinion.station_code == station_code)
            .order_by(VoiceMessage.opinion_uuid)
        )
    )


def receive_chunk(station_code: str, sha256: str, offset: int, chunk: bytes) -> dict:
    """Append ``chunk`` at ``offset`` when that is where the hub stands; say how far it has got.

    In the caller's transaction. A chunk at any other offset changes
    nothing (the answer tells the station where to go on). ``VoiceBad``
    after the last chunk: the bytes were discarded and the caller commits that.
    """
    rows = _held(station_code, sha256)
    if not rows:
        raise SyncError(404, "unknown_voice", "镇人大办没有收到这段录音所属的意见，请先同步意见 (no opinion names this recording)")
    first = rows[0]
    # Erased under retention: never taken again (the station may still be sending what it kept).
    if first.confirmed_at is not None or first.erased_at is not None:
        return answer(sha256, first.size, True)
    held = first.data or b""
    if offset != len(held) or not chunk:
        return answer(sha256, len(held), False)
    if len(held) + len(chunk) > first.size:
        raise SyncError(413, "voice_too_large", f"录音比记录所说的 {first.size} 字节长 (more bytes than the record declared)")
    return _keep(rows, held + chunk)


def take_whole(station_code: str, sha256: str, data: bytes) -> dict:
    """A whole recording carried by USB stick: kept as if its last chunk had just arrived."""
    rows = _held(station_code, sha256)
    if not rows:
        raise SyncError(404, "unknown_voice", "镇人大办没有收到这段录音所属的意见")
    if rows[0].confirmed_at is not None or rows[0].erased_at is not None:
        return answer(sha256, rows[0].size, True)
    if len(data) != rows[0].size:
        raise VoiceBad("voice_mismatch", "录音的大小与记录不符")
    return _keep(rows, data)


def _keep(rows: list[VoiceMessage], data: bytes) -> dict:
    first = rows[0]
    complete = len(data) == first.size
    if complete:
        try:
            _check_whole(first, data)
        except VoiceBad:
            for row in rows:
                row.data = b""
            db.session.flush()
            raise
    moment = now() if complete else None
    for row in rows:
        row.data, row.confirmed_at = data, moment
    db.session.flush()
    if complete:
        log.info("voice message %s (%d bytes, %d ms) confirmed", first.sha256[:12], first.size, first.duration_ms)
    return answer(first.sha256, len(data), complete)


def _check_whole(named: VoiceMessage, data: bytes) -> None:
    if hashlib.sha256(data).hexdigest() != named.sha256:
        raise VoiceBad("voice_mismatch", "收到的录音与其 SHA-256 不符，已丢弃，请重新发送")
    try:
        recording = voice.check(data)
    except voice.VoiceRefused as refused:
        raise VoiceBad("voice_refused", f"录音不合要求：{refused.message}")
    if abs(recording.duration_ms - named.duration_ms) > DURATION_TOLERANCE_MS:
        raise VoiceBad(
            "voice_refused", f"录音时长 {recording.duration_ms} 毫秒，与记录所说的 {named.duration_ms} 毫秒不符"
        )


def answer(sha256: str, received: int, confirmed: bool) -> dict:
    return {"sha256": sha256, "received": received, "confirmed": confirmed}


# --- station ------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    opinion_uuid: str
    sha256: str
    size: int


def waiting() -> list[Waiting]:
    """Recordings the hub has not confirmed, of opinions it holds (their records go first)."""
    rows = db.session.execute(
        select(VoiceMessage.opinion_uuid, VoiceMessage.sha256, VoiceMessage.size)
        .join(Opinion, Opinion.uuid == VoiceMessage.opinion_uuid)
        .where(
            Opinion.acknowledged_at.is_not(None),
            VoiceMessage.confirmed_at.is_(None),
            VoiceMessage.data.is_not(None),
            VoiceMessage.opinion_uuid.not_in(select(SetAsideRecord.uuid).where(SetAsideRecord.record_type == "voice")),
        )
        .order_by(Opinion.created_at)
    ).all()
    db.session.commit()  # end the read: the hub is slow next to the database
    return [Waiting(*row) for row in rows]


def held_count() -> int:
    """Recordings of submitted opinions this box holds until the hub confirms them."""
    return db.session.scalar(
        select(func.count())
        .select_from(VoiceMessage)
        .join(Opinion, Opinion.uuid == VoiceMessage.opinion_uuid)
        .where(VoiceMessage.confirmed_at.is_(None), VoiceMessage.data.is_not(None))
    )


class AnswerMalformed(Exception):
    """The hub's signed answer about a recording is not what this station asked about."""


def push_voices(hub, progress=lambda message: None) -> int:
    """Send every waiting recording, resuming each where the hub stands; return how many were confirmed.

    ``hub`` is the station's ``HubClient``. Failures of the link propagate
    (the sync records them); a recording the hub refuses is set aside.
    """
    confirmed = 0
    for item in waiting():
        data = voice.audio(item.opinion_uuid)
        db.session.commit()
        if data is None or hashlib.sha256(data).hexdigest() != item.sha256:
            log.error("voice message of %s does not match its SHA-256 on this box; not sent", item.opinion_uuid)
            continue
        try:
            done = _send(hub, item, data, progress)
        except HubRefused as refused:
            if refused.code == "voice_mismatch":
                # Spoilt on the way (this box checked its copy): sent again from the start next time.
                log.warning("voice message of %s arrived spoilt at the hub; to be sent again", item.opinion_uuid)
                continue
            if refused.code != "voice_refused":
                raise
            set_aside(item.opinion_uuid, refused.code, refused.message)
            continue
        if done:
            # The hub's time: a backup's time is the hub's, and this box's clock may jump.
            confirm(item.opinion_uuid, item.sha256, now() + timedelta(milliseconds=hub.offset_ms))
            confirmed += 1
    return confirmed


def _send(hub, item: Waiting, data: bytes, progress) -> bool:
    reply = _checked(hub.send_bytes(f"voice/{item.sha256}/0", b""), item)
    while not reply["confirmed"]:
        offset = reply["received"]
        chunk = data[offset : offset + CHUNK_BYTES]
        if not chunk:
            raise AnswerMalformed(f"the hub holds {offset} bytes of a recording of {item.size} and has not confirmed it")
        reply = _checked(hub.send_bytes(f"voice/{item.sha256}/{offset}", chunk), item)
        if not reply["confirmed"] and reply["received"] <= offset:
            raise AnswerMalformed(f"the hub did not take the chunk at {offset} of recording {item.sha256[:12]}")
        progress(f"录音已送出 {reply['received'] * 100 // item.size}%")
    return True


def _checked(reply: dict, item: Waiting) -> dict:
    received, confirmed = reply.get("received"), reply.get("confirmed")
    if reply.get("sha256") != item.sha256 or type(received) is not int or not 0 <= received <= item.size:
        raise AnswerMalformed(f"the hub's answer about recording {item.sha256[:12]} is malformed")
    if type(confirmed) is not bool or (confirmed and received != item.size):
        raise AnswerMalformed(f"the hub's answer about recording {item.sha256[:12]} is malformed")
    return reply


def confirm(opinion_uuid: str, sha256: str, at: datetime) -> bool:
    """The hub holds these bytes since ``at`` (by the hub's clock): not sent
    again. Only on a verified answer.

    This box's copy goes when a backup of the hub made after ``at`` holds it
    too (``kiosk.sync.station.forget_personal_data``, on the next answer)."""
    changed = db.session.execute(
        update(VoiceMessage)
        .where(
            VoiceMessage.opinion_uuid == opinion_uuid,
            VoiceMessage.sha256 == sha256,
            VoiceMessage.confirmed_at.is_(None),
        )
        .values(confirmed_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if changed:
        log.info("voice message of %s confirmed by the hub", opinion_uuid)
    return bool(changed)


def set_aside(opinion_uuid: str, reason: str, detail: str) -> None:
    """A recording the hub refuses as a whole: kept here, shown on the sync screen, not sent again."""
    db.session.merge(SetAsideRecord(uuid=opinion_uuid, record_type="voice", reason=reason[:40], detail=detail, at=now()))
    db.session.commit()
    log.warning("voice message of %s refused by the hub: %s", opinion_uuid, detail)


# --- by USB stick -------------------------------------------------------------


def bundle_voices(opinion_uuids: set[str]) -> list[dict]:
    """Every unconfirmed recording of the opinions in a bundle or already at the hub, whole."""
    rows = db.session.execute(
        select(VoiceMessage.opinion_uuid, VoiceMessage.sha256, VoiceMessage.data)
        .join(Opinion, Opinion.uuid == VoiceMessage.opinion_uuid)
        .where(VoiceMessage.confirmed_at.is_(None), VoiceMessage.data.is_not(None))
        .where(Opinion.acknowledged_at.is_not(None) | Opinion.uuid.in_(list(opinion_uuids)))
    ).all()
    return [{"opinion_uuid": u, "sha256": sha, "data": base64.b64encode(data).decode()} for u, sha, data in rows]


def take_bundled(station_code: str, carried) -> dict[str, dict]:
    """The recordings a station bundle carries, kept like chunked ones; the answer per SHA-256."""
    answers: dict[str, dict] = {}
    for item in carried if isinstance(carried, list) else []:
        sha = item.get("sha256") if isinstance(item, dict) else None
        if not isinstance(sha, str) or sha in answers:
            continue
        try:
            data = base64.b64decode(item.get("data") or "", validate=True)
            with db.session.begin_nested():
                answers[sha] = take_whole(station_code, sha, data)
        except (binascii.Error, ValueError, TypeError):
            answers[sha] = {"sha256": sha, "refused": "voice_mismatch", "message": "录音数据损坏"}
        except VoiceBad as bad:
            answers[sha] = {"sha256": sha, "refused": bad.code, "message": bad.message}
        except SyncError as error:
            answers[sha] = {"sha256": sha, "refused": error.code, "message": error.message}
    return answers


def apply_bundled_answers(answers, hub_time) -> int:
    """The hub's word on each carried recording: confirmed ones not sent again, refused ones set aside."""
    if not isinstance(answers, dict) or not answers:
        return 0
    try:
        at = from_millis(hub_time)
    except (TypeError, ValueError, OverflowError):
        raise AnswerMalformed("the answer file lacks the hub's time")
    confirmed = 0
    for sha, said in answers.items():
        if not isinstance(said, dict):
            continue
        for opinion_uuid in db.session.scalars(select(VoiceMessage.opinion_uuid).where(VoiceMessage.sha256 == sha)):
            if said.get("confirmed") is True:
                confirmed += confirm(opinion_uuid, sha, at)
            elif said.get("refused") == "voice_refused":
                set_aside(opinion_uuid, "voice_refused", str(said.get("message")))
    return confirmed
