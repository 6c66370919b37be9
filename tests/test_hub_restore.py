"""A hub restored from its nightly backup: stations send again what it lacks and pull anew.

The real scripts on a real PostgreSQL hub: ``deploy/hub/backup`` (pg_dump,
then the snapshot time recorded) and ``deploy/hub/restore-backup``
(pg_restore, then a new generation); a station enrolled in-process.
"""

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import HubDatabase, Opinion, OpinionStatus, SyncChange
from kiosk.models.types import utcnow
from kiosk.staff import services as staff
from kiosk.sync import bundles, enrolment
from kiosk.sync import hub as hub_sync
from kiosk.sync import registry as hub_registry
from kiosk.sync import station as station_sync
from tests.support.apps import make_app
from tests.support.boxes import new_postgres_database
from tests.support.factories import make_opinion, make_user
from tests.support.inprocess import AppTransport, sync


ROOT = Path(__file__).resolve().parents[1]
CONTACT = {"anonymous": False, "name": "陈大文", "phone": "13800000000", "consent_version": "2026-12"}


@pytest.fixture
def restorable(request, tmp_path, app, postgres_admin_url, hub_seed_postgres):
    """A PostgreSQL hub whose clock the test moves, and the conftest station enrolled with it."""
    url, _name, drop = new_postgres_database(postgres_admin_url, "kiosk_hub", hub_seed_postgres)
    request.addfinalizer(drop)
    instance = tmp_path / "hub"
    instance.mkdir()
    shift = [timedelta(0)]
    hub = make_app(instance, ROLE="hub", DATABASE_URL=url, SYNC_CLOCK=lambda: utcnow() + shift[0])
    transport = AppTransport(hub)
    with hub.app_context():
        token = hub_registry.issue_token("LC00")
    with app.app_context():
        enrolment.enroll("http://hub.test", token, transport=transport)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(KIOSK_INSTANCE_PATH=str(instance), KIOSK_ROLE="hub", KIOSK_DATABASE_URL=url)
    yield hub, app, transport, shift, env
    with hub.app_context():
        db.session.remove()
        db.engine.dispose()


def script(name: str, *args: str, env: dict) -> str:
    done = subprocess.run([str(ROOT / "deploy/hub" / name), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def at_station(station, uuid: str) -> Opinion:
    with station.app_context():
        opinion = db.session.get(Opinion, uuid)
        db.session.expunge(opinion)
        return opinion


def at_hub(hub, uuid: str) -> Opinion | None:
    with hub.app_context():
        opinion = db.session.get(Opinion, uuid)
        if opinion is not None:
            db.session.expunge(opinion)
        return opinion


@pytest.mark.slow
@pytest.mark.postgres
def test_a_restored_hub_gets_back_what_it_lacks_and_stations_pull_from_the_start(restorable, tmp_path):
    hub, station, transport, shift, env = restorable
    backups = tmp_path / "backups"
    # A backup of an hour ago is on record; the station's first opinion reaches the hub half an hour ago.
    older = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recorded = hub.test_cli_runner().invoke(args=["sync", "backed-up", "--snapshot-at", older])
    assert recorded.exit_code == 0 and "recorded" in recorded.output, recorded.output
    for wrong in ("yesterday", "2026-12-06T02:30:00"):
        refused = hub.test_cli_runner().invoke(args=["sync", "backed-up", "--snapshot-at", wrong])
        assert refused.exit_code == 2 and "--snapshot-at" in refused.output
    shift[0] = timedelta(minutes=-30)
    with station.app_context():
        early = make_opinion("LC00", **CONTACT).uuid
    assert sync(station, transport).ok
    assert at_station(station, early).contact_phone == "13800000000", "no backup holds it yet: kept"

    # Tonight's backup holds it: the station may delete the name and phone now.
    shift[0] = timedelta(0)
    script("backup", str(backups), env=env)
    (dump,) = sorted(backups.glob("hub-*.dump"))[-1:]
    assert sync(station, transport).ok
    kept = at_station(station, early)
    assert (kept.contact_name, kept.contact_phone, kept.acknowledged_at is not None) == (None, None, True)

    # After the backup: three new opinions, and the township accepts all four.
    with station.app_context():
        late, *more = [make_opinion("LC00", **CONTACT).uuid for _ in range(3)]
    assert sync(station, transport).ok
    assert at_station(station, late).contact_phone == "13800000000", "received after the newest backup: kept"
    with hub.app_context():
        clerk = make_user()
        for uuid in (early, late, *more):
            staff.accept(clerk, db.session.get(Opinion, uuid))
    assert sync(station, transport).ok
    assert at_station(station, early).status == OpinionStatus.ACCEPTED
    with station.app_context():
        cursor_before = station_sync.sync_state().cursor

    # The hub's disk fails: last night's backup goes back in place.
    with hub.app_context():
        db.session.remove()
        db.engine.dispose()
    out = script("restore-backup", "--no-services", str(dump), env=env)
    assert "generation" in out
    assert at_hub(hub, late) is None and at_hub(hub, more[0]) is None
    assert at_hub(hub, early).status == OpinionStatus.RECEIVED, "the acceptances came after the backup"
    with hub.app_context():
        # Staff take the first opinion up again on the restored copy: change numbers the station had passed.
        clerk = make_user()
        staff.accept(clerk, db.session.get(Opinion, early))
        staff.close(clerk, db.session.get(Opinion, early), "路灯已修好。")
        assert db.session.get(HubDatabase, 1).restored_at is not None
        closing = db.session.scalar(select(db.func.max(SyncChange.id)).where(SyncChange.opinion_uuid == early))
    assert closing <= cursor_before, "a station keeping its cursor would never pull the 办结"

    result = sync(station, transport)
    assert result.ok, result.error
    back = at_hub(hub, late)
    assert back is not None and back.contact_phone == "13800000000", "sent again with the name and phone it kept"
    assert at_hub(hub, early).contact_phone == "13800000000", "the backup's own copy keeps its name and phone"
    with hub.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Opinion).where(Opinion.station_code == "LC00")) == 4
    shown = at_station(station, early)
    assert shown.status == OpinionStatus.CLOSED and shown.public_reply == "路灯已修好。"
    with station.app_context():
        state = station_sync.sync_state()
        assert state.cursor >= closing and not state.resending
        assert station_sync.status().waiting == 0
    # Nothing was set aside as a changed record, though the first one lost its name and phone here.
    assert result.refused == 0
    # And the station keeps the late one's phone until a backup of the restored hub holds it.
    assert at_station(station, late).contact_phone == "13800000000"


@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
def test_by_usb_stick_a_station_sends_everything_again_to_a_restored_hub(station_app, hub_app, tmp_path):
    with station_app.app_context():
        uuids = [make_opinion("LC00", **CONTACT).uuid for _ in range(2)]

    def round_trip(name: str) -> dict:
        bundle, answer = str(tmp_path / f"{name}.bundle"), str(tmp_path / f"{name}.answer")
        with station_app.app_context():
            bundles.export_bundle(bundle)
        with hub_app.app_context():
            bundles.import_bundle(bundle, answer)
        with station_app.app_context():
            return bundles.import_answer(answer)

    assert round_trip("first")["acknowledged"] == 2
    with hub_app.app_context():
        hub_sync.mark_restored()
    # The stick carries the old cursor: its answer names the new generation, and its pull is not applied.
    assert round_trip("second") == {"acknowledged": 0, "refused": 0, "pulled": 0}
    with station_app.app_context():
        state = station_sync.sync_state()
        assert (state.cursor, state.resending, station_sync.status().waiting) == (0, True, 2)
    # The next stick sends both again: the hub holds them and acknowledges them as they are.
    again = round_trip("third")
    assert (again["acknowledged"], again["refused"]) == (2, 0) and again["pulled"] > 0
    with station_app.app_context():
        state = station_sync.sync_state()
        assert state.cursor > 0 and not state.resending and station_sync.status().waiting == 0
        assert all(db.session.get(Opinion, uuid).acknowledged_at is not None for uuid in uuids)
