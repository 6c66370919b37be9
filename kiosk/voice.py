"""Voice messages (说话留言): what a recording must be, and keeping it with a draft.

The kiosk's browser records WebM with one Opus track (MediaRecorder, about
24 kbit/s). Whatever arrives, at the station from the browser or at the hub
from a station, is checked the same way before it is kept: a WebM file (its
EBML DocType), exactly one audio track and it Opus, no other track, its
duration read from the packets themselves (Chromium's recorder writes no
duration in the header) within ``VOICE_MAX_SECONDS``, and at most
``VOICE_MAX_BYTES``.

The file is read by ``ffprobe`` from Debian's ffmpeg, in a process of its
own with a time limit: a demuxer fed hostile bytes then cannot take the
kiosk down with it or hang it, the container parser is the one Debian keeps
patched, and the same tool decodes what the tests listen to.
"""

import hashlib
import logging
import subprocess
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from .extensions import db
from .models import VoiceMessage
from .refusals import Refused

log = logging.getLogger(__name__)

MIME_TYPE = "audio/webm"
# The browser stops at the limit; its last packet may end a little after it.
DURATION_GRACE_MS = 500
PROBE_SECONDS = 15
# The EBML header of a WebM file names its DocType within its first bytes.
WEBM_DOCTYPE = b"\x42\x82\x84webm"


class VoiceRefused(Refused):
    """A recording that is not kept; ``message`` says why, for the villager or the log."""


@dataclass(frozen=True)
class Recording:
    data: bytes
    sha256: str
    duration_ms: int

    @property
    def size(self) -> int:
        return len(self.data)


def limits() -> tuple[int, int]:
    """(most seconds, most bytes) a recording may have."""
    config = current_app.config
    return int(config["VOICE_MAX_SECONDS"]), int(config["VOICE_MAX_BYTES"])


def check(data: bytes) -> Recording:
    """The recording, once ``data`` has passed every rule above; else ``VoiceRefused``."""
    max_seconds, max_bytes = limits()
    if not data:
        raise VoiceRefused("没有收到录音，请再录一次。")
    if len(data) > max_bytes:
        raise VoiceRefused(f"录音文件太大（最多 {max_bytes // 1024} KB），请说得简短一些再录。")
    if not data.startswith(b"\x1a\x45\xdf\xa3") or WEBM_DOCTYPE not in data[:64]:
        raise VoiceRefused("收到的不是录音文件，请再录一次。")
    duration_ms = probe_duration_ms(data)
    if duration_ms > max_seconds * 1000 + DURATION_GRACE_MS:
        raise VoiceRefused(f"录音太长了：最多 {max_seconds} 秒，这段有 {round(duration_ms / 1000)} 秒。请重录。")
    return Recording(data, hashlib.sha256(data).hexdigest(), duration_ms)


def probe_duration_ms(data: bytes) -> int:
    """The duration of a WebM with one Opus track, from its packets; else ``VoiceRefused``."""
    try:
        result = subprocess.run(
            [
                "ffprobe", "-v", "error", "-of", "compact",
                "-show_entries", "stream=codec_type,codec_name:format=format_name:packet=pts,duration",
                "-i", "pipe:0",
            ],
            input=data,
            capture_output=True,
            timeout=PROBE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        log.warning("ffprobe took longer than %s s over a recording of %d bytes", PROBE_SECONDS, len(data))
        raise VoiceRefused("录音文件无法读取，请再录一次。")
    except OSError:
        log.exception("ffprobe could not run (is Debian's ffmpeg installed?)")
        raise VoiceRefused("本机暂时不能检查录音，请改用文字留言，并告诉工作人员。")
    if result.returncode != 0 or result.stderr.strip():
        log.info("recording refused by ffprobe: %s", result.stderr.decode(errors="replace")[:300])
        raise VoiceRefused("录音文件已损坏或不完整，请再录一次。")
    # One line a section: "packet|pts=40|duration=20", "stream|codec_name=opus|codec_type=audio", "format|…".
    sections: dict[str, list[dict]] = {}
    for line in result.stdout.decode(errors="replace").splitlines():
        kind, _, rest = line.partition("|")
        sections.setdefault(kind, []).append(dict(field.partition("=")[::2] for field in rest.split("|")))
    streams, formats = sections.get("stream", []), sections.get("format", [])
    if not formats or "webm" not in formats[0].get("format_name", "") or len(streams) != 1:
        raise VoiceRefused("收到的文件不是一段单独的录音，请再录一次。")
    if streams[0].get("codec_type") != "audio" or streams[0].get("codec_name") != "opus":
        raise VoiceRefused("录音的格式不对（应为 Opus），请再录一次。")
    # Matroska times are milliseconds (the default TimecodeScale Chromium writes).
    end = max((_whole(p.get("pts")) + _whole(p.get("duration")) for p in sections.get("packet", [])), default=0)
    if end <= 0:
        raise VoiceRefused("录音是空的，请对着话筒再录一次。")
    return end


def _whole(value: str | None) -> int:
    """A packet's time, or 0 where ffprobe has none (N/A)."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


# --- at the station: a recording kept with a draft ---------------------------


def keep(opinion_uuid: str, recording: Recording) -> VoiceMessage:
    """Keep ``recording`` for the draft (its id is the opinion's UUID to be), replacing any before."""
    db.session.execute(delete(VoiceMessage).where(VoiceMessage.opinion_uuid == opinion_uuid))
    voice = VoiceMessage(
        opinion_uuid=opinion_uuid,
        sha256=recording.sha256,
        size=recording.size,
        duration_ms=recording.duration_ms,
        data=recording.data,
    )
    db.session.add(voice)
    db.session.commit()
    log.info("voice message of %d ms kept for draft %s", recording.duration_ms, opinion_uuid)
    return voice


def of(opinion_uuid: str | None) -> VoiceMessage | None:
    """The recording kept for this draft or opinion, without its bytes."""
    return db.session.get(VoiceMessage, opinion_uuid) if opinion_uuid else None


def audio(opinion_uuid: str) -> bytes | None:
    """The recording's bytes, while this box holds them."""
    return db.session.scalar(select(VoiceMessage.data).where(VoiceMessage.opinion_uuid == opinion_uuid))


def drop(opinion_uuid: str | None, commit: bool = True) -> None:
    """Forget the recording of a draft (redo, start over, idle wipe). Missing is fine."""
    if opinion_uuid:
        db.session.execute(delete(VoiceMessage).where(VoiceMessage.opinion_uuid == opinion_uuid))
        if commit:
            db.session.commit()
