"""Deputy mode at the kiosk: check-in with the PIN, the lock after five wrong PINs, the
records it leaves (check-in, check-out, reception log), and its end by 签退 or idle."""

from datetime import timedelta

from sqlalchemy import func, select

from kiosk.clock import now
from kiosk.deputies.services import hash_pin
from kiosk.duty import services
from kiosk.extensions import db
from kiosk.models import AssistedEntry, Draft, DutyCheckin, DutyCheckout, LimitFailure, Opinion, PrintJob, ReceptionEntry, Station
from kiosk.receipts.pdf import receipt_html
from kiosk.receipts.services import receipt_context
from tests.support.factories import make_opinion
from tests.support.web import page_token, text

PIN = "4826"


def deputy_with_pin(app, pin: str = PIN, index: int = 0) -> int:
    with app.app_context():
        deputy = db.session.get(Station, "LC00").deputies[index]
        deputy.pin_hash = hash_pin(pin)
        db.session.commit()
        return deputy.id


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def type_pin(client, deputy_id: int, pin: str):
    token = page_token(client, f"/duty/{deputy_id}/pin")
    return client.post(f"/duty/{deputy_id}/pin", data={"csrf_token": token, "pin": pin})


def test_the_right_pin_opens_deputy_mode_and_sign_out_ends_it(app, client):
    deputy_id = deputy_with_pin(app)
    home = text(client.get("/"))
    assert 'data-testid="deputy-checkin"' in home
    assert f'data-testid="checkin-{deputy_id}"' in text(client.get("/duty/"))
    page = text(type_pin(client, deputy_id, PIN))
    assert 'data-testid="deputy-mode"' in page and "已签到 0 分钟" in page
    with app.app_context():
        checkin = db.session.scalar(select(DutyCheckin))
        assert (checkin.deputy_id, checkin.station_code) == (deputy_id, "LC00")
        name = checkin.deputy.name
    assert name in page
    token = page_token(client, "/duty/mode")
    page = text(client.post("/duty/checkout", data={"csrf_token": token}))
    assert 'data-testid="deputy-mode"' not in page and 'data-testid="start"' in page
    with app.app_context():
        checkout = db.session.scalar(select(DutyCheckout))
        assert (checkout.checkin_uuid, checkout.ended_by) == (checkin.uuid, "deputy")
    # Ended: the mode's screens lead home.
    assert 'data-testid="deputy-mode"' not in text(client.get("/duty/mode"))


def test_a_wrong_pin_is_refused_and_counted(app, client):
    deputy_id = deputy_with_pin(app)
    page = text(type_pin(client, deputy_id, "1111"))
    assert "密码不对" in page and 'data-testid="deputy-mode"' not in page
    with app.app_context():
        assert count(DutyCheckin) == 0
        assert count(LimitFailure, LimitFailure.kind == "deputy-pin", LimitFailure.key == str(deputy_id)) == 1


def test_five_wrong_pins_lock_that_deputy_s_check_in_for_15_minutes(app, client):
    deputy_id = deputy_with_pin(app)
    other_id = deputy_with_pin(app, "9753", index=1)
    for _ in range(4):
        assert 'data-testid="pin-locked"' not in text(type_pin(client, deputy_id, "0000"))
    page = text(type_pin(client, deputy_id, "0000"))
    assert 'data-testid="pin-locked"' in page and "15 分钟" in page
    # Locked: even the right PIN does not open it, and is not counted.
    page = text(type_pin(client, deputy_id, PIN))
    assert 'data-testid="pin-locked"' in page and 'data-testid="deputy-mode"' not in page
    with app.app_context():
        assert count(DutyCheckin) == 0 and count(LimitFailure, LimitFailure.key == str(deputy_id)) == 5
        deputy = db.session.get(Station, "LC00").deputies[0]
        # Fifteen minutes after the last wrong PIN it opens again.
        later = now() + timedelta(minutes=15, seconds=1)
        assert services.check_in(deputy, "LC00", PIN, later).deputy_id == deputy_id
    # Another deputy is not locked by it.
    assert 'data-testid="deputy-mode"' in text(type_pin(client, other_id, "9753"))


def test_a_deputy_without_a_pin_cannot_check_in(app, client):
    with app.app_context():
        deputy_id = db.session.get(Station, "LC00").deputies[0].id
    page = text(type_pin(client, deputy_id, "1234"))
    assert "还没有设置值班密码" in page
    with app.app_context():
        assert count(DutyCheckin) == 0


def test_a_deputy_of_another_station_is_not_offered(app, client):
    with app.app_context():
        here = {d.id for d in db.session.get(Station, "LC00").deputies}
        stranger = next(d for s in db.session.scalars(select(Station)) for d in s.deputies if d.id not in here)
        stranger.pin_hash = hash_pin(PIN)
        db.session.commit()
        stranger_id = stranger.id
    assert type_pin(client, stranger_id, PIN).status_code == 404
    with app.app_context():
        assert count(DutyCheckin) == 0


def test_deputy_mode_left_idle_ends_by_itself_with_a_check_out(app, client):
    deputy_id = deputy_with_pin(app)
    assert 'data-testid="deputy-mode"' in text(type_pin(client, deputy_id, PIN))
    app.config["DEPUTY_IDLE_SECONDS"] = 0
    page = text(client.get("/duty/mode"))
    assert 'data-testid="deputy-mode"' not in page and 'data-testid="start"' in page
    with app.app_context():
        assert db.session.scalar(select(DutyCheckout.ended_by)) == "idle"


def test_checking_in_wipes_a_villager_s_draft(app, client):
    deputy_id = deputy_with_pin(app)
    token = page_token(client, "/")
    client.post("/opinion/start", data={"csrf_token": token})
    with client.session_transaction() as session:
        draft_id = session["draft_id"]
    type_pin(client, deputy_id, PIN)
    with client.session_transaction() as session:
        assert "draft_id" not in session
    with app.app_context():
        assert db.session.get(Draft, draft_id) is None


def test_a_reception_entry_is_its_own_record_with_no_personal_data_required(app, client):
    deputy_id = deputy_with_pin(app)
    type_pin(client, deputy_id, PIN)
    token = page_token(client, "/duty/reception")
    for bad in ("0", "abc", "1000", "-1"):
        page = text(client.post("/duty/reception", data={"csrf_token": token, "people": bad}))
        assert "人数应在 1 到 999 之间" in page and "Not a valid" not in page, bad
    page = text(client.post("/duty/reception", data={"csrf_token": token, "people": "2", "receipts": "LC00-991231-9999"}))
    assert "本站没有回执编号 LC00-991231-9999" in page
    page = text(client.post("/duty/reception", data={"csrf_token": token, "people": "2", "receipts": "LC00 " * 100}))
    assert "回执编号最多 400 个字符" in page and "Field cannot" not in page
    with app.app_context():
        assert count(ReceptionEntry) == 0
    for people, about in (("3", "村道修路的事"), ("1", "")):
        page = text(client.post("/duty/reception", data={"csrf_token": token, "people": people, "about": about}))
        assert f"已登记接待 {people} 人" in page
    with app.app_context():
        entries = db.session.scalars(select(ReceptionEntry).order_by(ReceptionEntry.people)).all()
        assert [(e.people, e.about) for e in entries] == [(1, None), (3, "村道修路的事")]
        assert len({e.uuid for e in entries}) == 2 and {e.checkin_uuid for e in entries} == {
            db.session.scalar(select(DutyCheckin.uuid))
        }


def test_an_assisted_entry_is_marked_with_the_deputy_on_screen_and_on_the_receipt(app, client):
    deputy_id = deputy_with_pin(app)
    type_pin(client, deputy_id, PIN)
    token = page_token(client, "/duty/mode")
    page = text(client.post("/duty/assisted", data={"csrf_token": token}))
    assert 'data-testid="category-road"' in page
    for path, data in (
        ("/opinion/category", {"category": "road"}),
        ("/opinion/content", {"content": "村口的路灯坏了三个月，晚上很黑。"}),
        ("/opinion/contact", {"anonymous": "1"}),
        ("/opinion/deputy", {"deputy_id": ""}),
    ):
        client.post(path, data={"csrf_token": token, **data})
    page = text(client.post("/opinion/submit", data={"csrf_token": token}))
    with app.app_context():
        entry = db.session.scalar(select(AssistedEntry))
        checkin = db.session.get(DutyCheckin, entry.checkin_uuid)
        opinion = db.session.get(Opinion, entry.opinion_uuid)
        name = checkin.deputy.name
        assert checkin.deputy_id == deputy_id and opinion.consent_version is None
        printed = receipt_html(receipt_context(opinion, "https://rd.example.cn/r/x"))
    assert f"代表{name}代为录入" in page and opinion.receipt_number in page
    assert f"代表{name}代为录入" in printed
    # The villager's own walk, later, is not marked.
    client.post("/opinion/start", data={"csrf_token": token})
    with app.app_context():
        assert count(AssistedEntry) == 1


def test_today_s_opinions_show_numbers_and_status_without_contacts_and_reprint(app, client):
    deputy_id = deputy_with_pin(app)
    with app.app_context():
        mine = make_opinion(anonymous=False, consent_version="2026-12", name="陈大文", phone="13812345678")
        number, name = mine.receipt_number, mine.contact_name
        assert name == "陈大文"
    type_pin(client, deputy_id, PIN)
    page = text(client.get("/duty/today"))
    assert number in page and 'data-testid="reprint"' in page
    assert name not in page and "13812345678" not in page and "1381" not in page
    token = page_token(client, "/duty/today")
    with app.app_context():
        jobs = count(PrintJob)
    for _ in range(2):  # a deputy may reprint more than the kiosk's one reprint
        page = text(client.post("/duty/reprint", data={"csrf_token": token, "number": number}))
        assert f"{number}：" in page
    with app.app_context():
        assert count(PrintJob, PrintJob.kind == "reprint") == 2 and count(PrintJob) == jobs + 2
    page = text(client.post("/duty/reprint", data={"csrf_token": token, "number": "LC00-991231-0001"}))
    assert "只能补打本站今天的回执" in page
    # Out of deputy mode, neither the list nor a reprint.
    client.post("/duty/checkout", data={"csrf_token": token})
    assert number not in text(client.get("/duty/today"))
    client.post("/duty/reprint", data={"csrf_token": token, "number": number})
    with app.app_context():
        assert count(PrintJob) == jobs + 2


def test_the_opinion_screens_keep_deputy_mode_alive_and_end_it_when_left_too_long(app, client):
    deputy_id = deputy_with_pin(app)
    type_pin(client, deputy_id, PIN)
    with client.session_transaction() as session:
        session["duty_seen"] -= 100
    client.get("/")  # an opinion screen: a touch of deputy mode
    with client.session_transaction() as session:
        seen = session["duty_seen"]
    app.config["DEPUTY_IDLE_SECONDS"] = 50
    assert 'data-testid="deputy-mode"' in text(client.get("/duty/mode"))
    with client.session_transaction() as session:
        assert session["duty_seen"] >= seen
        session["duty_seen"] -= 100
    client.get("/")
    with client.session_transaction() as session:
        assert "duty_checkin" not in session
    with app.app_context():
        assert db.session.scalar(select(DutyCheckout.ended_by)) == "idle"
