"""Sync between real hub and station processes over HTTP, with failures on the way.

Each test ends with the same check: hub and station agree, nothing lost,
nothing duplicated, contact details deleted only where the hub holds them.
"""

import re
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Opinion, SyncConflict
from kiosk.sync import enrolment as station_sync
from kiosk.sync.enrolment import EnrolmentRefused
from tests.support.boxes import bulk_opinions, enrolled_station, hub_token, read, run, submit_opinions
from tests.support.inprocess import HUB_DATABASES, hub_database_url
from tests.support.proxy import FaultyProxy
from tests.support.servers import ROOT, ServerProcess, _env


@pytest.fixture(params=HUB_DATABASES)
def hub(request, tmp_path):
    """A hub server with the demo data, on SQLite or PostgreSQL."""
    instance = tmp_path / "hub"
    instance.mkdir()
    url = hub_database_url(request, instance)
    box = ServerProcess(instance, {"ROLE": "hub", **({"DATABASE_URL": url} if url else {})}).start()
    yield box
    box.stop()


@pytest.fixture
def station(tmp_path, hub, demo_database):
    """The folder of station box LC00, enrolled with the hub."""
    enrolled_station(tmp_path / "station", hub, seed=demo_database)
    return tmp_path / "station"


def assert_agree(hub, station_instance, expected: int):
    """Hub holds exactly the station's opinions, once each; all acknowledged;
    contact details gone at the station and kept at the hub."""
    def hub_view():
        rows = db.session.execute(select(Opinion.uuid, Opinion.receipt_number, Opinion.contact_phone)).all()
        conflicts = db.session.scalar(select(func.count()).select_from(SyncConflict))
        return rows, conflicts

    def station_view():
        rows = db.session.execute(
            select(Opinion.uuid, Opinion.receipt_number, Opinion.acknowledged_at, Opinion.contact_phone)
        ).all()
        return rows

    hub_rows, conflicts = read(hub.instance, hub_view, **hub.settings)
    station_rows = read(station_instance, station_view)
    assert conflicts == 0
    assert len(hub_rows) == len({r.receipt_number for r in hub_rows}) == expected
    assert {r.uuid for r in hub_rows} == {r.uuid for r in station_rows}
    assert all(r.acknowledged_at is not None and r.contact_phone is None for r in station_rows)
    assert sum(r.contact_phone is not None for r in hub_rows) == (expected + 1) // 2


def test_stations_add_prints_the_token_alone_on_the_last_line(hub):
    result = run(hub.instance, "stations", "add", "--code", "LC99", "--name", "测试村人大代表联络点",
                 "--township", "罗城街道", "--level", "point", env=hub.settings)
    assert re.fullmatch(r"[A-Za-z0-9_-]{24,}", result.stdout.splitlines()[-1])
    again = run(hub.instance, "stations", "add", "--code", "LC99", "--name", "x", "--township", "罗城街道",
                "--level", "point", env=hub.settings, ok=False)
    assert again.returncode != 0 and "已被使用" in again.stderr
    bad = run(hub.instance, "stations", "add", "--code", "lc-1", "--name", "x", "--township", "罗城街道",
              "--level", "point", env=hub.settings, ok=False)
    assert bad.returncode != 0
    nowhere = run(hub.instance, "stations", "add", "--code", "LC98", "--name", "x", "--township", "火星镇",
                  "--level", "point", env=hub.settings, ok=False)
    assert nowhere.returncode != 0 and "没有这个镇街" in nowhere.stderr


def test_enrol_submit_sync_once_and_list(hub, tmp_path):
    station = tmp_path / "station"
    enrolled_station(station, hub, cli=True)
    submit_opinions(station, 5)
    result = run(station, "sync", "once", env={"SYNC_BACKGROUND": "false"})
    assert "pushed 5, acknowledged 5, set aside 0" in result.stdout
    assert_agree(hub, station, 5)
    listing = run(hub.instance, "stations", "list", env=hub.settings).stdout
    line = next(line for line in listing.splitlines() if line.startswith("LC00"))
    assert "正常" in line and station_sync.SOFTWARE_VERSION in line and " 0 " in line
    status = run(station, "sync", "status").stdout
    assert "waiting: 0" in status and "last error: -" in status
    assert (station / "station_key.pem").stat().st_mode & 0o077 == 0


def test_sync_once_fails_with_a_non_zero_exit_when_the_hub_is_down(hub, station):
    submit_opinions(station, 2)
    hub.stop()
    result = run(station, "sync", "once", ok=False)
    assert result.returncode == 1 and "连不上镇人大办" in result.stderr
    assert "连不上镇人大办" in run(station, "sync", "status").stdout


def test_hub_killed_mid_batch(hub, station):
    submit_opinions(station, 30)
    hub.stop()
    dying = ServerProcess(hub.instance, {**hub.settings, "CRASH_POINT": "hub_push_before_commit"}, port=hub.port).start()
    result = run(station, "sync", "once", ok=False)
    assert result.returncode == 1
    assert dying.wait_exit() == 70
    assert read(hub.instance, lambda: db.session.scalar(select(func.count()).select_from(Opinion)), **hub.settings) == 0
    hub.start()
    run(station, "sync", "once")
    assert_agree(hub, station, 30)


def test_station_killed_after_the_hub_committed(hub, station):
    submit_opinions(station, 10)
    crashed = run(station, "sync", "once", env={"CRASH_POINT": "sync_after_push_answer"}, ok=False)
    assert crashed.returncode == 70
    waiting = read(station, lambda: db.session.scalar(
        select(func.count()).select_from(Opinion).where(Opinion.acknowledged_at.is_(None), Opinion.contact_phone.is_not(None))))
    assert waiting == 5  # the station never saw the answer: it keeps everything
    run(station, "sync", "once")
    assert_agree(hub, station, 10)


def test_hub_killed_after_commit_before_answering(hub, station):
    submit_opinions(station, 10)
    hub.stop()
    dying = ServerProcess(hub.instance, {**hub.settings, "CRASH_POINT": "hub_push_after_commit"}, port=hub.port).start()
    assert run(station, "sync", "once", ok=False).returncode == 1
    assert dying.wait_exit() == 70
    hub.start()
    run(station, "sync", "once")
    assert_agree(hub, station, 10)


@pytest.mark.slow
def test_a_two_week_backlog_of_10000_over_a_link_dropping_30_percent(hub, tmp_path, demo_database):
    station = tmp_path / "station"
    token = hub_token(hub, "LC00")
    with FaultyProxy(hub.url, drop_request=0.15, drop_answer=0.18, seed=7) as proxy:
        for attempt in range(20):  # the enrolment itself may be dropped: retrying is safe
            try:
                enrolled_station(station, hub, hub_url=proxy.url, seed=demo_database, token=token)
                break
            except EnrolmentRefused:
                pass
        bulk_opinions(station, 10_000, days=14)
        for attempt in range(60):
            result = run(station, "sync", "once", ok=False)
            if result.returncode == 0:
                break
        else:
            raise AssertionError(f"never got through: {proxy.counts}")
        assert proxy.counts["dropped_request"] > 0 and proxy.counts["dropped_answer"] > 0
    assert_agree(hub, station, 10_000)


def test_sync_once_while_the_background_loop_runs(hub, tmp_path, demo_database):
    station = tmp_path / "station"
    settings = {"SYNC_BACKGROUND": "true", "SYNC_INTERVAL_SECONDS": "1", "SYNC_BATCH_SIZE": "100"}
    enrolled_station(station, hub, seed=demo_database, **settings)
    bulk_opinions(station, 1500, days=2)
    box = ServerProcess(station, settings).start()  # the loop starts with the first request
    try:
        clis = [
            subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sync", "once"], cwd=ROOT,
                             env=_env(station, {"SYNC_BATCH_SIZE": "100"}), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        for cli in clis:
            out, err = cli.communicate(timeout=120)
            assert cli.returncode == 0, err
        busy = run(station, "sync", "once", "--no-wait", ok=False)
        assert busy.returncode in (0, 75)
    finally:
        box.stop()
    assert_agree(hub, station, 1500)
    assert "sync request failed" not in hub.log_text()
    status = run(station, "sync", "status").stdout
    assert "last error: -" in status
