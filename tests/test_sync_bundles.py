"""USB-stick bundles: export at the station, import at the hub, answer back."""

import base64
import json

from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Opinion, SyncAudit, SyncConflict
from kiosk.sync import registry as hub_services
from kiosk.sync import station as station_sync
from tests.support.factories import make_opinion


def station_cli(station_app, *args):
    return station_app.test_cli_runner().invoke(args=list(args))


def hub_cli(hub_app, *args):
    return hub_app.test_cli_runner().invoke(args=list(args))


def count(app, model=Opinion, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def submit(station_app, n):
    with station_app.app_context():
        for i in range(n):
            make_opinion("LC00", anonymous=False, name="陈大文", phone="13800000000", consent_version="2026-11")


def test_round_trip_by_usb_stick_and_replays_change_nothing(station_app, hub_app, tmp_path):
    submit(station_app, 4)
    bundle, answer = tmp_path / "LC00.bundle", tmp_path / "LC00.answer"
    result = station_cli(station_app, "sync", "export", str(bundle))
    assert result.exit_code == 0 and "4 条记录" in result.output
    result = hub_cli(hub_app, "sync", "import", str(bundle), "--answer", str(answer))
    assert result.exit_code == 0, result.output
    assert "4 条已确认" in result.output
    assert count(hub_app) == 4
    result = station_cli(station_app, "sync", "import-answer", str(answer))
    assert result.exit_code == 0, result.output
    assert count(station_app, Opinion, Opinion.acknowledged_at.is_(None)) == 0
    assert count(station_app, Opinion, Opinion.contact_phone.is_not(None)) == 0
    # Replays: the hub acknowledges the same records again; the station marks nothing new.
    assert hub_cli(hub_app, "sync", "import", str(bundle), "--answer", str(answer)).exit_code == 0
    assert count(hub_app) == 4 and count(hub_app, SyncConflict) == 0
    assert station_cli(station_app, "sync", "import-answer", str(answer)).exit_code == 0
    with station_app.app_context():
        assert station_sync.status().waiting == 0


def test_an_older_answer_never_moves_the_cursor_back(station_app, hub_app, transport, tmp_path):
    submit(station_app, 1)
    bundle, answer = tmp_path / "b", tmp_path / "a"
    station_cli(station_app, "sync", "export", str(bundle))
    hub_cli(hub_app, "sync", "import", str(bundle), "--answer", str(answer))
    with hub_app.app_context():
        opinion = db.session.scalar(select(Opinion))
        opinion.status = "accepted"
        db.session.commit()
    with station_app.app_context():
        assert station_sync.sync_once(transport=transport).ok
        cursor = station_sync.status().cursor
    assert station_cli(station_app, "sync", "import-answer", str(answer)).exit_code == 0
    with station_app.app_context():
        assert station_sync.status().cursor == cursor
        assert db.session.scalar(select(Opinion.status)) == "accepted"


def test_a_tampered_bundle_is_refused_and_nothing_written(station_app, hub_app, tmp_path):
    submit(station_app, 2)
    bundle = tmp_path / "b"
    station_cli(station_app, "sync", "export", str(bundle))
    envelope = json.loads(bundle.read_text())
    import gzip

    payload = json.loads(gzip.decompress(base64.b64decode(envelope["payload"])))
    payload["records"][0]["data"]["content"] = "被人改过的内容，不是原来那条。"
    envelope["payload"] = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    bundle.write_text(json.dumps(envelope))
    result = hub_cli(hub_app, "sync", "import", str(bundle))
    assert result.exit_code != 0 and "签名不对" in result.output
    assert count(hub_app) == 0
    bundle.write_text("garbage")
    result = hub_cli(hub_app, "sync", "import", str(bundle))
    assert result.exit_code != 0 and "损坏" in result.output


def test_a_revoked_stations_bundle_needs_an_audited_decision(station_app, hub_app, tmp_path):
    submit(station_app, 3)
    bundle, answer = tmp_path / "b", tmp_path / "a"
    station_cli(station_app, "sync", "export", str(bundle))
    with hub_app.app_context():
        hub_services.revoke_station("LC00")
    result = hub_cli(hub_app, "sync", "import", str(bundle))
    assert result.exit_code != 0 and "吊销" in result.output
    assert count(hub_app) == 0
    result = hub_cli(hub_app, "sync", "import", str(bundle), "--accept-revoked")
    assert result.exit_code != 0 and "--decided-by" in result.output
    result = hub_cli(hub_app, "sync", "import", str(bundle), "--answer", str(answer), "--accept-revoked",
                     "--decided-by", "罗城街道人大办 李主任", "--reason", "旧机被盗前导出的记录，已核对")
    assert result.exit_code == 0, result.output
    assert count(hub_app) == 3
    with hub_app.app_context():
        (audit,) = db.session.scalars(select(SyncAudit)).all()
        assert audit.actor == "罗城街道人大办 李主任" and audit.action == "accept_revoked_bundle"


def test_a_forged_answer_bundle_marks_and_deletes_nothing(station_app, hub_app, tmp_path):
    submit(station_app, 2)
    bundle, answer = tmp_path / "b", tmp_path / "a"
    station_cli(station_app, "sync", "export", str(bundle))
    hub_cli(hub_app, "sync", "import", str(bundle), "--answer", str(answer))
    envelope = json.loads(answer.read_text())
    envelope["signature"] = base64.b64encode(b"\0" * 64).decode()
    answer.write_text(json.dumps(envelope))
    result = station_cli(station_app, "sync", "import-answer", str(answer))
    assert result.exit_code != 0 and "签名不对" in result.output
    assert count(station_app, Opinion, Opinion.acknowledged_at.is_(None)) == 2
    assert count(station_app, Opinion, Opinion.contact_phone.is_not(None)) == 2
