"""Limits on wrong tries that hold across worker processes and restarts.

The sync admin PIN (five wrong within 15 minutes lock it for 15 minutes)
and wrong 验证码 at the look-up: counted in the database, so a second app
on the same database file (another worker) and a new app after a restart
see the same lock, and a lock ends on time.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.limits import Limit
from kiosk.models import LimitFailure, utcnow
from tests.support.apps import make_app
from tests.support.factories import make_opinion
from tests.support.web import csrf_token, text

PIN = "2468"


class Clock:
    """The app's clock (SYNC_CLOCK), moved on by the test."""

    def __init__(self):
        self.moment = utcnow()

    def __call__(self):
        return self.moment

    def advance(self, **delta):
        self.moment += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def worker(app, clock):
    """The station's app as one worker process, with the PIN screen on."""
    app.config.update(ADMIN_PIN=PIN, SYNC_CLOCK=clock)
    return app


def another_worker(app, clock):
    """A second app on the same instance folder and database file: another worker, or the box after a restart."""
    other = make_app(app.instance_path, AUTO_MIGRATE=False, ADMIN_PIN=PIN, SYNC_CLOCK=clock)
    other.config["LOOKUP_FAILURES_PER_10_MINUTES"] = app.config["LOOKUP_FAILURES_PER_10_MINUTES"]
    return other


def try_pin(app, pin):
    client = app.test_client()
    page = client.get("/admin/sync/")
    return client.post("/admin/sync/unlock", data={"pin": pin, "csrf_token": csrf_token(text(page))})


def assert_locked(answer, minutes: int):
    assert answer.status_code == 200
    assert f"管理密码输错次数太多，已锁定。请 {minutes} 分钟后再试。" in text(answer)
    assert "管理密码不对" not in text(answer)


def test_five_wrong_pins_lock_the_screen_for_15_minutes(worker, clock):
    for guess in ("0000", "1111", "2222", "3333"):
        answer = try_pin(worker, guess)
        assert "管理密码不对" in text(answer) and "已锁定" not in text(answer)
        clock.advance(minutes=1)
    assert_locked(try_pin(worker, "4444"), 15)
    # While locked even the right PIN is not compared.
    assert_locked(try_pin(worker, PIN), 15)
    assert_locked(worker.test_client().get("/admin/sync/"), 15)
    clock.advance(minutes=14, seconds=30)
    assert_locked(try_pin(worker, PIN), 1)
    clock.advance(seconds=30)
    assert try_pin(worker, PIN).status_code == 302


def test_wrong_pins_further_apart_than_15_minutes_do_not_lock(worker, clock):
    for guess in ("0000", "1111", "2222", "3333"):
        try_pin(worker, guess)
    clock.advance(minutes=15, seconds=1)
    answer = try_pin(worker, "4444")
    assert "管理密码不对" in text(answer) and "已锁定" not in text(answer)
    assert try_pin(worker, PIN).status_code == 302


def test_the_right_pin_forgets_earlier_mistakes(worker):
    for guess in ("0000", "1111", "2222", "3333"):
        try_pin(worker, guess)
    assert try_pin(worker, PIN).status_code == 302
    answer = try_pin(worker, "4444")
    assert "管理密码不对" in text(answer) and "已锁定" not in text(answer)


def test_the_pin_lock_holds_for_another_worker_and_after_a_restart(worker, clock):
    second = another_worker(worker, clock)
    for guess in ("0000", "1111", "2222"):
        try_pin(worker, guess)
    for guess in ("3333", "4444"):
        try_pin(second, guess)
    assert_locked(try_pin(worker, PIN), 15)
    assert_locked(try_pin(second, PIN), 15)
    for app in (worker, second):
        with app.app_context():
            db.engine.dispose()
    restarted = another_worker(worker, clock)
    assert_locked(try_pin(restarted, PIN), 15)
    clock.advance(minutes=15)
    assert try_pin(restarted, PIN).status_code == 302
    with restarted.app_context():
        db.engine.dispose()


def test_wrong_secrets_lock_a_receipt_for_another_worker_and_after_a_restart(worker, clock):
    worker.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    with worker.app_context():
        opinion = make_opinion()
        number, secret = opinion.receipt_number, opinion.secret
    second = another_worker(worker, clock)
    for app, guess in ((worker, "AAAAAA"), (second, "CCCCCC"), (worker, "DDDDDD")):
        assert app.test_client().get(f"/r/{number}?k={guess}").status_code == 404
    for app in (worker, second):
        assert app.test_client().get(f"/r/{number}?k={secret}").status_code == 429
        with app.app_context():
            db.engine.dispose()
    restarted = another_worker(worker, clock)
    assert restarted.test_client().get(f"/r/{number}?k={secret}").status_code == 429
    clock.advance(minutes=10)
    assert restarted.test_client().get(f"/r/{number}?k={secret}").status_code == 200
    with restarted.app_context():
        db.engine.dispose()


def test_failures_that_can_lock_nothing_any_more_are_deleted(app, clock):
    """Many keys failing over time: only the rows still able to lock are kept."""
    limit = Limit("test", failures=3, window=timedelta(minutes=10), lock=timedelta(minutes=5))
    with app.app_context():
        start = clock()
        for i in range(50):
            limit.record_failure(f"key-{i}", start)
        limit.record_failure("key-late", start + timedelta(minutes=15, seconds=1))
        keys = db.session.scalars(select(LimitFailure.key).where(LimitFailure.kind == "test")).all()
        assert keys == ["key-late"]


def test_wrong_look_ups_at_a_hub_hold_across_its_workers(hub_app):
    """At a hub, on SQLite or PostgreSQL: an address walking through receipts waits at every worker."""
    second = make_app(
        hub_app.instance_path, AUTO_MIGRATE=False, ROLE="hub", DATABASE_URL=hub_app.config.get("DATABASE_URL")
    )
    for app in (hub_app, second):
        app.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    walker = {"REMOTE_ADDR": "10.0.0.9"}
    for app, serial in ((hub_app, 7001), (second, 7002), (hub_app, 7003)):
        assert app.test_client().get(f"/r/LC00-260101-{serial}?k=ABCDEF", environ_base=walker).status_code == 404
    for app in (hub_app, second):
        assert app.test_client().get("/r/LC00-260101-7004?k=ABCDEF", environ_base=walker).status_code == 429
    neighbour = {"REMOTE_ADDR": "10.0.0.10"}
    assert second.test_client().get("/r/LC00-260101-7004?k=ABCDEF", environ_base=neighbour).status_code == 404
    with second.app_context():
        db.engine.dispose()
