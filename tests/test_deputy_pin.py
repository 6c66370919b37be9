"""A deputy's duty PIN: set at the hub (command line or staff page), stored as a slow salted
hash, and carried to their stations as that hash only."""

from sqlalchemy import select

from kiosk.deputies import services
from kiosk.extensions import db
from kiosk.models import AuditEntry, Deputy, Station
from tests.support.inprocess import sync

HOME = "LC00"


def home_deputy_id() -> int:
    return db.session.get(Station, HOME).deputies[0].id


def test_set_pin_reads_kiosk_new_pin_without_a_terminal_and_keeps_only_a_hash(hub):
    with hub.app_context():
        deputy_id = home_deputy_id()
    result = hub.test_cli_runner().invoke(args=["deputies", "set-pin", str(deputy_id)], env={"KIOSK_NEW_PIN": "482913"})
    assert result.exit_code == 0, result.output
    with hub.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert deputy.pin_hash.startswith("scrypt:") and "482913" not in deputy.pin_hash
        assert services.pin_matches(deputy, "482913") and not services.pin_matches(deputy, "482914")
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deputy.pin"))
        assert entry.subject == f"deputy:{deputy_id}"
        assert deputy.pin_hash not in repr((entry.before, entry.after, entry.note))


def test_set_pin_refuses_a_pin_that_is_not_4_to_6_digits_and_changes_nothing(hub):
    with hub.app_context():
        deputy_id = home_deputy_id()
    runner = hub.test_cli_runner()
    for bad in ("123", "1234567", "12a4", ""):
        result = runner.invoke(args=["deputies", "set-pin", str(deputy_id)], env={"KIOSK_NEW_PIN": bad})
        assert result.exit_code == 1 and "4 到 6 位数字" in result.output, bad
    result = runner.invoke(args=["deputies", "set-pin", "999999"], env={"KIOSK_NEW_PIN": "1234"})
    assert result.exit_code == 1 and "没有编号为 999999 的代表" in result.output
    with hub.app_context():
        assert db.session.get(Deputy, deputy_id).pin_hash is None


def test_set_pin_is_the_hub_s(runner):
    result = runner.invoke(args=["deputies", "set-pin", "1"], env={"KIOSK_NEW_PIN": "1234"})
    assert result.exit_code == 1 and "hub" in result.output


def test_staff_set_a_pin_on_the_deputy_s_page_typed_twice(hub, clerk):
    with hub.app_context():
        deputy_id = home_deputy_id()
    page = f"/staff/admin/deputies/{deputy_id}"
    assert 'data-testid="pin-form"' in clerk.get(page).text
    answer = clerk.post(f"{page}/pin", data={"pin": "2468", "pin_again": "2469"})
    assert answer.status_code == 200 and "两次输入的值班密码不一致" in answer.text
    answer = clerk.post(f"{page}/pin", data={"pin": "24", "pin_again": "24"})
    assert answer.status_code == 200 and "4 到 6 位数字" in answer.text
    with hub.app_context():
        assert db.session.get(Deputy, deputy_id).pin_hash is None
    answer = clerk.post(f"{page}/pin", data={"pin": "2468", "pin_again": "2468"})
    assert answer.status_code == 302
    with hub.app_context():
        assert services.pin_matches(db.session.get(Deputy, deputy_id), "2468")


def test_the_pin_reaches_the_station_as_its_hash_only(station_app, hub_app, transport):
    with hub_app.app_context():
        deputy_id = home_deputy_id()
        services.set_pin(None, db.session.get(Deputy, deputy_id), "135790")
        pin_hash = db.session.get(Deputy, deputy_id).pin_hash
    sent = []
    transport.after = lambda reply: sent.append(reply.body)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert deputy.pin_hash == pin_hash and services.pin_matches(deputy, "135790")
    assert sent and not any(b"135790" in body for body in sent)
