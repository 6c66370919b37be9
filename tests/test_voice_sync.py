"""Voice messages on the link: after the record, in chunks, resumable, confirmed by hash.

A station and a hub (SQLite and PostgreSQL) in one process through the hub's
test client, real recordings made by ffmpeg and heard again at the hub.
"""

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk import voice
from kiosk.extensions import db
from kiosk.intake import services as intake
from kiosk.models import HubDatabase, Opinion, SetAsideRecord, VoiceMessage, utcnow
from kiosk.sync import hub as hub_sync
from kiosk.sync import station as station_sync
from kiosk.sync import voice as voice_sync
from kiosk.sync.client import HubRefused, LinkDown
from tests.support.factories import make_draft
from tests.support.voice import heard, webm


# The rules below are the hub's code alone: on SQLite only (the first two tests run on PostgreSQL too).
SQLITE_HUB = pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def spoken():
    return webm(3)


def speak(station_app, recording: bytes, content: str = "") -> tuple[str, str]:
    """A spoken opinion saved at the station the way the kiosk saves one: (uuid, receipt number)."""
    with station_app.app_context():
        draft = make_draft(content=content)
        intake.keep_voice(draft, voice.check(recording))
        opinion = intake.submit_draft(draft.id).opinion
        return opinion.uuid, opinion.receipt_number


def voice_row(app, uuid):
    with app.app_context():
        row = db.session.get(VoiceMessage, uuid)
        return None if row is None else {
            "sha256": row.sha256, "size": row.size, "duration_ms": row.duration_ms,
            "data": row.data, "confirmed": row.confirmed_at is not None,
        }  # fmt: skip


def sync(station_app, transport):
    with station_app.app_context():
        return station_sync.sync_once(transport)


def test_a_spoken_opinion_reaches_the_hub_whole_and_the_station_forgets_its_copy(station_app, hub_app, transport, spoken):
    uuid, number = speak(station_app, spoken)
    result = sync(station_app, transport)
    assert result.ok, result.error
    assert result.voices == 1
    at_hub = voice_row(hub_app, uuid)
    assert at_hub["confirmed"] and hashlib.sha256(at_hub["data"]).hexdigest() == hashlib.sha256(spoken).hexdigest()
    assert at_hub["sha256"] == hashlib.sha256(spoken).hexdigest()
    listened = heard(at_hub["data"])
    assert 2.9 <= listened.seconds <= 3.1 and listened.loudness > 0.01  # the tone, not silence
    assert abs(at_hub["duration_ms"] - 3000) <= 100
    with hub_app.app_context():
        assert db.session.get(Opinion, uuid).content == ""
    here = voice_row(station_app, uuid)
    assert here["confirmed"] and here["data"] is None
    # Only the record and the recording's chunks travelled; a second sync sends no recording again.
    voice_paths = [path for path, _size in transport.sent if "/voice/" in path]
    assert voice_paths and all(hashlib.sha256(spoken).hexdigest() in path for path in voice_paths)
    transport.sent.clear()
    assert sync(station_app, transport).ok
    assert not [path for path, _size in transport.sent if "/voice/" in path]


def test_a_sync_cut_in_the_middle_of_a_recording_resumes_where_the_hub_stopped(
    station_app, hub_app, transport, spoken, monkeypatch
):
    monkeypatch.setattr(voice_sync, "CHUNK_BYTES", 4096)
    uuid, _number = speak(station_app, spoken)
    sha = hashlib.sha256(spoken).hexdigest()

    def cut_at_third_chunk(method, path, headers, body):
        if path.endswith(f"/voice/{sha}/8192"):
            raise LinkDown("the village's link went down (test)")

    transport.before = cut_at_third_chunk
    result = sync(station_app, transport)
    assert not result.ok
    with station_app.app_context():
        assert station_sync.status().voices_waiting == 1  # the sync screen says so
    assert len(voice_row(hub_app, uuid)["data"]) == 8192 and not voice_row(hub_app, uuid)["confirmed"]
    assert voice_row(station_app, uuid)["data"] == spoken  # kept until the hub confirms
    transport.before = None
    transport.sent.clear()
    result = sync(station_app, transport)
    assert result.ok and result.voices == 1
    sent = [path.rsplit("/", 1)[1] for path, _size in transport.sent if f"/voice/{sha}/" in path]
    # Asked where the hub stood (offset 0, no bytes), then on from 8192: nothing sent twice.
    assert sent[0] == "0" and sent[1] == "8192" and "4096" not in sent
    assert voice_row(hub_app, uuid)["data"] == spoken and voice_row(station_app, uuid)["data"] is None


@SQLITE_HUB
def test_bytes_that_do_not_match_the_hash_are_discarded_and_the_file_is_sent_again(
    station_app, hub_app, transport, spoken
):
    # The record goes first; then signed bytes under the recording's name that are not it.
    uuid, _number = speak(station_app, spoken)
    with station_app.app_context():
        station_sync._push_all(station_sync.make_client(transport), station_sync.SyncResult(), lambda m: None)
        hub = station_sync.make_client(transport)
        sha = hashlib.sha256(spoken).hexdigest()
        assert hub.send_bytes(f"voice/{sha}/0", spoken[:5000])["received"] == 5000
        spoilt = spoken[5000:-1] + bytes([spoken[-1] ^ 0xFF])
        with pytest.raises(HubRefused) as refused:
            hub.send_bytes(f"voice/{sha}/5000", spoilt)
    assert refused.value.status == 409 and refused.value.code == "voice_mismatch"
    assert voice_row(hub_app, uuid)["data"] == b"" and not voice_row(hub_app, uuid)["confirmed"]
    assert voice_row(station_app, uuid)["data"] == spoken
    result = sync(station_app, transport)
    assert result.ok and result.voices == 1
    assert voice_row(hub_app, uuid)["data"] == spoken


@SQLITE_HUB
def test_the_hub_refuses_bytes_that_are_no_recording_and_the_station_sets_them_aside(
    station_app, hub_app, transport, spoken
):
    uuid, _number = speak(station_app, spoken)
    with station_app.app_context():
        # A box whose recording was replaced by other bytes under the same name and size.
        fake = b"\x1a\x45\xdf\xa3" + bytes(len(spoken) - 4)
        row = db.session.get(VoiceMessage, uuid)
        row.data, row.sha256 = fake, hashlib.sha256(fake).hexdigest()
        db.session.commit()
    result = sync(station_app, transport)
    assert result.ok and result.voices == 0
    assert not voice_row(hub_app, uuid)["confirmed"] and voice_row(hub_app, uuid)["data"] == b""
    with station_app.app_context():
        aside = db.session.get(SetAsideRecord, uuid)
        assert aside.record_type == "voice" and aside.reason == "voice_refused"
    assert voice_row(station_app, uuid)["data"] == fake  # nothing lost at the station


@SQLITE_HUB
def test_a_recording_nobody_named_or_an_empty_opinion_without_one_is_refused(station_app, transport, spoken):
    with station_app.app_context():
        hub = station_sync.make_client(transport)
        with pytest.raises(HubRefused) as unknown:
            hub.send_bytes(f"voice/{'0' * 64}/0", spoken[:100])
        # Spoken only, but the recording went missing: the hub takes no empty opinion.
        draft = make_draft(content="")
        intake.save_answers(draft, voice=3000)
        intake.submit_draft(draft.id)
        record = station_sync.RECORD_TYPES["opinion"].pending(10)[0]
        assert record["content"] == "" and "voice" not in record
        with pytest.raises(HubRefused) as empty:
            hub.call("push", {"records": [{"type": "opinion", "data": record}], "station": station_sync.report()})
    assert unknown.value.status == 404 and unknown.value.code == "unknown_voice"
    assert empty.value.status == 400 and "content" in empty.value.message


@SQLITE_HUB
def test_a_usb_stick_carries_the_recording(station_app, hub_app, spoken, tmp_path):
    uuid, _number = speak(station_app, spoken)
    bundle, answer = tmp_path / "LC00.bundle", tmp_path / "LC00.answer"
    assert station_app.test_cli_runner().invoke(args=["sync", "export", str(bundle)]).exit_code == 0
    result = hub_app.test_cli_runner().invoke(args=["sync", "import", str(bundle), "--answer", str(answer)])
    assert result.exit_code == 0 and "录音 1 段已收妥" in result.output, result.output
    assert voice_row(hub_app, uuid)["data"] == spoken and voice_row(hub_app, uuid)["confirmed"]
    result = station_app.test_cli_runner().invoke(args=["sync", "import-answer", str(answer)])
    assert result.exit_code == 0 and "录音 1 段" in result.output, result.output
    assert voice_row(station_app, uuid)["data"] is None and voice_row(station_app, uuid)["confirmed"]
    # Carried again: nothing changes on either side.
    assert hub_app.test_cli_runner().invoke(args=["sync", "import", str(bundle), "--answer", str(answer)]).exit_code == 0
    assert voice_row(hub_app, uuid)["data"] == spoken


@SQLITE_HUB
def test_the_public_status_page_says_a_recording_is_there_and_never_plays_it(station_app, hub_app, transport, spoken):
    uuid, number = speak(station_app, spoken)
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        secret = db.session.scalar(select(Opinion.secret).where(Opinion.uuid == uuid))
    page = hub_app.test_client().get(f"/r/{number}?k={secret}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "附语音留言（3 秒）" in body
    assert "<audio" not in body and "voice" not in body.replace('data-testid="status-voice"', "")


@SQLITE_HUB
def test_a_recording_stays_until_a_backup_of_the_hub_holds_it_and_goes_again_to_a_restored_hub(
    station_app, hub_app, transport, spoken, tmp_path
):
    hub_file = Path(hub_app.instance_path) / "kiosk.sqlite3"
    backup = tmp_path / "last-night.sqlite3"
    with hub_app.app_context():
        db.session.get(HubDatabase, 1).backed_up_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        db.engine.dispose()
    with sqlite3.connect(hub_file) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
    uuid, _number = speak(station_app, spoken)
    result = sync(station_app, transport)
    assert result.ok and result.voices == 1, result.error
    # Confirmed, so not sent again; kept, since no backup of the hub holds it yet.
    assert voice_row(station_app, uuid) | {"data": len(spoken)} == voice_row(hub_app, uuid) | {"data": len(spoken)}
    assert voice_row(station_app, uuid)["data"] == spoken
    transport.sent.clear()
    assert sync(station_app, transport).ok
    assert not [path for path, _size in transport.sent if "/voice/" in path]

    # The hub's disk fails; it comes back from last night's backup, which lacks the opinion and its recording.
    with hub_app.app_context():
        db.engine.dispose()
    with sqlite3.connect(backup) as source, sqlite3.connect(hub_file) as restored:
        source.backup(restored)
    with hub_app.app_context():
        hub_sync.mark_restored()
    assert voice_row(hub_app, uuid) is None
    result = sync(station_app, transport)
    assert result.ok and result.voices == 1, result.error
    assert voice_row(hub_app, uuid)["data"] == spoken and voice_row(hub_app, uuid)["confirmed"]
    assert voice_row(station_app, uuid)["data"] == spoken

    # Tonight's backup holds it: the station's copy goes with the next answer.
    with hub_app.app_context():
        db.session.get(HubDatabase, 1).backed_up_at = utcnow() + timedelta(minutes=11)
        db.session.commit()
    assert sync(station_app, transport).ok
    assert voice_row(station_app, uuid)["data"] is None and voice_row(station_app, uuid)["confirmed"]
    assert voice_row(hub_app, uuid)["data"] == spoken
