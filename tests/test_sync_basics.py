"""Push and pull between a station and a hub (SQLite and PostgreSQL), in-process."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import BoxIdentity, Opinion, OpinionEvent, OpinionStatus, ReceiptCounter, SetAsideRecord, SyncConflict
from kiosk.sync import enrolment
from kiosk.sync import station as station_sync
from kiosk.receipts.numbers import NUMBER, SECRET, STATION_CODE, station_number
from kiosk.sync.records import BadRecord
from tests.support.factories import make_opinion, receive_opinion
from tests.support.inprocess import sync


def submit(station_app, n=1, **answers):
    with station_app.app_context():
        return [make_opinion("LC00", **answers).uuid for _ in range(n)]


def hub_opinions(hub_app):
    with hub_app.app_context():
        return {o.uuid: o for o in db.session.scalars(select(Opinion))}


def test_enrolment_stores_hub_and_public_address(station_app):
    with station_app.app_context():
        link = station_sync.enrolment()
        assert link.station_code == "LC00"
        assert link.public_base_url == "https://rd.example.cn"
    assert station_app.config["PUBLIC_BASE_URL"] == "https://rd.example.cn"
    key = station_app.instance_path + "/station_key.pem"
    import os

    assert os.stat(key).st_mode & 0o077 == 0


def test_push_acknowledges_and_deletes_contact_details(station_app, hub_app, transport):
    uuids = submit(station_app, 3, anonymous=False, name="陈大文", phone="13800000000", consent_version="2026-11")
    result = sync(station_app, transport)
    assert result.ok, result.error
    assert (result.pushed, result.acknowledged, result.refused) == (3, 3, 0)
    at_hub = hub_opinions(hub_app)
    assert set(at_hub) == set(uuids)
    assert all(o.contact_phone == "13800000000" and o.status == OpinionStatus.RECEIVED for o in at_hub.values())
    with station_app.app_context():
        for o in db.session.scalars(select(Opinion)):
            assert o.acknowledged_at is not None and o.hub_received_at is not None
            assert o.contact_name is None and o.contact_phone is None
            assert o.status == OpinionStatus.RECEIVED
        assert station_sync.status().waiting == 0


def _sqlite_files(app) -> bytes:
    """The station's database file and its WAL, as bytes on disk."""
    database = Path(app.instance_path) / "kiosk.sqlite3"
    wal = database.with_name("kiosk.sqlite3-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
def test_the_station_leaves_no_deleted_contact_details_in_its_database_or_wal(station_app, transport):
    """secure_delete zeroes what was deleted, and a checkpoint empties the WAL of older page copies."""
    name, phone = "欧阳秀英".encode(), b"13800138000"
    submit(station_app, 3, anonymous=False, name="欧阳秀英", phone="13800138000", consent_version="2026-12")
    assert name in _sqlite_files(station_app) and phone in _sqlite_files(station_app)
    result = sync(station_app, transport)
    assert result.ok and result.acknowledged == 3, result.error
    with station_app.app_context():
        assert db.session.scalars(select(Opinion.uuid).where(Opinion.contact_phone.is_not(None))).all() == []
    files = _sqlite_files(station_app)
    assert phone not in files
    assert name not in files


def test_same_batch_twice_is_acknowledged_again_without_duplicates(station_app, hub_app, transport):
    submit(station_app, 2)
    captured = []
    transport.before = lambda method, path, headers, body: captured.append((path, dict(headers), body)) if path.endswith("/push") else None
    assert sync(station_app, transport).ok
    path, headers, body = captured[0]
    # The same records again, freshly signed (a replay of the request itself is refused).
    with station_app.app_context():
        hub_client = station_sync.make_client(transport)
        from kiosk.sync import wire

        answer = hub_client.call("push", wire.decode(body))
    assert len(answer["acks"]) == 2 and answer["refused"] == []
    assert len(hub_opinions(hub_app)) == 2


def test_same_uuid_with_other_content_is_set_aside(station_app, hub_app, transport):
    (uuid,) = submit(station_app)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        # A box whose record changed after it was sent (a bug, a restored backup).
        opinion.content = "内容被改过了，不再是原来那条。"
        opinion.acknowledged_at = None
        db.session.commit()
    result = sync(station_app, transport)
    assert result.ok and result.refused == 1
    with station_app.app_context():
        aside = db.session.get(SetAsideRecord, uuid)
        assert aside.reason == "changed"
        assert station_sync.status().waiting == 0
    with hub_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncConflict)) == 1
        assert db.session.get(Opinion, uuid).content != "内容被改过了，不再是原来那条。"


def test_pull_brings_status_and_reply_back(station_app, hub_app, transport):
    (uuid,) = submit(station_app)
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        opinion.status = OpinionStatus.CLOSED
        opinion.public_reply = "路灯已修好。"
        db.session.add(OpinionEvent(opinion_uuid=uuid, status=OpinionStatus.CLOSED, note="路灯已修好。"))
        db.session.commit()
    result = sync(station_app, transport)
    assert result.ok and result.pulled >= 1
    with station_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert opinion.status == OpinionStatus.CLOSED and opinion.public_reply == "路灯已修好。"
        assert [e.status for e in opinion.events] == ["submitted", "received", "closed"]
    again = sync(station_app, transport)
    assert again.ok and again.pulled == 0


def test_pull_brings_reference_data(station_app, hub_app, transport):
    from kiosk.models import Township

    with hub_app.app_context():
        township = db.session.scalar(select(Township).where(Township.name == "罗城街道"))
        township.office_phone = "0766-1234567"
        db.session.commit()
    assert sync(station_app, transport).ok
    with station_app.app_context():
        assert db.session.scalar(select(Township.office_phone).where(Township.name == "罗城街道")) == "0766-1234567"


def test_enrolment_raises_receipt_counters_to_what_the_hub_has_seen(station_app, hub_app, transport):
    submit(station_app, 3)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        day = db.session.scalar(select(ReceiptCounter.day))
        # A replaced box: empty counters, same station.
        db.session.execute(db.delete(ReceiptCounter))
        db.session.execute(db.delete(OpinionEvent))
        db.session.execute(db.delete(Opinion))
        db.session.commit()
    with hub_app.app_context():
        from kiosk.sync import registry as hub

        token = hub.issue_token("LC00")
    with station_app.app_context():
        enrolment.enroll("http://hub.test", token, transport=transport)
        assert db.session.scalar(select(ReceiptCounter.last_serial).where(ReceiptCounter.day == day)) == 3
        assert db.session.get(BoxIdentity, 1).station_code == "LC00"
    (uuid,) = submit(station_app)
    with station_app.app_context():
        assert db.session.get(Opinion, uuid).receipt_number.endswith("-0004")


def test_not_enrolled_sync_fails_in_plain_words(app):
    with app.app_context():
        result = station_sync.sync_once()
    assert not result.ok and "还没有登记" in result.error


def test_a_record_holding_a_nul_is_set_aside_alone(station_app, hub_app, transport):
    good_one, bad, good_two = submit(station_app, 3)
    with station_app.app_context():
        # A box whose record holds what no kiosk screen lets through (a bug, a damaged file).
        db.session.get(Opinion, bad).content = "路灯坏了\x00三个月"
        db.session.commit()
    result = sync(station_app, transport)
    assert result.ok, result.error
    assert (result.acknowledged, result.refused) == (2, 1)
    assert set(hub_opinions(hub_app)) == {good_one, good_two}
    with station_app.app_context():
        assert db.session.get(SetAsideRecord, bad).reason == "nul"
        assert station_sync.status().waiting == 0
    with hub_app.app_context():
        assert db.session.scalar(select(SyncConflict.reason).where(SyncConflict.uuid == bad)) == "nul"
    assert sync(station_app, transport).pushed == 0


@pytest.mark.parametrize(
    "made",
    [
        {"receipt_number": "LC00-٩٩٠١٠١-٠٠٠١"},
        {"receipt_number": "LC00-990101-0003\n"},
        {"receipt_number": "LC00-990101-000٣"},
        {"secret": "QWERTY\n"},
    ],
    ids=["arabic-indic-digits", "trailing-newline", "one-arabic-digit", "secret-trailing-newline"],
)
def test_a_receipt_number_or_secret_not_in_ascii_form_is_refused(hub_app, made):
    with hub_app.app_context(), pytest.raises(BadRecord, match="expected form"):
        receive_opinion(**made)


def test_receipt_patterns_match_whole_ascii_strings():
    assert NUMBER.fullmatch("LC00-990101-0003") and station_number("LC00").fullmatch("LC00-990101-0003")
    for pattern in (NUMBER, station_number("LC00")):
        assert not pattern.fullmatch("LC00-990101-0003\n")
        assert not pattern.fullmatch("LC00-٩٩٠١٠١-٠٠٠١")
    assert not STATION_CODE.fullmatch("LC00\n") and not SECRET.fullmatch("QWERTY\n")


def test_the_hub_cleans_pushed_text_as_the_kiosk_does(station_app, hub_app, transport):
    (uuid,) = submit(station_app, anonymous=False, name="陈\u202e大文", phone="13800000000", consent_version="2026-11")
    with station_app.app_context():
        # What a stolen station key could send: no kiosk screen lets it through.
        db.session.get(Opinion, uuid).content = "<script>alert(1)</script>\x1b[2J路灯\u202e坏了\u200b三个月"
        db.session.commit()
    result = sync(station_app, transport)
    assert result.ok and result.acknowledged == 1, result.error
    at_hub = hub_opinions(hub_app)[uuid]
    assert at_hub.content == "<script>alert(1)</script>[2J路灯坏了三个月"
    assert at_hub.contact_name == "陈大文"


def test_a_batch_the_hub_finds_too_large_goes_again_in_halves(station_app, hub_app, transport):
    """A hub that takes fewer records a batch than the station sends (413
    batch_too_large) gets them all in smaller batches, in one sync."""
    hub_app.config["SYNC_MAX_BATCH"] = 4
    station_app.config["SYNC_BATCH_SIZE"] = 10
    uuids = submit(station_app, 9)
    refused = []
    transport.after = lambda reply: refused.append(reply.status) if reply.status == 413 else None
    result = sync(station_app, transport)
    assert result.ok, result.error
    assert (result.acknowledged, result.refused) == (9, 0)
    # The nine are refused once; then they go four a batch.
    assert refused == [413]
    assert set(hub_opinions(hub_app)) == set(uuids)
    with station_app.app_context():
        assert station_sync.status().waiting == 0


def test_a_single_record_too_large_for_the_hub_stays_waiting_with_a_plain_error(station_app, hub_app, transport):
    hub_app.config["SYNC_MAX_BATCH"] = 0
    submit(station_app, 3)
    result = sync(station_app, transport)
    assert not result.ok
    assert "413 batch_too_large" in result.error
    assert hub_opinions(hub_app) == {}
    with station_app.app_context():
        assert station_sync.status().waiting == 3
