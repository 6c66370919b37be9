"""The audit log as a hash chain: every row linked to the one before, checked by ``flask audit verify``."""

import html as html_module
import json
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import func, select

from kiosk import MIGRATIONS, audit
from kiosk.extensions import db
from kiosk.audit_log import services as audit_page
from kiosk.models import AuditEntry, Department, Opinion, Township
from kiosk.staff import services
from kiosk.workdays import add_working_days
from tests.support.apps import make_app
from tests.support.desk import Desk, station_of
from tests.support.factories import make_user, receive_opinion

NAME, PHONE = "陈大文", "13800138000"


def _some_actions() -> str:
    """A township's day: several actions on two opinions, rows written one or two to a transaction."""
    staff = make_user("township")
    first = receive_opinion(contact_name=NAME, contact_phone=PHONE)
    second = receive_opinion()
    services.accept(staff, first)
    department = Department(name="住建局")
    db.session.add(department)
    db.session.commit()
    services.forward(staff, first, department)
    services.attach_new_topic(staff, first, "路灯专题")  # two rows in one transaction
    services.merge(staff, second, first)
    services.replace_receipt(staff, first)
    return first.uuid


def _verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output.strip()


def _rows(app) -> list[AuditEntry]:
    with app.app_context():
        return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_every_row_holds_the_hash_of_the_one_before(hub_app):
    with hub_app.app_context():
        _some_actions()
    rows = _rows(hub_app)
    assert len(rows) >= 6
    assert rows[0].prev_hash == audit.GENESIS
    for before, row in zip(rows, rows[1:]):
        assert row.prev_hash == before.row_hash
        assert row.row_hash == audit.row_hash(audit._fields(row), row.prev_hash)
    assert len({row.row_hash for row in rows}) == len(rows)
    assert _verify(hub_app) == (0, f"ok {len(rows)} rows")


def test_the_hash_is_over_sorted_key_json_with_the_previous_hash(hub):
    with hub.app_context():
        _some_actions()
        row = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        text = audit.canonical(audit._fields(row), row.prev_hash).decode()
        assert text.startswith('{"action":"replace_receipt","address":null,"after":{')
        assert f'"prev_hash":"{row.prev_hash}"' in text and '"username":' in text


def _sql(app, statement: str, **values) -> None:
    with app.app_context():
        db.session.execute(sa.text(statement), values)
        db.session.commit()


def test_an_edited_row_breaks_the_chain_at_its_id(hub_app):
    with hub_app.app_context():
        _some_actions()
    middle = _rows(hub_app)[3]
    _sql(hub_app, "UPDATE audit_log SET note = 'nothing happened' WHERE id = :id", id=middle.id)
    code, output = _verify(hub_app)
    assert code == 1
    assert output.startswith(f"broken at id {middle.id}: ") and "changed" in output


def test_an_edit_with_its_hash_made_again_breaks_the_chain_at_the_next_row(hub_app):
    with hub_app.app_context():
        _some_actions()
    rows = _rows(hub_app)
    middle, following = rows[2], rows[3]
    fields = {**audit._fields(middle), "note": "nothing happened"}
    forged = audit.row_hash(fields, middle.prev_hash)
    _sql(hub_app, "UPDATE audit_log SET note = 'nothing happened', row_hash = :h WHERE id = :id", h=forged, id=middle.id)
    code, output = _verify(hub_app)
    assert (code, output.split(":")[0]) == (1, f"broken at id {following.id}")


def test_a_deleted_row_breaks_the_chain_at_the_next_row(hub_app):
    with hub_app.app_context():
        _some_actions()
    rows = _rows(hub_app)
    _sql(hub_app, "DELETE FROM audit_log WHERE id = :id", id=rows[2].id)
    code, output = _verify(hub_app)
    assert code == 1
    assert output.startswith(f"broken at id {rows[3].id}: ") and "deleted" in output


def test_the_orm_refuses_to_change_or_delete_a_row(hub):
    with hub.app_context():
        _some_actions()
        row = db.session.scalars(select(AuditEntry).limit(1)).one()
        row.note = "changed"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.commit()
        db.session.rollback()
    assert _verify(hub)[0] == 0


def _writer(app, barrier, errors, count=5):
    try:
        with app.app_context():
            barrier.wait(timeout=30)
            for i in range(count):
                audit.record("test.write", subject=f"thread:{threading.get_ident()}:{i}")
                db.session.commit()
    except Exception as error:  # reported to the test, which fails on it
        errors.append(error)


def _waiting_for_the_chain_lock(connection) -> int:
    return connection.execute(
        sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND NOT granted"),
        {"key": audit.CHAIN_LOCK},
    ).scalar()


@pytest.mark.parametrize("hub_app", ["postgres"], indirect=True)
def test_writers_on_postgres_wait_for_the_chain_lock_and_keep_one_chain(hub_app):
    writers = 4
    errors: list = []
    barrier = threading.Barrier(writers)
    url = hub_app.config["SQLALCHEMY_DATABASE_URI"]
    holder = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with holder.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": audit.CHAIN_LOCK})
        threads = [threading.Thread(target=_writer, args=(hub_app, barrier, errors)) for _ in range(writers)]
        for thread in threads:
            thread.start()
        # Every writer blocks on the chain's lock before it reads the chain's end.
        waiting = 0
        for _ in range(100_000):
            waiting = _waiting_for_the_chain_lock(connection)
            if waiting == writers or errors:
                break
        assert waiting == writers, errors
        connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": audit.CHAIN_LOCK})
    for thread in threads:
        thread.join(timeout=60)
    holder.dispose()
    assert errors == []
    assert _verify(hub_app) == (0, f"ok {writers * 5} rows")


def test_writers_on_sqlite_take_turns_and_keep_one_chain(hub):
    writers = 4
    errors: list = []
    barrier = threading.Barrier(writers)
    threads = [threading.Thread(target=_writer, args=(hub, barrier, errors)) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert _verify(hub) == (0, f"ok {writers * 5} rows")


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_migration_chains_the_rows_already_there(tmp_path, database, request):
    settings = {"ROLE": "hub", "AUTO_MIGRATE": False}
    if database == "postgres":
        settings["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = make_app(tmp_path, **settings)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0005")
        for i in range(3):
            db.session.execute(
                sa.text(
                    "INSERT INTO audit_log (at, username, action, subject, before, after, note) "
                    "VALUES (:at, 'clerk', 'accept', :subject, :before, :after, :note)"
                ),
                {"at": f"2026-11-0{i + 1} 08:00:00.123456", "subject": f"opinion:{i}", "before": '{"status": "received"}',
                 "after": '{"status": "accepted", "n": 1.5}', "note": "旧的记录"},
            )  # fmt: skip
        db.session.commit()
        upgrade(directory=str(MIGRATIONS))
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 3
    assert _verify(app) == (0, "ok 3 rows")
    # New rows follow the migrated ones.
    with app.app_context():
        audit.record("test.write", subject="after the migration")
        db.session.commit()
        db.engine.dispose()
    assert _verify(app) == (0, "ok 4 rows")
    with app.app_context():
        db.engine.dispose()


# --- what a row holds -----------------------------------------------------------------------------


def test_contact_details_go_into_a_row_masked(hub):
    with hub.app_context():
        staff = make_user("township")
        opinion = receive_opinion(contact_name=NAME, contact_phone=PHONE)
        audit.record(
            "test.write",
            actor=staff,
            opinion=opinion,
            before={"contact_phone": PHONE, "who": [NAME], "uuid": opinion.uuid},
            after={"nested": {"text": f"已与{NAME}通话（138 0013 8000）"}},
            note=f"{NAME}来电，回拨１３９１２３４５６７８；身份证445381198001011234",
        )
        db.session.commit()
        row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "test.write")).one()
        assert row.before == {"contact_phone": "138****8000", "who": ["陈**"], "uuid": opinion.uuid}
        assert row.after == {"nested": {"text": "已与陈**通话（138****8000）"}}
        assert row.note == "陈**来电，回拨139****5678；身份证445381********1234"
    assert _verify(hub)[0] == 0


def test_verify_with_no_rows_is_ok(hub):
    assert _verify(hub) == (0, "ok 0 rows")



# --- the page for city staff ----------------------------------------------------------------------


def _ids(page_text: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', page_text)]


@pytest.fixture
def city(hub):
    return Desk(hub, role="city")


def test_the_page_lists_rows_newest_first_with_contacts_masked(hub, city):
    with hub.app_context():
        uuid = _some_actions()
        number = db.session.get(Opinion, uuid).receipt_number
        newest = db.session.scalar(select(func.max(AuditEntry.id)))
    page = city.get("/staff/audit/")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">审计日志<' in html
    ids = _ids(html)
    assert ids[0] == newest and ids == sorted(ids, reverse=True)
    assert number in html and "补打回执" in html and "转办" in html
    assert PHONE not in html and NAME not in html


def test_filters_narrow_the_rows_and_stay_in_the_page_links(hub, city):
    with hub.app_context():
        _some_actions()
        other = make_user("township", township="素龙街道")
        services.accept(other, receive_opinion(station_of("素龙街道")))
        for i in range(audit_page.PAGE_SIZE + 5):
            audit.record("export", actor=other, subject=f"export:csv:{i}")
        db.session.commit()
        township_b = db.session.scalar(select(Township.id).where(Township.name == "素龙街道"))
        rows = db.session.scalars(select(AuditEntry)).all()
        by_b = [r.id for r in rows if r.user_id == other.id]
        accepts = [r.id for r in rows if r.action == "accept"]
    html = city.get("/staff/audit/", query_string={"action": "accept"}).text
    assert sorted(_ids(html)) == sorted(accepts) and len(accepts) == 2
    first = city.get("/staff/audit/", query_string={"township": township_b}).text
    assert len(_ids(first)) == audit_page.PAGE_SIZE and set(_ids(first)) <= set(by_b)
    older = re.search(r'href="([^"]+)"[^>]*data-testid="older"', first).group(1)
    assert f"township={township_b}" in older
    second = city.get(html_module.unescape(older)).text
    assert sorted(_ids(first) + _ids(second)) == sorted(by_b)
    assert "回到最新" in second and 'data-testid="older"' not in second
    who = city.get("/staff/audit/", query_string={"who": other.id, "action": "accept"}).text
    assert len(_ids(who)) == 1
    assert _ids(city.get("/staff/audit/", query_string={"who": "system"}).text) == []
    with hub.app_context():
        today = services.today()
    assert len(_ids(city.get("/staff/audit/", query_string={"date_from": today.isoformat()}).text)) == 50
    assert _ids(city.get("/staff/audit/", query_string={"date_to": (today - timedelta(days=1)).isoformat()}).text) == []


def test_htmx_gets_the_results_alone(hub, city):
    with hub.app_context():
        _some_actions()
    fragment = city.get("/staff/audit/", htmx=True, query_string={"action": "merge"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert fragment.text.lstrip().startswith('<div id="audit-results"') and len(_ids(fragment.text)) == 1


@pytest.mark.parametrize(
    "query",
    [{"who": "x"}, {"who": "99999999999"}, {"township": "-1"}, {"date_from": "2026-13-40"}, {"before": "abc"},
     {"action": "a" * 500}, {"date_from": "2026-12-09", "date_to": "2026-01-01"}],
)  # fmt: skip
def test_odd_filters_are_ignored_never_an_error(hub, city, query):
    assert city.get("/staff/audit/", query_string=query).status_code == 200


# --- a walk through the product's actions leaves no contact details in the log --------------------


def test_no_row_of_a_day_at_the_office_holds_a_name_or_phone_unmasked(hub):
    clerk, chair, city_desk = Desk(hub), Desk(hub, role="chair"), Desk(hub, role="city")
    with hub.app_context():
        department = Department(name="水务局", contact_person="王科长", contact_phone="0766-3822111")
        db.session.add(department)
        db.session.commit()
        opinions = [receive_opinion(contact_name=NAME, contact_phone=PHONE).uuid for _ in range(4)]
        numbers = [db.session.get(Opinion, uuid).receipt_number for uuid in opinions]
        department_id = department.id
        soon = add_working_days(services.today(), 3).isoformat()
    first, second, third, fourth = opinions
    steps = [
        (clerk, f"/staff/opinions/{first}/accept", {"accept-note": f"已电话联系{NAME}（{PHONE}）"}),
        (clerk, f"/staff/opinions/{first}/forward", {"forward-department": department_id, "forward-due_on": soon,
                                                     "forward-instructions": f"请联系{NAME}，电话{PHONE}"}),
        (chair, f"/staff/opinions/{first}/key-supervision", {"set_key_supervision-on": "1"}),
        (clerk, f"/staff/opinions/{second}/merge", {"merge-original": numbers[0], "merge-confirm": "y"}),
        (clerk, f"/staff/opinions/{third}/decline", {"decline-public_reason": "不属于人大职责。", "decline-confirm": "y"}),
        (clerk, f"/staff/opinions/{fourth}/replacement-receipt", {"replace_receipt-confirm": "y"}),
        (clerk, "/staff/find", {"phone": PHONE}),
        (clerk, "/staff/", {"status": "all", "text": PHONE[-6:]}),
    ]  # fmt: skip
    for desk, url, data in steps:
        answer = desk.post(url, data, htmx=True)
        assert answer.status_code == 200, url
    for desk in (clerk, city_desk):
        assert desk.get("/staff/stats/export").status_code == 200
        assert desk.get(f"/staff/opinions/{first}").status_code == 200
    with hub.app_context():
        rows = db.session.scalars(select(AuditEntry)).all()
        actions = {row.action for row in rows}
        assert {"accept", "forward", "set_key_supervision", "merge", "decline", "replace_receipt", "find", "export"} <= actions
        digits = PHONE
        for row in rows:
            held = json.dumps([row.before, row.after, row.note, row.subject], ensure_ascii=False)
            assert digits not in re.sub(r"[\s\-]", "", held), (row.action, held)
            assert NAME not in held, (row.action, held)
        notes = " ".join(row.note or "" for row in rows) + json.dumps([row.after for row in rows], ensure_ascii=False)
        assert "陈**" in notes and "138****8000" in notes
    assert _verify(hub)[0] == 0
