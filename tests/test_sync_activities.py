"""A contact activity recorded at the kiosk by the deputy on duty: its form and refusals,
then the signed push that brings it, with the deputies present, to the hub exactly once."""

from sqlalchemy import func, select

from kiosk.deputies.services import hash_pin
from kiosk.extensions import db
from kiosk.models import Activity, Station, activity_deputies
from tests.support.desk import Desk
from tests.support.inprocess import sync
from tests.support.web import page_token, text

PIN = "4826"


def checked_in(app, client) -> tuple[int, list[int]]:
    """The station's first deputy in deputy mode; the ids of the station's other deputies."""
    with app.app_context():
        deputies = db.session.get(Station, "LC00").deputies
        deputies[0].pin_hash = hash_pin(PIN)
        db.session.commit()
        me, others = deputies[0].id, [d.id for d in deputies[1:]]
    token = page_token(client, f"/duty/{me}/pin")
    assert 'data-testid="deputy-mode"' in text(client.post(f"/duty/{me}/pin", data={"csrf_token": token, "pin": PIN}))
    return me, others


def activities(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Activity))


def test_an_activity_at_the_kiosk_reaches_the_hub_once_with_its_deputies(station_app, hub_app, transport):
    # The test syncs in-process; the kiosk's own loop would try the hub's address.
    station_app.config["SYNC_BACKGROUND"] = False
    client = station_app.test_client()
    me, others = checked_in(station_app, client)
    assert 'data-testid="activity-log"' in text(client.get("/duty/mode"))
    token = page_token(client, "/duty/activity")
    refused = [
        ({"people": "0", "topics": "修路"}, "人数应在 1 到 9999 之间"),
        ({"people": "十", "topics": "修路"}, "人数应在 1 到 9999 之间"),
        ({"people": "12", "topics": ""}, "请简要写下交流了什么"),
        ({"people": "12", "topics": "有事打 13800138000"}, "交流事项会公开，请删去其中的手机号码"),
        ({"people": "12", "topics": "修路", "others": ["999999"]}, "只能选本站的代表"),
    ]
    for data, message in refused:
        page = text(client.post("/duty/activity", data={"csrf_token": token, **data}))
        assert message in page, data
    assert activities(station_app) == 0
    page = text(client.post("/duty/activity", data={
        "csrf_token": token, "people": "18", "topics": "村道硬底化、灌溉水渠清淤", "others": [str(others[0])],
    }))  # fmt: skip
    assert "已登记联系群众活动：18 位群众参加" in page
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        activity = db.session.scalar(select(Activity))
        assert (activity.station_code, activity.people, activity.topics) == ("LC00", 18, "村道硬底化、灌溉水渠清淤")
        assert activity.checkin_uuid is not None and activity.user_id is None
        assert sorted(d.id for d in activity.deputies) == sorted([me, others[0]])
        uuid = activity.uuid
    with station_app.app_context():
        assert db.session.get(Activity, uuid).acknowledged_at is not None
    # Nothing left to send: a second sync adds nothing.
    assert sync(station_app, transport).ok
    assert activities(hub_app) == 1
    with hub_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(activity_deputies)) == 2
    # The township's staff see where it came from, and its deputies have it on their file.
    page = Desk(hub_app).get("/staff/work/activities").text
    assert "村道硬底化、灌溉水渠清淤" in page and "联络站屏幕" in page
    result = hub_app.test_cli_runner().invoke(args=["deputies", "file", str(me), "--term", "--json"])
    assert result.exit_code == 0 and '"activities": 1' in result.output
