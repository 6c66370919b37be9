"""A Hypothesis state machine over submit / sync / drop / duplicate / reorder /
crash / hub updates / clock drift, through the in-process transport.

After every step: the hub holds a subset of the station's records, with the
same content; the station has marked acknowledged (and deleted contact
details of) only records the hub holds. At the end, a few clean syncs make
both sides equal. ``HYPOTHESIS_PROFILE=long`` (make bench) runs it longer.
"""

import os
import random
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Opinion, OpinionEvent, OpinionStatus, SyncConflict, utcnow
from kiosk.sync import registry as hub_services
from kiosk.sync import enrolment
from kiosk.sync import station as station_sync
from kiosk.sync.client import LinkDown
from tests.support.apps import make_app
from tests.support.factories import make_opinion
from tests.support.inprocess import AppTransport

settings.register_profile("ci", max_examples=20, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("long", max_examples=300, stateful_step_count=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SEEDS: dict[str, Path] = {}


class Crash(Exception):
    """The station process died here (nothing after this point was committed)."""


class SyncModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="sync-model-"))
        self.clock = {"hub": utcnow(), "station": utcnow()}
        self.hub = self._box("hub", SEEDS["hub"], ROLE="hub", SYNC_CLOCK=lambda: self.clock["hub"])
        self.station = self._box("station", SEEDS["station"], SYNC_CLOCK=lambda: self.clock["station"], SYNC_BATCH_SIZE=3)
        self.transport = AppTransport(self.hub)
        self.held: list[tuple] = []
        with self.hub.app_context():
            token = hub_services.issue_token("LC00")
        with self.station.app_context():
            enrolment.enroll("http://hub.test", token, transport=self.transport)

    def _box(self, name, seed, **config):
        instance = self.folder / name
        instance.mkdir()
        with sqlite3.connect(seed) as source, sqlite3.connect(instance / "kiosk.sqlite3") as copy:
            source.backup(copy)
        return make_app(instance, AUTO_MIGRATE=False, **config)

    def teardown(self):
        for app in (self.hub, self.station):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- steps ---------------------------------------------------------------

    @rule(contact=st.booleans())
    def submit(self, contact):
        answers = {"anonymous": False, "name": "陈大文", "phone": "13800000000", "consent_version": "2026-11"} if contact else {}
        with self.station.app_context():
            make_opinion("LC00", **answers)

    def _sync(self):
        with self.station.app_context():
            try:
                return station_sync.sync_once(transport=self.transport)
            finally:
                db.session.remove()
                self.transport.before = self.transport.after = None

    @rule()
    def sync(self):
        self._sync()

    @rule(nth=st.integers(0, 3))
    def sync_request_lost(self, nth):
        self.transport.before = self._on_nth(nth, lambda *a: (_ for _ in ()).throw(LinkDown("lost")))
        self._sync()

    @rule(nth=st.integers(0, 3))
    def sync_answer_lost(self, nth):
        self.transport.after = self._on_nth(nth, lambda reply: (_ for _ in ()).throw(LinkDown("lost")))
        self._sync()

    @rule(nth=st.integers(0, 3))
    def sync_with_a_duplicated_request(self, nth):
        def duplicate(method, path, headers, body):
            self.hub.test_client().open(path, method=method, headers=headers, data=body)

        self.transport.before = self._on_nth(nth, duplicate)
        self._sync()

    @rule(nth=st.integers(0, 3))
    def sync_holding_a_request_back(self, nth):
        """The request is delayed in the network: it arrives later, out of order."""
        def hold(method, path, headers, body):
            self.held.append((method, path, dict(headers), body))
            raise LinkDown("delayed")

        self.transport.before = self._on_nth(nth, hold)
        self._sync()

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def late_requests_arrive(self, data):
        order = data.draw(st.permutations(range(len(self.held))))
        for i in order:
            method, path, headers, body = self.held[i]
            self.hub.test_client().open(path, method=method, headers=headers, data=body)
        self.held.clear()

    @rule(nth=st.integers(0, 3))
    def station_crashes_after_the_hub_answered(self, nth):
        self.transport.after = self._on_nth(nth, lambda reply: (_ for _ in ()).throw(Crash()))
        with self.station.app_context():
            try:
                station_sync.sync_once(transport=self.transport)
            except Crash:
                db.session.rollback()
            finally:
                db.session.remove()
                self.transport.after = None

    @rule(status=st.sampled_from([OpinionStatus.ACCEPTED, OpinionStatus.FORWARDED, OpinionStatus.CLOSED]), data=st.data())
    def hub_staff_update_an_opinion(self, status, data):
        with self.hub.app_context():
            uuids = sorted(db.session.scalars(select(Opinion.uuid)))
            if uuids:
                uuid = data.draw(st.sampled_from(uuids))
                opinion = db.session.get(Opinion, uuid)
                opinion.status = status
                opinion.public_reply = "已处理。" if status == OpinionStatus.CLOSED else None
                db.session.add(OpinionEvent(opinion_uuid=uuid, status=status, at=self.clock["hub"]))
                db.session.commit()
            db.session.remove()

    @rule(box=st.sampled_from(["hub", "station"]), seconds=st.integers(-600, 3 * 86400))
    def clock_moves(self, box, seconds):
        self.clock[box] = self.clock[box] + timedelta(seconds=seconds)

    def _on_nth(self, nth, action):
        calls = {"n": 0}

        def hook(*args):
            calls["n"] += 1
            if calls["n"] - 1 == nth:
                return action(*args)
            return None

        return hook

    # --- what must always hold ---------------------------------------------

    def _views(self):
        with self.hub.app_context():
            hub = {o.uuid: (o.receipt_number, o.content, o.status) for o in db.session.scalars(select(Opinion))}
            conflicts = db.session.scalar(select(db.func.count()).select_from(SyncConflict))
            db.session.remove()
        with self.station.app_context():
            station = {
                o.uuid: (o.receipt_number, o.content, o.status, o.acknowledged_at, o.contact_phone, o.consent_version)
                for o in db.session.scalars(select(Opinion))
            }
            db.session.remove()
        return hub, station, conflicts

    @invariant()
    def hub_holds_a_subset_and_nothing_is_acknowledged_early(self):
        hub, station, conflicts = self._views()
        assert conflicts == 0
        assert set(hub) <= set(station)
        for uuid, (number, content, *_rest) in hub.items():
            assert station[uuid][:2] == (number, content)
        for uuid, (_n, _c, _s, acknowledged, phone, consent) in station.items():
            if acknowledged is not None:
                assert uuid in hub
                assert phone is None
            elif consent is not None:
                assert phone is not None  # never deleted before a verified acknowledgement

    def check_convergence(self):
        self.held.clear()
        self.clock["station"] = self.clock["hub"]
        for _ in range(3):
            assert self._sync().ok
        hub, station, _ = self._views()
        assert set(hub) == set(station)
        for uuid, (_n, _c, status) in hub.items():
            assert station[uuid][3] is not None and station[uuid][2] == status


class ConvergingSyncModel(SyncModel):
    def teardown(self):
        try:
            self.check_convergence()
        finally:
            super().teardown()


@pytest.fixture
def seeds(hub_seed_sqlite, demo_database):  # noqa: F811
    SEEDS.update(hub=hub_seed_sqlite, station=demo_database)


@pytest.mark.slow
def test_station_and_hub_converge_whatever_the_link_does(seeds):
    profile = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    ConvergingSyncModel.TestCase.settings = profile
    random.seed(0)
    ConvergingSyncModel.TestCase().runTest()
