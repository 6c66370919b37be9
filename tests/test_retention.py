"""Contact details kept no longer than needed: erased at the hub ``RETENTION_DAYS`` after an
opinion is finished, leaving no copy in a SQLite hub's database file or WAL."""

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Department, Opinion, VoiceMessage, utcnow
from kiosk.ratings import GivenRating
from kiosk.staff import services
from kiosk.sync import voice as voice_sync
from tests.support.desk import Desk
from tests.support.factories import make_user, receive_opinion
from tests.support.voice import webm

NAME, PHONE = "欧阳秀英", "13800138000"
DAYS = 365


def _with_contacts(**kwargs) -> Opinion:
    return receive_opinion(contact_name=NAME, contact_phone=f"1380013{8000 + _with_contacts.count:04d}", **kwargs)


_with_contacts.count = 0


def _opinion(status: str) -> str:
    """An opinion with contact details brought to ``status`` today (township staff)."""
    _with_contacts.count += 1
    staff = make_user("township")
    opinion = _with_contacts()
    if status in ("accepted", "closed", "forwarded"):
        services.accept(staff, opinion)
    if status == "closed":
        services.close(staff, opinion, "路灯已修好。")
    if status == "declined":
        services.decline(staff, opinion, "不属于人大职责。")
    if status == "merged":
        services.merge(staff, opinion, receive_opinion())
    if status == "forwarded":
        department = Department(name=f"部门{_with_contacts.count}")
        db.session.add(department)
        db.session.commit()
        services.forward(staff, opinion, department)
    return opinion.uuid


def _later(app, days: float) -> None:
    """The hub's clock, ``days`` from now."""
    moment = utcnow() + timedelta(days=days)
    app.config["SYNC_CLOCK"] = lambda: moment


def _contacts(app, uuid: str) -> tuple:
    with app.app_context():
        opinion = db.session.get(Opinion, uuid)
        return opinion.contact_name, opinion.contact_phone


def _run(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=["retention", "run", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.fixture
def opinions(hub_app):
    with hub_app.app_context():
        return {status: _opinion(status) for status in ("closed", "declined", "merged", "accepted", "forwarded", "received")}


def test_contact_details_are_erased_a_year_after_closing_declining_or_merging(hub_app, opinions):
    finished = {opinions[s] for s in ("closed", "declined", "merged")}
    _later(hub_app, DAYS - 1)
    assert _run(hub_app) == "0 opinions erased"
    _later(hub_app, DAYS + 1)
    assert _run(hub_app, "--dry-run") == "3 opinions would be erased"
    assert all(_contacts(hub_app, uuid)[0] == NAME for uuid in opinions.values())
    assert _run(hub_app) == "3 opinions erased"
    for status, uuid in opinions.items():
        assert (_contacts(hub_app, uuid) == (None, None)) == (uuid in finished), status
    # Nothing is left to erase: a second night changes nothing.
    assert _run(hub_app) == "0 opinions erased"
    with hub_app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.erase")).all()
        assert {row.opinion_uuid for row in rows} == finished
        held = {"contact_name": "已登记", "contact_phone": "已登记"}
        assert all(row.before == held and row.user_id is None for row in rows)
        assert not any(NAME in str((row.before, row.after, row.note)) for row in rows)
    verify = hub_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and verify.output.startswith("ok ")


def test_the_time_counts_from_the_last_closing(hub):
    """Closed long ago, reopened by 不满意 and closed again today: kept another year."""
    with hub.app_context():
        staff = make_user("township")
        opinion = _with_contacts()
        services.accept(staff, opinion)
        services.close(staff, opinion, "已办结。")
        long_ago = utcnow() - timedelta(days=DAYS + 30)
        for event in opinion.events:
            event.at = long_ago
        db.session.commit()
        services.record_rating(opinion, GivenRating(value="unsatisfied", source="follow_up"), staff)
        assert opinion.status == "reopened"
        services.accept(staff, opinion)
        services.close(staff, opinion, "重新办理后已办结。")
        uuid = opinion.uuid
    assert _run(hub) == "0 opinions erased"
    assert _contacts(hub, uuid)[0] == NAME
    _later(hub, DAYS + 1)
    assert _run(hub) == "1 opinions erased"


def test_the_setting_sets_the_days(hub):
    hub.config["RETENTION_DAYS"] = 30
    with hub.app_context():
        uuid = _opinion("closed")
    _later(hub, 29)
    assert _run(hub) == "0 opinions erased"
    _later(hub, 31)
    assert _run(hub) == "1 opinions erased"
    assert _contacts(hub, uuid) == (None, None)


def test_retention_is_a_hub_command(runner):
    assert "retention" not in runner.invoke(args=["--help"]).output


# --- no copy left in the SQLite files -----------------------------------------------------------


def _files(app) -> bytes:
    database = Path(app.instance_path) / "kiosk.sqlite3"
    wal = database.with_name("kiosk.sqlite3-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_the_hub_on_sqlite_leaves_no_erased_phone_in_its_files(hub):
    with hub.app_context():
        uuid = _opinion("closed")
        phone = db.session.get(Opinion, uuid).contact_phone
        db.engine.dispose()
    assert phone.encode() in _files(hub) and NAME.encode() in _files(hub)
    _later(hub, DAYS + 1)
    assert _run(hub) == "1 opinions erased"
    assert phone.encode() not in _files(hub)
    assert NAME.encode() not in _files(hub)


def test_the_opinion_page_and_the_audit_log_show_the_erasure(hub):
    with hub.app_context():
        uuid = _opinion("closed")
    _later(hub, DAYS + 1)
    assert _run(hub) == "1 opinions erased"
    page = Desk(hub).get(f"/staff/opinions/{uuid}").text
    assert "保存期满，删除个人信息" in page and "联系人姓名" in page and NAME not in page
    log = Desk(hub, role="city").get("/staff/audit/", query_string={"action": "retention.erase"}).text
    assert log.count("<tr data-id=") == 1 and "系统" in log and "联系电话：已登记 → —" in log


# --- recordings -----------------------------------------------------------------------------------


def _spoken_and_closed(app, recording: bytes) -> str:
    """A closed opinion whose voice message the hub holds whole, with a transcript."""
    with app.app_context():
        uuid = _opinion("closed")
        db.session.add(
            VoiceMessage(
                opinion_uuid=uuid, sha256=hashlib.sha256(recording).hexdigest(), size=len(recording),
                duration_ms=2000, data=recording, confirmed_at=utcnow(), transcript="村口的路灯坏了。",
                transcribed_at=utcnow(),
            )
        )
        db.session.commit()
        db.engine.dispose()
    return uuid


def test_a_recording_is_erased_with_the_contact_details_and_its_transcript_stays(hub):
    recording = webm(2)
    uuid = _spoken_and_closed(hub, recording)
    desk = Desk(hub)
    assert desk.get(f"/staff/opinions/{uuid}/voice.webm").data == recording
    # One bounded run of the recording: a page of it must be gone from the files too.
    sample = recording[len(recording) // 2:len(recording) // 2 + 64]
    assert sample in _files(hub)
    _later(hub, DAYS - 1)
    assert _run(hub) == "0 opinions erased"
    _later(hub, DAYS + 1)
    assert _run(hub, "--dry-run") == "1 opinions would be erased"
    assert _run(hub) == "1 opinions erased"
    with hub.app_context():
        spoken = db.session.get(VoiceMessage, uuid)
        assert spoken.data is None and spoken.erased_at is not None
        assert spoken.transcript == "村口的路灯坏了。"
        row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.erase")).one()
        assert row.before == {"contact_name": "已登记", "contact_phone": "已登记", "voice": "已登记"}
        assert "录音" in row.note
        db.engine.dispose()
    assert sample not in _files(hub)
    assert desk.get(f"/staff/opinions/{uuid}/voice.webm").status_code == 404
    page = desk.get(f"/staff/opinions/{uuid}").text
    assert 'data-testid="voice-erased"' in page and 'data-testid="voice-player"' not in page
    assert "村口的路灯坏了。" in page and "语音留言录音" in page
    assert _run(hub) == "0 opinions erased"


def test_a_recording_of_an_opinion_still_in_hand_is_kept(hub):
    recording = webm(1)
    with hub.app_context():
        uuid = _opinion("accepted")
        db.session.add(
            VoiceMessage(opinion_uuid=uuid, sha256=hashlib.sha256(recording).hexdigest(), size=len(recording),
                         duration_ms=1000, data=recording, confirmed_at=utcnow())
        )
        db.session.commit()
    _later(hub, DAYS + 1)
    assert _run(hub) == "0 opinions erased"
    with hub.app_context():
        assert db.session.get(VoiceMessage, uuid).data == recording


def test_a_recording_still_arriving_is_erased_and_never_taken_again(hub):
    recording = webm(1)
    with hub.app_context():
        uuid = _opinion("closed")
        spilt = _opinion("closed")
        for opinion_uuid, data, sha in ((uuid, recording[:1000], hashlib.sha256(recording).hexdigest()),
                                        (spilt, b"", "0" * 64)):
            db.session.add(VoiceMessage(opinion_uuid=opinion_uuid, sha256=sha, size=len(recording),
                                        duration_ms=1000, data=data))
        db.session.commit()
        code = db.session.get(Opinion, uuid).station_code
    _later(hub, DAYS + 1)
    assert _run(hub) == "2 opinions erased"
    with hub.app_context():
        assert db.session.get(VoiceMessage, uuid).data is None
        notes = {row.opinion_uuid: row.before for row in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.erase"))}
        # A discarded copy (b"") held nothing: its audit row names the contact details only.
        assert notes[uuid].get("voice") == "已登记" and "voice" not in notes[spilt]
        # The station goes on sending the rest: the hub says it needs nothing more, and keeps nothing.
        said = voice_sync.receive_chunk(code, hashlib.sha256(recording).hexdigest(), 1000, recording[1000:])
        db.session.commit()
        assert said["confirmed"] is True
        assert db.session.get(VoiceMessage, uuid).data is None
