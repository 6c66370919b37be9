"""A villager's opinion leaves for the township right after it is saved."""

import time

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Opinion, SyncState
from tests.support.apps import copy_database
from tests.support.boxes import enrolled_station, read
from tests.support.crashes import Villager
from tests.support.servers import ServerProcess


def wait_for(fn, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout} s")


@pytest.mark.slow
def test_a_submission_wakes_the_sync_loop(tmp_path, demo_database, hub_database):
    hub = ServerProcess(copy_database(hub_database, tmp_path / "hub"), {"ROLE": "hub"})
    hub.start()
    # The timer alone would not sync again for an hour.
    station = enrolled_station(
        tmp_path / "station", hub, seed=demo_database, SYNC_BACKGROUND="true", SYNC_INTERVAL_SECONDS=3600
    ).start()
    try:
        villager = Villager(station.url)
        villager.open_home()  # the first request starts the loop, which syncs once
        wait_for(lambda: read(station.instance, lambda: db.session.get(SyncState, 1).last_success_at))
        villager.fill_in("村口的路灯坏了三个月，晚上很黑。")
        number = villager.submit().receipt_number
        assert number

        def hub_has_it():
            return read(hub.instance, lambda: db.session.scalar(
                select(Opinion.uuid).where(Opinion.receipt_number == number)), ROLE="hub")

        wait_for(hub_has_it)
    finally:
        station.stop()
        hub.stop()
