"""A deputy's records at the station (check-in, check-out, reception log, assisted entry)
reach the hub exactly once through the same signed push as opinions."""

from sqlalchemy import func, select

from kiosk.deputies.services import hash_pin
from kiosk.duty import services as duty
from kiosk.extensions import db
from kiosk.intake import services as intake
from kiosk.models import (
    AssistedEntry,
    DutyCheckin,
    DutyCheckout,
    ReceptionEntry,
    SetAsideRecord,
    Station,
    SyncConflict,
)
from kiosk.sync import station as station_sync
from tests.support.desk import Desk
from tests.support.factories import make_draft
from tests.support.inprocess import drop_answer, sync

MODELS = (DutyCheckin, DutyCheckout, ReceptionEntry, AssistedEntry)


def counts() -> dict[str, int]:
    return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def a_morning_on_duty(station_app, check_out: bool = True) -> dict:
    """At the station: a check-in, two reception entries, an assisted opinion, and (if asked) 签退."""
    with station_app.app_context():
        deputy = db.session.get(Station, "LC00").deputies[0]
        deputy.pin_hash = hash_pin("2580")
        db.session.commit()
        checkin = duty.check_in(deputy, "LC00", "2580")
        duty.log_reception(checkin, 3, "村道修路的事", [])
        draft = make_draft("LC00", assisted_by=checkin.uuid)
        opinion = intake.submit_draft(draft.id).opinion
        duty.log_reception(checkin, 1, None, [opinion.receipt_number])
        if check_out:
            duty.check_out(checkin, "deputy")
        return {"checkin": checkin.uuid, "deputy": deputy.id, "opinion": opinion.uuid, "number": opinion.receipt_number}


def test_a_morning_on_duty_reaches_the_hub_once(station_app, hub_app, transport):
    made = a_morning_on_duty(station_app)
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        assert counts() == {"duty_checkins": 1, "duty_checkouts": 1, "reception_entries": 2, "assisted_entries": 1}
        checkin = db.session.get(DutyCheckin, made["checkin"])
        assert (checkin.deputy_id, checkin.station_code) == (made["deputy"], "LC00")
        assert db.session.scalar(select(DutyCheckout.ended_by).where(DutyCheckout.checkin_uuid == made["checkin"])) == "deputy"
        assert duty.entered_by(made["opinion"]) == checkin.deputy.name
        entries = set(db.session.execute(select(ReceptionEntry.people, ReceptionEntry.about, ReceptionEntry.receipt_numbers)))
        assert entries == {(3, "村道修路的事", None), (1, None, made["number"])}
    with station_app.app_context():
        assert station_sync.status().waiting == 0
        assert all(db.session.scalar(select(func.count()).select_from(m).where(m.acknowledged_at.is_(None))) == 0 for m in MODELS)
    # The township's staff see who typed it.
    page = Desk(hub_app).get(f"/staff/opinions/{made['opinion']}").text
    assert "代为录入" in page and 'data-testid="entered-by"' in page
    # Nothing left to send: a second sync adds nothing.
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        assert counts() == {"duty_checkins": 1, "duty_checkouts": 1, "reception_entries": 2, "assisted_entries": 1}


def test_a_lost_answer_sends_them_again_and_the_hub_keeps_one_of_each(station_app, hub_app, transport):
    a_morning_on_duty(station_app)
    transport.after = drop_answer
    assert not sync(station_app, transport).ok
    transport.after = None
    with station_app.app_context():
        assert station_sync.status().waiting == 6  # the opinion and five deputy records
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        assert counts() == {"duty_checkins": 1, "duty_checkouts": 1, "reception_entries": 2, "assisted_entries": 1}
    with station_app.app_context():
        assert station_sync.status().waiting == 0


def test_a_check_out_after_its_check_in_was_sent_names_it(station_app, hub_app, transport):
    made = a_morning_on_duty(station_app, check_out=False)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        duty.check_out(db.session.get(DutyCheckin, made["checkin"]), "idle")
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        checkout = db.session.scalar(select(DutyCheckout))
        assert (checkout.checkin_uuid, checkout.ended_by) == (made["checkin"], "idle")


def test_a_record_changed_after_it_was_sent_is_set_aside_and_the_hub_keeps_the_first(station_app, hub_app, transport):
    made = a_morning_on_duty(station_app)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        entry = db.session.scalar(select(ReceptionEntry).where(ReceptionEntry.people == 3))
        entry.people, entry.acknowledged_at = 30, None
        db.session.commit()
        uuid = entry.uuid
    result = sync(station_app, transport)
    assert result.ok and result.refused == 1
    with station_app.app_context():
        assert db.session.get(SetAsideRecord, uuid).reason == "changed"
    with hub_app.app_context():
        assert db.session.get(ReceptionEntry, uuid).people == 3
        assert db.session.scalar(select(func.count()).select_from(SyncConflict)) == 1
        assert db.session.get(DutyCheckin, made["checkin"]) is not None


def test_by_usb_stick_the_same_records_arrive_once(station_app, hub_app, tmp_path):
    a_morning_on_duty(station_app)
    bundle, answer = tmp_path / "duty.bundle", tmp_path / "duty.answer"
    assert station_app.test_cli_runner().invoke(args=["sync", "export", str(bundle)]).exit_code == 0
    for _ in range(2):  # the same stick carried in twice
        result = hub_app.test_cli_runner().invoke(args=["sync", "import", str(bundle), "--answer", str(answer)])
        assert result.exit_code == 0, result.output
    with hub_app.app_context():
        assert counts() == {"duty_checkins": 1, "duty_checkouts": 1, "reception_entries": 2, "assisted_entries": 1}
    assert station_app.test_cli_runner().invoke(args=["sync", "import-answer", str(answer)]).exit_code == 0
    with station_app.app_context():
        assert station_sync.status().waiting == 0
