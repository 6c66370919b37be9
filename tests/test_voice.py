"""说话留言 at the station: the recording checked, kept with the draft, said on the receipt.

Real recordings (WebM/Opus made by Debian's ffmpeg, checked by its ffprobe),
the kiosk's screens through the Flask test client, a real SQLite database.
"""

import csv
import hashlib
import io
import re
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from kiosk import voice
from kiosk.extensions import db
from kiosk.intake import services as intake
from kiosk.sync.records import RECORD_TYPES, BadRecord
from kiosk.models import AuditEntry, Draft, Opinion, VoiceMessage, utcnow
from kiosk.receipts.pdf import receipt_html
from kiosk.receipts.services import receipt_context
from tests.support.desk import Desk
from tests.support.factories import make_draft, receive_opinion
from tests.support.voice import webm
from tests.support.web import text

HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def spoken():
    """Three seconds of speech, as the kiosk's browser records it."""
    return webm(3)


class Visitor:
    """Someone at the kiosk who speaks instead of writing."""

    def __init__(self, client):
        self.client = client
        page = client.get("/").get_data(as_text=True)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def post(self, path, **fields):
        return self.client.post(path, data={"csrf_token": self.token, **fields}, headers=HTMX)

    def keep(self, data: bytes, content_type: str = "audio/webm"):
        """保留: the browser sends the recording as the request's body."""
        return self.client.post(
            "/opinion/voice", data=data, headers={**HTMX, "X-CSRFToken": self.token, "Content-Type": content_type}
        )

    def to_content_step(self):
        self.post("/opinion/start")
        return self.post("/opinion/category", category="road")

    def draft_id(self):
        with self.client.session_transaction() as session:
            return session.get("draft_id")


@pytest.fixture
def visitor(client):
    return Visitor(client)


def kept(app, draft_id):
    with app.app_context():
        voice = db.session.get(VoiceMessage, draft_id)
        return None if voice is None else (voice.sha256, voice.size, voice.duration_ms, voice.data)


def test_a_kept_recording_lets_the_text_be_empty_and_is_said_on_the_receipt(app, visitor, spoken):
    page = visitor.to_content_step()
    assert 'data-testid="voice-record"' in text(page)
    answer = visitor.keep(spoken)
    assert answer.status_code == 200
    assert "已附语音留言（3 秒）" in text(answer)
    sha, size, duration_ms, data = kept(app, visitor.draft_id())
    assert (size, data) == (len(spoken), spoken)
    assert 2900 <= duration_ms <= 3100
    # Played back from the station for this visit's draft only.
    played = visitor.client.get("/opinion/voice")
    assert played.mimetype == "audio/webm" and played.data == spoken
    # No text at all: the recording is the opinion.
    page = visitor.post("/opinion/content", content="")
    assert 'data-testid="consent"' in text(page) or "联系方式" in text(page)
    visitor.post("/opinion/contact", anonymous="1")
    review = visitor.post("/opinion/deputy", deputy_id="")
    assert "附语音留言（3 秒）" in text(review)
    receipt = visitor.post("/opinion/submit")
    assert 'data-testid="receipt-voice"' in text(receipt) and "附语音留言（3 秒）" in text(receipt)
    number = re.search(r'data-testid="receipt-number">([^<]+)<', text(receipt)).group(1)
    with app.app_context():
        opinion = db.session.query(Opinion).filter_by(receipt_number=number).one()
        assert opinion.content == "" and opinion.voice.sha256 == sha
        printed = receipt_html(receipt_context(opinion, "https://rd.example.cn/r/x"))
        assert "附语音留言（3 秒）" in printed
    # Going home after the receipt keeps the submitted opinion's recording.
    visitor.post("/opinion/restart")
    assert kept(app, opinion.uuid) is not None


def test_without_a_recording_the_minimum_length_still_holds(visitor):
    visitor.to_content_step()
    page = visitor.post("/opinion/content", content="路灯")
    assert "请至少写 5 个字" in text(page)


def test_a_bad_file_is_refused_and_nothing_else_is_lost(app, visitor, spoken):
    visitor.to_content_step()
    visitor.keep(spoken)
    before = kept(app, visitor.draft_id())
    bad_files = {
        "not audio": (b"%PDF-1.7 not a recording at all" * 10, "收到的不是录音文件"),
        "cut short": (spoken[: len(spoken) // 3], "录音文件已损坏或不完整"),
        "empty": (b"", "没有收到录音"),
        "a header and nothing": (spoken[:40] + b"\x00" * 400, "录音文件"),
    }
    for what, (data, message) in bad_files.items():
        answer = visitor.keep(data)
        assert answer.status_code == 200 and message in text(answer), what
        # The recording kept before is still kept, the draft still there.
        assert kept(app, visitor.draft_id()) == before, what
    with app.app_context():
        assert db.session.get(Draft, visitor.draft_id()) is not None


def test_a_recording_too_long_or_too_large_is_refused(app, visitor):
    app.config.update(VOICE_MAX_SECONDS=2, VOICE_MAX_BYTES=8000)
    visitor.to_content_step()
    answer = visitor.keep(webm(4))
    assert "录音文件太大" in text(answer)
    app.config.update(VOICE_MAX_BYTES=1024 * 1024)
    answer = visitor.keep(webm(4))
    assert "录音太长了：最多 2 秒，这段有 4 秒" in text(answer)
    assert kept(app, visitor.draft_id()) is None


def test_a_track_other_than_opus_is_refused(app, visitor):
    vorbis = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "libvorbis", "-f", "webm", "pipe:1"],
        check=True, capture_output=True,
    ).stdout
    visitor.to_content_step()
    assert "应为 Opus" in text(visitor.keep(vorbis))
    assert kept(app, visitor.draft_id()) is None


def test_redo_forgets_the_recording_and_the_text_is_needed_again(app, visitor, spoken):
    visitor.to_content_step()
    visitor.keep(spoken)
    answer = visitor.post("/opinion/voice/delete")
    assert 'data-testid="voice-record"' in text(answer)
    assert kept(app, visitor.draft_id()) is None
    assert "请至少写 5 个字" in text(visitor.post("/opinion/content", content=""))


def test_start_over_wipes_the_recording_with_the_draft(app, visitor, spoken):
    visitor.to_content_step()
    visitor.keep(spoken)
    draft_id = visitor.draft_id()
    visitor.post("/opinion/restart")
    assert kept(app, draft_id) is None


def test_the_recording_needs_the_page_token(app, visitor, spoken):
    visitor.to_content_step()
    answer = visitor.client.post("/opinion/voice", data=spoken, headers={**HTMX, "Content-Type": "audio/webm"})
    assert answer.status_code == 400 or "页面已过期" in text(answer) or "expired" in text(answer).lower()
    assert kept(app, visitor.draft_id()) is None


# --- at the hub: play, 转写, search, export --------------------------------------------------


def spoken_at_hub(hub, recording: bytes, confirmed: bool = True) -> Opinion:
    """A spoken opinion the hub holds, its recording in whole (or still arriving)."""
    with hub.app_context():
        opinion = receive_opinion("LC00", content="请听我的录音。")
        db.session.add(
            VoiceMessage(
                opinion_uuid=opinion.uuid, sha256=hashlib.sha256(recording).hexdigest(), size=len(recording),
                duration_ms=3000, data=recording if confirmed else b"", confirmed_at=utcnow() if confirmed else None,
            )
        )  # fmt: skip
        db.session.commit()
        return SimpleNamespace(uuid=opinion.uuid, receipt_number=opinion.receipt_number)


def test_staff_play_a_voice_message_and_transcribe_it_for_search_and_export(hub, clerk, spoken):
    opinion = spoken_at_hub(hub, spoken)
    page = text(clerk.get(f"/staff/opinions/{opinion.uuid}"))
    assert "语音留言（3 秒）" in page and 'data-testid="voice-player"' in page
    played = clerk.get(f"/staff/opinions/{opinion.uuid}/voice.webm")
    assert played.status_code == 200 and played.mimetype == "audio/webm" and played.data == spoken
    assert "no-store" in played.headers["Cache-Control"]
    saved = clerk.post(f"/staff/opinions/{opinion.uuid}/transcript", {"transcript": "村尾水渠堵塞，下雨就淹田。"}, htmx=True)
    assert "转写已保存" in text(saved)
    # Found by a word of the transcript, exported with it.
    found = text(clerk.get("/staff/?text=水渠堵塞&status=all"))
    assert opinion.receipt_number in found
    rows = list(csv.reader(io.StringIO(clerk.get("/staff/stats/export?format=csv&status=all&text=水渠").get_data(as_text=True).lstrip("\ufeff"))))
    row = next(r for r in rows if r[0] == opinion.receipt_number)
    header = rows[0]
    assert row[header.index("语音（秒）")] == "3" and row[header.index("转写")] == "村尾水渠堵塞，下雨就淹田。"
    with hub.app_context():
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "voice.transcribe")).all()
        assert [a.after for a in audit] == [{"transcript": "村尾水渠堵塞，下雨就淹田。"}]


def test_a_transcript_too_long_is_refused_and_city_staff_do_not_transcribe(hub, clerk, spoken):
    opinion = spoken_at_hub(hub, spoken)
    answer = clerk.post(f"/staff/opinions/{opinion.uuid}/transcript", {"transcript": "字" * 2001}, htmx=True)
    assert answer.status_code == 200 and "转写太长了" in text(answer)
    city = Desk(hub, role="city", township=None)
    assert 'data-testid="transcript"' not in text(city.get(f"/staff/opinions/{opinion.uuid}"))
    refused = city.post(f"/staff/opinions/{opinion.uuid}/transcript", {"transcript": "市里写的"}, htmx=True)
    assert "市人大常委会只督办" in text(refused)
    with hub.app_context():
        assert db.session.get(VoiceMessage, opinion.uuid).transcript is None


def test_a_recording_still_arriving_is_not_played(hub, clerk, spoken):
    opinion = spoken_at_hub(hub, spoken, confirmed=False)
    assert "录音还在从联络站传来" in text(clerk.get(f"/staff/opinions/{opinion.uuid}"))
    assert clerk.get(f"/staff/opinions/{opinion.uuid}/voice.webm").status_code == 404


def test_a_draft_left_behind_takes_its_recording_with_it(app, spoken):
    with app.app_context():
        draft = make_draft(content="")
        draft_id = draft.id
        intake.keep_voice(draft, voice.check(spoken))
        assert db.session.get(VoiceMessage, draft_id) is not None
        assert intake.purge_stale_drafts(timedelta(0)) == 1
        assert db.session.get(VoiceMessage, draft_id) is None


def test_the_hub_refuses_a_record_naming_a_recording_beyond_the_limits(app):
    record = {
        "uuid": "0b7e6a5c-2d1f-4c3b-9a8e-7f6d5c4b3a21", "receipt_number": "LC00-261206-0001", "secret": "ABCDEF",
        "station_code": "LC00", "category": "road", "content": "", "deputy_id": None, "consent_version": None,
        "contact_name": None, "contact_phone": None, "created_at": "2026-12-06T01:00:00.000000Z",
    }  # fmt: skip
    named = [
        ({"sha256": "A" * 64, "size": 100, "duration_ms": 3000}, "sha256"),
        ({"sha256": "a" * 64, "size": 2 * 1024 * 1024, "duration_ms": 3000}, "size"),
        ({"sha256": "a" * 64, "size": 100, "duration_ms": 121_000}, "duration_ms"),
        ({"sha256": "a" * 64, "size": 100}, "voice must be"),
    ]
    with app.app_context():
        for voice_named, problem in named:
            with pytest.raises(BadRecord, match=problem):
                RECORD_TYPES["opinion"].clean({**record, "voice": voice_named}, "LC00")
        # Named well, the text may be empty.
        good = {"sha256": "a" * 64, "size": 100, "duration_ms": 3000}
        assert RECORD_TYPES["opinion"].clean({**record, "voice": good}, "LC00")["content"] == ""
