"""City staff's set-up pages at the hub: townships, categories, departments,
stations, accounts and the fleet."""

import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from kiosk.extensions import db
from kiosk.models import (
    AuditEntry,
    Category,
    Department,
    EnrolmentToken,
    StaffSession,
    Station,
    SyncChange,
    SyncStation,
    Township,
    User,
)
from kiosk.staff import choices as staff_choices
from kiosk.sync import registry as sync_hub
from kiosk.sync import signing
from kiosk.clock import now
from tests.support import web
from tests.support.desk import signed_in
from tests.support.factories import make_user
from tests.support.web import path, text

PAGES = [
    ("setup.index", {}),
    ("setup.fleet", {}),
    ("setup.townships", {}),
    ("setup.new_township", {}),
    ("setup.edit_township", {"township_id": 1}),
    ("setup.categories", {}),
    ("setup.new_category", {}),
    ("setup.edit_category", {"code": "road"}),
    ("setup.departments", {}),
    ("setup.new_department", {}),
    ("setup.stations", {}),
    ("setup.register_station", {}),
    ("setup.edit_station", {"code": "LC00"}),
    ("setup.revoke_station", {"code": "LC00"}),
    ("setup.users", {}),
    ("setup.new_user", {}),
]

# Pages a township's staff open too: their own departments (镇村建办, 村委会…).
TOWNSHIP_PAGES = {"setup.departments", "setup.new_department"}

WRITES = [
    ("setup.new_township", {}),
    ("setup.edit_category", {"code": "road"}),
    ("setup.issue_token", {"code": "LC00"}),
    ("setup.revoke_station", {"code": "LC00"}),
    ("setup.set_user_active", {"user_id": 1, "change": "deactivate"}),
    ("setup.reset_password", {"user_id": 1}),
]


def post(client, endpoint, data=None, **values):
    """Submit a form the way the browser does: with the CSRF token of admin.index's page."""
    return web.post(client, endpoint, data, token_from="setup.index", **values)


def audit_rows(app, action=None):
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return db.session.scalars(query).all()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def refused(client, endpoint, data, message, *models, **values):
    """Submit ``data``: the form comes back (200) with ``message`` and nothing is written."""
    hub = client.application
    before = [count(hub, model) for model in models]
    response = post(client, endpoint, data, **values)
    assert response.status_code == 200
    assert message in text(response)
    assert [count(hub, model) for model in models] == before
    assert audit_rows(hub) == []
    return response


@pytest.fixture
def city(hub):
    return signed_in(hub, "city", township=None, username="city-admin")


def client_for(hub, role):
    return signed_in(hub, role)


# --- access -------------------------------------------------------------------


@pytest.mark.parametrize("endpoint,values", PAGES)
def test_every_page_opens_for_city_staff(city, endpoint, values):
    response = city.get(path(city.application, endpoint, **values))
    assert response.status_code == 200
    assert "<h1>" in text(response)


@pytest.mark.parametrize("role", ["chair", "township"])
@pytest.mark.parametrize("endpoint,values", [page for page in PAGES if page[0] not in TOWNSHIP_PAGES])
def test_township_staff_and_chairs_are_refused(hub, role, endpoint, values):
    client = client_for(hub, role)
    assert client.get(path(hub, endpoint, **values)).status_code == 403


@pytest.mark.parametrize("role", ["chair", "township"])
@pytest.mark.parametrize("endpoint,values", WRITES)
def test_township_staff_and_chairs_cannot_write(hub, role, endpoint, values):
    hub.config["WTF_CSRF_ENABLED"] = False  # the role alone must refuse it
    client = client_for(hub, role)
    data = {
        "name": "新城镇",
        "kind": "镇",
        "reason": "丢失",
        "confirm": "y",
        "password": "x" * 12,
        "password_again": "x" * 12,
    }
    assert client.post(path(hub, endpoint, **values), data=data).status_code == 403
    assert audit_rows(hub) == []


@pytest.mark.parametrize("endpoint,values", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(hub, endpoint, values):
    response = hub.test_client().get(path(hub, endpoint, **values))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(path(hub, "auth.login"))


def test_the_index_links_every_area(city):
    page = text(city.get(path(city.application, "setup.index")))
    for endpoint in (
        "setup.fleet",
        "setup.townships",
        "setup.categories",
        "setup.departments",
        "setup.stations",
        "setup.users",
    ):
        assert f'href="{path(city.application, endpoint)}"' in page


def test_a_form_without_its_csrf_token_is_refused(city):
    hub = city.application
    before = count(hub, Department)  # the demo's townships' own departments
    response = city.post(path(hub, "setup.new_department"), data={"name": "市交通运输局"})
    assert response.status_code == 400
    assert count(hub, Department) == before
    assert audit_rows(hub) == []


# --- townships ----------------------------------------------------------------


def test_adding_a_township(city):
    hub = city.application
    response = post(
        city, "setup.new_township", {"name": "新城镇", "kind": "镇", "office_phone": "0766-1234567"}
    )
    assert response.status_code == 302
    page = text(city.get(response.headers["Location"]))
    assert "已添加镇街“新城镇”" in page and "0766-1234567" in page
    with hub.app_context():
        township = db.session.scalar(select(Township).where(Township.name == "新城镇"))
        assert (township.kind, township.office_phone) == ("镇", "0766-1234567")
    (row,) = audit_rows(hub, "township.create")
    assert row.subject == f"township:{township.id}"
    assert row.after == {"name": "新城镇", "kind": "镇", "office_phone": "0766-1234567"}
    assert row.username == "city-admin"


def test_changing_a_township_is_audited_and_flows_to_its_stations(city):
    hub = city.application
    with hub.app_context():
        high = db.session.scalar(select(func.max(SyncChange.id)))
        old_phone = db.session.get(Township, 1).office_phone
    response = post(
        city,
        "setup.edit_township",
        {"name": "罗城街道", "kind": "街道", "office_phone": "0766-7654321"},
        township_id=1,
    )
    assert response.status_code == 302
    (row,) = audit_rows(hub, "township.update")
    assert row.subject == "township:1"
    assert row.before == {"office_phone": old_phone} and row.after == {"office_phone": "0766-7654321"}
    with hub.app_context():
        changes = db.session.scalars(select(SyncChange).where(SyncChange.id > high)).all()
        assert [(c.kind, c.township_id) for c in changes] == [("reference", 1)]


def test_saving_a_township_unchanged_writes_nothing(city):
    hub = city.application
    with hub.app_context():
        t = db.session.get(Township, 1)
        data = {"name": t.name, "kind": t.kind, "office_phone": t.office_phone}
    assert post(city, "setup.edit_township", data, township_id=1).status_code == 302
    assert audit_rows(hub) == []


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": "", "kind": "镇"}, "请填写镇街名称。"),
        ({"name": "新城镇", "kind": "乡"}, "请从列表中选择。"),
        ({"name": "罗城街道", "kind": "街道"}, "已有名为“罗城街道”的镇街。"),
        ({"name": "新" * 41, "kind": "镇"}, "名称最多 40 个字。"),
    ],
)
def test_a_bad_township_is_explained_and_nothing_changes(city, data, message):
    refused(city, "setup.new_township", data, message, Township)


def test_renaming_a_township_to_another_townships_name_is_refused(city):
    hub = city.application
    response = post(city, "setup.edit_township", {"name": "罗城街道", "kind": "镇"}, township_id=2)
    assert response.status_code == 200
    assert "已有名为“罗城街道”的镇街。" in text(response)
    with hub.app_context():
        assert db.session.get(Township, 2).name != "罗城街道"


# --- categories ---------------------------------------------------------------

ROAD = {
    "name": "道路交通",
    "icon": "road",
    "position": "0",
    "active": "y",
    "accept_days": "1",
    "answer_days": "15",
}


def test_adding_a_category(city):
    hub = city.application
    data = {
        "code": "housing",
        "name": "住房保障",
        "icon": "house",
        "position": "20",
        "active": "y",
        "accept_days": "2",
        "answer_days": "20",
    }
    response = post(city, "setup.new_category", data)
    assert response.status_code == 302
    with hub.app_context():
        category = db.session.get(Category, "housing")
        assert (
            category.name,
            category.icon,
            category.position,
            category.active,
            category.accept_days,
            category.answer_days,
        ) == (
            "住房保障",
            "house",
            20,
            True,
            2,
            20,
        )
    (row,) = audit_rows(hub, "category.create")
    assert row.subject == "category:housing"
    assert row.after["answer_days"] == 20


def test_editing_a_category_notes_one_change_for_the_stations(city):
    hub = city.application
    with hub.app_context():
        high = db.session.scalar(select(func.max(SyncChange.id)))
    response = post(city, "setup.edit_category", {**ROAD, "answer_days": "10", "active": ""}, code="road")
    assert response.status_code == 302
    with hub.app_context():
        road = db.session.get(Category, "road")
        assert (road.answer_days, road.active) == (10, False)
        changes = db.session.scalars(select(SyncChange).where(SyncChange.id > high)).all()
        assert [(c.kind, c.township_id, c.station_code) for c in changes] == [("reference", None, None)]
    (row,) = audit_rows(hub, "category.update")
    assert row.subject == "category:road"
    assert row.before == {"active": True, "answer_days": 15}
    assert row.after == {"active": False, "answer_days": 10}


def test_the_category_form_offers_the_icons_on_disk(city):
    page = text(city.get(path(city.application, "setup.new_category")))
    for icon in ("road", "water", "leaf", "dots"):
        assert f'<option value="{icon}"' in page
    assert 'name="code"' in page
    edit = text(city.get(path(city.application, "setup.edit_category", code="road")))
    assert 'name="code"' not in edit  # the code never changes


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"accept_days": "0"}, "请填 1 到 60 之间的工作日数。"),
        ({"answer_days": "61"}, "请填 1 到 60 之间的工作日数。"),
        ({"answer_days": "十五"}, "请填一个整数。"),
        ({"accept_days": "5", "answer_days": "3"}, "办结时限不能短于受理时限。"),
        ({"icon": "rocket"}, "请从列表中选择。"),
        ({"name": ""}, "请填写类别名称。"),
        ({"name": "农田水利"}, "已有名为“农田水利”的类别。"),
        ({"position": "-1"}, "排序号须在 0 到 999 之间。"),
    ],
)
def test_a_bad_category_is_explained_and_nothing_changes(city, changes, message):
    hub = city.application
    refused(city, "setup.edit_category", {**ROAD, **changes}, message, code="road")
    with hub.app_context():
        road = db.session.get(Category, "road")
        assert (road.name, road.icon, road.accept_days, road.answer_days) == ("道路交通", "road", 1, 15)


@pytest.mark.parametrize(
    "code,message",
    [("road", "代码 road 已被使用。"), ("Road!", "代码须为 2 到 24 位小写字母、数字或连字符，以字母开头。")],
)
def test_a_new_category_needs_a_fresh_well_formed_code(city, code, message):
    refused(city, "setup.new_category", {**ROAD, "name": "新类别", "code": code}, message, Category)


# --- departments --------------------------------------------------------------


def add_department(client, name="市交通运输局", person="李明", phone="0766-2222222"):
    return post(
        client, "setup.new_department", {"name": name, "contact_person": person, "contact_phone": phone}
    )


def test_adding_editing_and_deactivating_a_department(city):
    hub = city.application
    assert add_department(city).status_code == 302
    with hub.app_context():
        department = db.session.scalar(select(Department).where(Department.name == "市交通运输局"))
        assert (department.name, department.contact_person, department.contact_phone, department.active) == (
            "市交通运输局",
            "李明",
            "0766-2222222",
            True,
        )
        department_id = department.id
    edited = post(
        city,
        "setup.edit_department",
        {"name": "市交通运输局", "contact_person": "", "contact_phone": "0766-3333333"},
        department_id=department_id,
    )
    assert edited.status_code == 302
    assert (
        post(
            city, "setup.set_department_active", department_id=department_id, change="deactivate"
        ).status_code
        == 302
    )
    page = text(city.get(path(hub, "setup.departments")))
    assert "已停用" in page and "0766-3333333" in page
    assert (
        post(
            city, "setup.set_department_active", department_id=department_id, change="reactivate"
        ).status_code
        == 302
    )
    actions = [(r.action, r.subject, r.before, r.after) for r in audit_rows(hub)]
    subject = f"department:{department_id}"
    assert actions == [
        (
            "department.create",
            subject,
            None,
            {
                "name": "市交通运输局",
                "contact_person": "李明",
                "contact_phone": "0766-2222222",
                "township_id": None,
                "active": True,
            },
        ),
        (
            "department.update",
            subject,
            {"contact_person": "李明", "contact_phone": "0766-2222222"},
            {"contact_person": None, "contact_phone": "0766-3333333"},
        ),
        ("department.deactivate", subject, {"active": True}, {"active": False}),
        ("department.reactivate", subject, {"active": False}, {"active": True}),
    ]
    with hub.app_context():
        assert db.session.get(Department, department_id).active is True


def test_a_department_name_is_unique_whatever_its_case(city):
    hub = city.application
    before = count(hub, Department)
    add_department(city, name="City Water Bureau")
    response = add_department(city, name="city water bureau")
    assert response.status_code == 200
    assert "已有名为“city water bureau”的市直部门。" in text(response)
    assert count(hub, Department) == before + 1


def _township_id(hub, name: str) -> int:
    with hub.app_context():
        return db.session.scalar(select(Township.id).where(Township.name == name))


def add_own_department(client, name, phone="0766-3811001"):
    """A township clerk adds a department of their own township, from the departments page."""
    data = {"name": name, "contact_person": "陈主任", "contact_phone": phone}
    return web.post(client, "setup.new_department", data, token_from="setup.departments")


def test_a_townships_staff_manage_its_own_departments_offered_only_there(hub, city):
    """镇村建办 and a 村委会 of 罗城街道: added by its clerk, offered in its 转办 beside the city's bureaus."""
    assert add_department(city, name="市水务局").status_code == 302
    luocheng = signed_in(hub, "township", username="lc-clerk")
    sulong = signed_in(hub, "chair", township="素龙街道", username="sl-chair")
    assert add_own_department(luocheng, "罗城街道城建办").status_code == 302
    assert add_own_department(luocheng, "大岗村委会").status_code == 302
    # Another township may use the same name for its own office.
    assert add_own_department(sulong, "大岗村委会").status_code == 302
    sulong_id = _township_id(hub, "素龙街道")
    with hub.app_context():
        ours = select(Department).where(Department.name.in_(["市水务局", "罗城街道城建办", "大岗村委会"]))
        rows = {(d.name, d.township.name if d.township else None) for d in db.session.scalars(ours)}
        assert rows == {("市水务局", None), ("罗城街道城建办", "罗城街道"), ("大岗村委会", "罗城街道"), ("大岗村委会", "素龙街道")}
        own = db.session.scalar(select(Department).where(Department.name == "罗城街道城建办"))
        city_bureau = db.session.scalar(select(Department).where(Department.name == "市水务局"))
        other = db.session.scalar(select(Department).where(Department.township_id == sulong_id))
        own_id, city_id, other_id = own.id, city_bureau.id, other.id
    assert {"department.create"} == {row.action for row in audit_rows(hub)}
    page = text(luocheng.get(path(hub, "setup.departments")))
    assert "罗城街道城建办" in page and "市水务局" in page and "素龙街道" not in page
    # The city's bureau is listed, not theirs to change; another township's is not theirs to see.
    assert path(hub, "setup.edit_department", department_id=own_id) in page
    assert path(hub, "setup.edit_department", department_id=city_id) not in page
    assert luocheng.get(path(hub, "setup.edit_department", department_id=city_id)).status_code == 403
    assert luocheng.get(path(hub, "setup.edit_department", department_id=other_id)).status_code == 404
    assert [r.subject for r in audit_rows(hub, "denied")] == [f"township:{sulong_id}"]
    # The 转办 list of a 罗城 opinion: its own offices first, then the city's; none of 素龙's.
    with hub.app_context():
        offered = [d.name for d in staff_choices.departments(_township_id(hub, "罗城街道"))]
    # (The demo's own offices of 罗城街道 come before the two added here.)
    assert offered[-3:] == ["罗城街道城建办", "大岗村委会", "市水务局"] and offered.count("大岗村委会") == 1


def test_a_townships_department_name_is_unique_there_and_apart_from_the_citys(hub, city):
    add_department(city, name="市水务局")
    luocheng = signed_in(hub, "township", username="lc-clerk")
    add_own_department(luocheng, "镇村建办")
    for name, message in (("镇村建办", "本镇街已有名为“镇村建办”的部门。"), ("市水务局", "已有名为“市水务局”的市直部门。")):
        before = count(hub, Department)
        response = add_own_department(luocheng, name)
        assert response.status_code == 200 and message in text(response)
        assert count(hub, Department) == before


def test_city_staff_add_a_department_for_a_township(hub, city):
    township_id = _township_id(hub, "素龙街道")
    data = {"name": "素龙派出所", "contact_person": "", "contact_phone": "0766-3811110", "township_id": str(township_id)}
    assert post(city, "setup.new_department", data).status_code == 302
    with hub.app_context():
        assert db.session.scalar(select(Department.township_id).where(Department.name == "素龙派出所")) == township_id
    # A township's form has no such choice: whatever is sent, the department is the clerk's own township's.
    luocheng = signed_in(hub, "township", username="lc-clerk")
    data = {"name": "罗城派出所", "contact_phone": "0766-3811111", "township_id": str(township_id)}
    assert web.post(luocheng, "setup.new_department", data, token_from="setup.departments").status_code == 302
    with hub.app_context():
        made = db.session.scalar(select(Department).where(Department.name == "罗城派出所"))
        assert made.township.name == "罗城街道"


def test_a_department_needs_a_name(city):
    refused(
        city, "setup.new_department", {"name": "  ", "contact_person": "李明"}, "请填写部门名称。", Department
    )


# --- stations -----------------------------------------------------------------

NEW_STATION = {
    "code": "LC99",
    "name": "罗城新村联络站",
    "level": "station",
    "township_id": "1",
    "address": "罗城街道新村路 1 号",
}


def enrol_a_box(hub, token):
    """What `station enroll` does at the hub's end: a box's key for this token."""
    key = signing.public_key_text(Ed25519PrivateKey.generate())
    with hub.app_context():
        answer = sync_hub.enrol(
            {"token": token, "public_key": key, "software_version": "1.0"}, "https://rd.example.cn"
        )
        db.session.commit()
    return answer


def shown_token(response) -> str:
    return re.search(r'data-testid="token"><code>([^<]+)</code>', text(response)).group(1)


def test_registering_a_station_shows_its_token_once_with_the_command(city):
    hub = city.application
    response = post(city, "setup.register_station", {**NEW_STATION, "code": "lc99"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = shown_token(response)
    assert f"flask --app wsgi station enroll --hub http://localhost --token {token}" in text(response)
    with hub.app_context():
        station = db.session.get(Station, "LC99")
        assert (station.name, station.level, station.township_id, station.address) == (
            "罗城新村联络站",
            "station",
            1,
            "罗城街道新村路 1 号",
        )
    (row,) = audit_rows(hub, "station.register")
    assert row.subject == "station:LC99" and row.after["address"] == "罗城街道新村路 1 号"
    assert enrol_a_box(hub, token)["station"]["code"] == "LC99"


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"code": "LC00"}, "站点代码 LC00 已被使用。"),
        ({"code": "L"}, "站点代码须为 2 到 8 位大写字母或数字。"),
        ({"code": "LC-9"}, "站点代码须为 2 到 8 位大写字母或数字。"),
        ({"level": "village"}, "请从列表中选择。"),
        ({"township_id": "999"}, "请从列表中选择。"),
        ({"name": ""}, "请填写联络站名称。"),
    ],
)
def test_a_bad_station_is_explained_and_nothing_is_registered(city, changes, message):
    response = refused(
        city, "setup.register_station", {**NEW_STATION, **changes}, message, Station, EnrolmentToken
    )
    assert 'data-testid="token"' not in text(response)


def test_editing_a_station_is_audited_and_flows_to_its_township(city):
    hub = city.application
    with hub.app_context():
        high = db.session.scalar(select(func.max(SyncChange.id)))
        name = db.session.get(Station, "LC00").name
    response = post(
        city,
        "setup.edit_station",
        {"name": name, "level": "center", "address": "罗城街道人大办一楼"},
        code="LC00",
    )
    assert response.status_code == 302
    (row,) = audit_rows(hub, "station.update")
    assert row.subject == "station:LC00" and row.after == {"address": "罗城街道人大办一楼"}
    with hub.app_context():
        assert db.session.get(Station, "LC00").address == "罗城街道人大办一楼"
        changes = db.session.scalars(select(SyncChange).where(SyncChange.id > high)).all()
        assert [(c.kind, c.township_id) for c in changes] == [("reference", 1)]


def test_a_new_token_for_a_replaced_box_and_revoking_the_old_key(city):
    hub = city.application
    first = post(city, "setup.issue_token", code="LC00")
    assert first.headers["Cache-Control"] == "no-store"
    enrol_a_box(hub, shown_token(first))

    unconfirmed = post(city, "setup.revoke_station", {"reason": "机器被盗"}, code="LC00")
    assert unconfirmed.status_code == 200 and "请勾选确认。" in text(unconfirmed)
    no_reason = post(city, "setup.revoke_station", {"reason": "", "confirm": "y"}, code="LC00")
    assert "请写明吊销的原因。" in text(no_reason)
    with hub.app_context():
        assert db.session.get(SyncStation, "LC00").revoked_at is None

    revoked = post(city, "setup.revoke_station", {"reason": "机器被盗", "confirm": "y"}, code="LC00")
    assert revoked.status_code == 302
    assert "已吊销联络站 LC00 的密钥" in text(city.get(revoked.headers["Location"]))
    with hub.app_context():
        assert db.session.get(SyncStation, "LC00").revoked_at is not None
    assert [(r.action, r.subject, r.note) for r in audit_rows(hub)] == [
        ("station.token", "station:LC00", None),
        ("station.revoke", "station:LC00", "机器被盗"),
    ]
    # A new box enrols with a new token and works again.
    second = shown_token(post(city, "setup.issue_token", code="LC00"))
    enrol_a_box(hub, second)
    with hub.app_context():
        assert db.session.get(SyncStation, "LC00").revoked_at is None


def test_revoking_a_station_that_never_enrolled_is_explained(city):
    message = "联络站 LC01 还没有登记过机器，没有可吊销的密钥。"
    refused(
        city,
        "setup.revoke_station",
        {"reason": "登记错了", "confirm": "y"},
        message,
        SyncStation,
        code="LC01",
    )


def test_stations_are_listed_by_township(city):
    hub = city.application
    page = text(city.get(path(hub, "setup.stations", township=1)))
    with hub.app_context():
        codes = db.session.scalars(
            select(Station.code).where(Station.township_id == 1).order_by(Station.code)
        ).all()
    assert re.findall(r'<tr data-code="([^"]+)"', page) == codes
    everything = text(city.get(path(hub, "setup.stations", township="nonsense")))
    assert len(re.findall(r"<tr data-code=", everything)) == count(hub, Station)


# --- accounts -----------------------------------------------------------------

ACCOUNT = {
    "username": "zhangmin",
    "display_name": "张敏",
    "role": "township",
    "township_id": "1",
    "password": "long enough 1",
    "password_again": "long enough 1",
}


def test_adding_an_account(city):
    hub = city.application
    response = post(city, "setup.new_user", ACCOUNT)
    assert response.status_code == 302
    assert "已添加账号 zhangmin" in text(city.get(response.headers["Location"]))
    with hub.app_context():
        user = db.session.scalar(select(User).where(User.username == "zhangmin"))
        assert (user.role, user.township_id, user.display_name, user.active) == ("township", 1, "张敏", True)
        assert user.password_hash.startswith("scrypt:")
        assert check_password_hash(user.password_hash, "long enough 1")
    (row,) = audit_rows(hub, "user.create")
    assert row.subject == f"user:{user.id}" and row.username == "city-admin"
    assert "long enough 1" not in str(row.after) and user.password_hash not in str(row.after)


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"password_again": "long enough 2"}, "两次输入的密码不一样。"),
        ({"password": "short 1", "password_again": "short 1"}, "密码至少 10 个字符。"),
        ({"username": "city-admin"}, "用户名 city-admin 已被使用。"),
        ({"username": "CITY-ADMIN"}, "用户名 CITY-ADMIN 已被使用。"),
        ({"username": "张敏"}, "用户名须为 2 到 40 个英文字母、数字或 . _ -"),
        ({"role": "city"}, "市人大常委会的账号不属于某个镇街"),
        ({"role": "chair", "township_id": "0"}, "的账号须指定所属镇街"),
        ({"role": "mayor"}, "请从列表中选择。"),
    ],
)
def test_a_bad_account_is_explained_and_nothing_changes(city, changes, message):
    refused(city, "setup.new_user", {**ACCOUNT, **changes}, message, User)


def test_deactivating_an_account_ends_its_sessions_and_reactivating_it(city):
    hub = city.application
    clerk = client_for(hub, "township")
    assert clerk.get("/staff/admin/").status_code == 403  # signed in, just not city staff
    with hub.app_context():
        clerk_id = db.session.scalar(select(User.id).where(User.role == "township"))
    assert post(city, "setup.set_user_active", user_id=clerk_id, change="deactivate").status_code == 302
    with hub.app_context():
        assert db.session.get(User, clerk_id).active is False
        live = db.session.scalar(
            select(func.count())
            .select_from(StaffSession)
            .where(StaffSession.user_id == clerk_id, StaffSession.ended_at.is_(None))
        )
        assert live == 0
    assert clerk.get("/staff/admin/").status_code == 302  # signed out
    assert post(city, "setup.set_user_active", user_id=clerk_id, change="reactivate").status_code == 302
    with hub.app_context():
        assert db.session.get(User, clerk_id).active is True
    assert [r.action for r in audit_rows(hub)] == ["user.deactivate", "user.activate"]


def test_nobody_deactivates_their_own_account(city):
    hub = city.application
    with hub.app_context():
        me = db.session.scalar(select(User.id).where(User.username == "city-admin"))
    response = post(city, "setup.set_user_active", user_id=me, change="deactivate")
    assert "不能停用自己正在使用的账号。" in text(city.get(response.headers["Location"]))
    with hub.app_context():
        assert db.session.get(User, me).active is True
    assert audit_rows(hub) == []


def test_resetting_a_password(city):
    hub = city.application
    with hub.app_context():
        clerk_id = make_user("township", username="clerk").id
    mismatch = post(
        city,
        "setup.reset_password",
        {"password": "brand new pass", "password_again": "brand new pas"},
        user_id=clerk_id,
    )
    assert mismatch.status_code == 200 and "两次输入的密码不一样。" in text(mismatch)
    response = post(
        city,
        "setup.reset_password",
        {"password": "brand new pass", "password_again": "brand new pass"},
        user_id=clerk_id,
    )
    assert response.status_code == 302
    with hub.app_context():
        assert check_password_hash(db.session.get(User, clerk_id).password_hash, "brand new pass")
    (row,) = audit_rows(hub, "user.password")
    assert row.subject == f"user:{clerk_id}" and "brand new pass" not in str(
        (row.before, row.after, row.note)
    )


# --- fleet --------------------------------------------------------------------


def test_the_fleet_shows_the_rows_of_stations_list(city):
    hub = city.application
    token = shown_token(post(city, "setup.issue_token", code="LC00"))
    enrol_a_box(hub, token)
    with hub.app_context():
        link = db.session.get(SyncStation, "LC00")
        sync_hub.note_contact(link, {"backlog": 7, "version": "2.4.1", "printer": "缺纸"})
        db.session.commit()
        overview = sync_hub.station_overview()
    page = text(city.get(path(hub, "setup.fleet")))
    # Every station, page after page; the one whose printer reports trouble first.
    codes = fleet_codes(city)
    assert codes[0] == "LC00" and sorted(codes) == sorted(row.code for row in overview)
    lc00 = re.search(r'<tr data-code="LC00".*?</tr>', page, re.DOTALL).group(0)
    for cell in ("正常", "2.4.1", "缺纸", "罗城街道"):
        assert f"<td>{cell}</td>" in lc00
    assert '<td class="num">7</td>' in lc00
    assert 'class="silent"' not in lc00


def fleet_codes(city, **args) -> list[str]:
    """The stations of every page of the fleet, in order, following its 下一页 links."""
    codes, url = [], path(city.application, "setup.fleet", **args)
    while url:
        page = text(city.get(url))
        codes += re.findall(r'<tr data-code="([^"]+)"', page)
        following = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = following.group(1).replace("&amp;", "&") if following else None
    return codes


def test_the_fleet_marks_stations_silent_for_more_than_a_day(city):
    hub = city.application
    enrol_a_box(hub, shown_token(post(city, "setup.issue_token", code="LC00")))
    with hub.app_context():
        db.session.get(SyncStation, "LC00").last_contact_at = now() - timedelta(days=3)
        db.session.commit()
    page = text(city.get(path(hub, "setup.fleet", township=1)))
    assert re.search(r'<tr data-code="LC00" class="silent"', page)
    assert "已登记的站点中 1 个超过一天没有联系" in page


def test_the_fleet_filters_by_township_and_answers_htmx_with_the_table_alone(city):
    hub = city.application
    with hub.app_context():
        township = db.session.get(Township, 2)
        codes = [row.code for row in sync_hub.station_overview() if row.township == township.name]
    fragment = city.get(path(hub, "setup.fleet", township=2), headers={"HX-Request": "true"})
    body = text(fragment)
    assert "<html" not in body and body.lstrip().startswith('<div id="fleet">')
    assert re.findall(r'<tr data-code="([^"]+)"', body) == codes
    assert "HX-Request" in fragment.headers["Vary"]


# --- on both databases ----------------------------------------------------------


def test_duplicates_and_changes_behave_alike_on_sqlite_and_postgresql(hub_app):  # noqa: F811
    city = signed_in(hub_app, "city", township=None, username="city-admin")
    refused(
        city,
        "setup.new_township",
        {"name": "罗城街道", "kind": "街道"},
        "已有名为“罗城街道”的镇街。",
        Township,
    )
    refused(
        city, "setup.register_station", NEW_STATION | {"code": "LC00"}, "站点代码 LC00 已被使用。", Station
    )
    with hub_app.app_context():
        high = db.session.scalar(select(func.max(SyncChange.id)))
    assert post(city, "setup.edit_category", ROAD | {"accept_days": "2"}, code="road").status_code == 302
    with hub_app.app_context():
        assert db.session.scalar(select(func.count()).where(SyncChange.id > high)) == 1
    assert [row.subject for row in audit_rows(hub_app)] == ["category:road"]


# --- what the trial found -----------------------------------------------------------


def test_the_fleet_counts_stations_never_set_up_apart_from_silent_ones(city):
    """235 stations without a box are 未登记, not silent; one enrolled and never heard from is counted."""
    hub = city.application
    enrol_a_box(hub, shown_token(post(city, "setup.issue_token", code="LC00")))
    enrol_a_box(hub, shown_token(post(city, "setup.issue_token", code="LC01")))
    with hub.app_context():
        db.session.get(SyncStation, "LC00").last_contact_at = now()
        db.session.get(SyncStation, "LC01").last_contact_at = None
        db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(Station))
    page = text(city.get(path(hub, "setup.fleet")))
    summary = re.search(r'data-testid="fleet-summary">(.*?)</p>', page, re.DOTALL).group(1)
    summary = re.sub(r"<[^>]+>|\s+", "", summary)
    assert summary == f"共{total}个站点：已登记2个，未登记{total - 2}个。已登记的站点中1个超过一天没有联系（其中1个登记后从未联系）。"
    codes = re.findall(r'<tr data-code="([^"]+)"', page)
    assert codes[0] == "LC01"  # silent first; LC00 is well, after those never enrolled
    lc02 = re.search(r'<tr data-code="LC02".*?</tr>', page, re.DOTALL).group(0)
    assert "从未联系" not in lc02 and 'class="silent"' not in lc02
    lc01 = re.search(r'<tr data-code="LC01".*?</tr>', page, re.DOTALL).group(0)
    assert "登记后从未联系" in lc01
    # Filters: enrolled, not enrolled, silent.
    enrolled = text(city.get(path(hub, "setup.fleet", show="enrolled")))
    assert sorted(re.findall(r'<tr data-code="([^"]+)"', enrolled)) == ["LC00", "LC01"]
    silent = text(city.get(path(hub, "setup.fleet", show="silent")))
    assert re.findall(r'<tr data-code="([^"]+)"', silent) == ["LC01"]
    assert "LC00" not in fleet_codes(city, show="unenrolled", township=1)
    assert city.get(path(hub, "setup.fleet", show="nonsense")).status_code == 200


@pytest.mark.parametrize(
    "sent, shown",
    [
        ("no printer", "未接打印机"),
        ("printed", "正常（上一张已打印）"),
        ("failed", "上一张打印失败"),
        # A thermal printer's own word on itself.
        ("paper out", "缺纸"),
        ("cover open", "纸仓盖打开"),
        ("offline", "打印机未连接"),
    ],
)
def test_the_fleet_says_the_printer_state_in_chinese(city, sent, shown):
    hub = city.application
    enrol_a_box(hub, shown_token(post(city, "setup.issue_token", code="LC00")))
    with hub.app_context():
        sync_hub.note_contact(db.session.get(SyncStation, "LC00"), {"backlog": 0, "version": "2.4.1", "printer": sent})
        db.session.commit()
    page = text(city.get(path(hub, "setup.fleet", township=1)))
    lc00 = re.search(r'<tr data-code="LC00".*?</tr>', page, re.DOTALL).group(0)
    assert f"<td>{shown}</td>" in lc00 and sent not in lc00


def test_icons_are_named_in_chinese_and_codes_stay_out_of_headings(city):
    hub = city.application
    form = text(city.get(path(hub, "setup.edit_category", code="environment")))
    assert "<h1>修改类别：环境卫生</h1>" in form and "（environment）" not in form
    assert '代码 <code>environment</code>' in form
    for icon, name in (("road", "道路"), ("leaf", "环境"), ("school", "教育"), ("briefcase", "就业")):
        assert f'<option value="{icon}">{name}</option>' in form or f'<option selected value="{icon}">{name}</option>' in form
        assert f"<figcaption>{name}</figcaption>" in form
    for english in ("briefcase", "handshake", "dots"):
        assert f">{english}<" not in form
    listing = text(city.get(path(hub, "setup.categories")))
    assert re.search(r'icons/road\.svg" alt=""> 道路</td>', listing)


def nav_current(page: str) -> list[str]:
    nav = re.search(r'<nav class="staff-nav".*?</nav>', page, re.DOTALL).group(0)
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', nav)


def test_one_main_menu_entry_is_current_on_the_set_up_pages(city):
    hub = city.application
    assert nav_current(text(city.get(path(hub, "setup.fleet")))) == ["联络站运行"]
    for endpoint, values in (("setup.index", {}), ("setup.departments", {}), ("setup.stations", {}),
                             ("setup.edit_station", {"code": "LC00"}), ("setup.new_user", {})):
        assert nav_current(text(city.get(path(hub, endpoint, **values)))) == ["设置"], endpoint
    # 联络站 is not named twice: the fleet has the main menu, station set-up is 联络站登记.
    settings = text(city.get(path(hub, "setup.index")))
    assert ">联络站<" not in settings and ">联络站登记<" in settings
    fleet = text(city.get(path(hub, "setup.fleet")))
    assert 'class="admin-nav"' not in fleet
    sub = re.search(r'<nav class="admin-nav".*?</nav>', text(city.get(path(hub, "setup.edit_station", code="LC00"))), re.DOTALL)
    assert re.findall(r'aria-current="page">([^<]+)<', sub.group(0)) == ["联络站登记"]


def test_departments_are_listed_in_the_order_they_were_added(city):
    hub = city.application
    for name in ("罗城街道城建办", "市交通运输局", "市水务局", "罗城街道派出所"):
        assert add_department(city, name=name).status_code == 302
    page = text(city.get(path(hub, "setup.departments")))
    names = re.findall(r'<tr data-testid="department-\d+"[^>]*>\s*<td>([^<]+)</td>', page)
    # The city's come first, before the demo's townships' own.
    assert names[:4] == ["罗城街道城建办", "市交通运输局", "市水务局", "罗城街道派出所"]


def test_a_department_needs_a_contact_phone(city):
    refused(
        city, "setup.new_department", {"name": "市交通运输局", "contact_person": "李明", "contact_phone": " "},
        "请填写部门的联系电话（交办单上要印）。", Department,
    )


# --- the fleet: problems first, a page at a time ---------------------------------


def test_the_fleet_lists_problems_first_silent_backlog_printer_never_enrolled(city):
    hub = city.application
    for code in ("LC00", "LC01", "LC02", "LC03"):
        enrol_a_box(hub, shown_token(post(city, "setup.issue_token", code=code)))
    with hub.app_context():
        reports = {"LC00": (0, "printed"), "LC02": (150, "printed"), "LC03": (0, "failed"), "LC01": (0, "printed")}
        for code, (backlog, printer) in reports.items():
            link = db.session.get(SyncStation, code)
            sync_hub.note_contact(link, {"backlog": backlog, "version": "2.4.1", "printer": printer})
        db.session.get(SyncStation, "LC01").last_contact_at = now() - timedelta(days=2)
        db.session.commit()
    codes = fleet_codes(city)
    assert codes[:3] == ["LC01", "LC02", "LC03"]
    assert codes[-1] == "LC00"  # well: after every station never enrolled
    page = text(city.get(path(hub, "setup.fleet")))
    problems = lambda code: re.findall(  # noqa: E731
        r'data-problem="([a-z]+)">([^<]+)<', re.search(rf'<tr data-code="{code}".*?</tr>', page, re.DOTALL).group(0)
    )
    assert problems("LC01") == [("silent", "超过一天没有联系")]
    assert problems("LC02") == [("backlog", "积压 150 条未送")]
    assert problems("LC03") == [("printer", "打印机：上一张打印失败")]
    assert problems(codes[3]) == [("unenrolled", "从未登记")]
    assert re.findall(r'<tr data-code="([^"]+)"', text(city.get(path(hub, "setup.fleet", show="problems"))))[:3] == [
        "LC01", "LC02", "LC03"
    ]
    assert "LC00" not in fleet_codes(city, show="problems")


def test_the_fleet_is_paged_and_its_links_keep_the_filters(city):
    hub = city.application
    with hub.app_context():
        total = db.session.scalar(select(func.count()).select_from(Station))
        in_township_1 = db.session.scalar(select(func.count()).where(Station.township_id == 1))
    first = text(city.get(path(hub, "setup.fleet")))
    assert len(re.findall(r'<tr data-code="', first)) == 40
    assert f"第 1–40 个，共 {total} 个" in first
    codes = fleet_codes(city)
    assert len(codes) == len(set(codes)) == total
    # Every link of the pager keeps the township and the state chosen; so does the township form.
    chosen = text(city.get(path(hub, "setup.fleet", show="unenrolled", page=2)))
    pager = re.search(r'data-testid="fleet-pager">(.*?)</nav>', chosen, re.DOTALL).group(1)
    links = re.findall(r'href="([^"]+)"', pager)
    assert links and all("show=unenrolled" in link for link in links)
    assert '<span aria-current="page">2</span>' in pager
    assert '<input type="hidden" name="show" value="unenrolled">' in chosen
    assert len(fleet_codes(city, township=1)) == in_township_1
    narrowed = text(city.get(path(hub, "setup.fleet", township=1, show="unenrolled")))
    assert 'data-testid="fleet-pager"' not in narrowed  # one page: no pager
    # A page beyond the last is the last; nonsense is the first.
    last = text(city.get(path(hub, "setup.fleet", page=999)))
    assert re.findall(r'<tr data-code="([^"]+)"', last) == codes[(len(codes) - 1) // 40 * 40 :]
    for nonsense in ("abc", "-1", "0", "99999999999999999999"):
        again = city.get(path(hub, "setup.fleet") + f"?page={nonsense}")
        assert again.status_code == 200
        assert re.findall(r'<tr data-code="([^"]+)"', text(again)) == codes[:40]
