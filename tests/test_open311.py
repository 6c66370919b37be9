"""The read-only Open311 GeoReport v2 API at /open311/v2/: public facts only."""

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from georeport import GeoReport
from sqlalchemy import insert

from kiosk.extensions import db
from kiosk.models import Category, Department, Opinion, OpinionStatus, Satisfaction, User, utcnow
from kiosk.ratings import GivenRating
from kiosk.staff import services as staff
from tests.support.factories import receive_opinion
from tests.support.servers import ServerProcess

API = "/open311/v2"
W3C_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "lat",
    "long",
}
PERSONAL = {"contact_name": "欧阳秀英", "contact_phone": "13912345678"}
PRIVATE_CONTENT = "我家隔壁的化粪池漏了，气味很大，请尽快处理。"
SECRET = "QWERTY"


@pytest.fixture
def client(hub):
    return hub.test_client()


@pytest.fixture
def private_opinion(hub):
    """A consenting person's opinion with contact details: its receipt number."""
    with hub.app_context():
        opinion = receive_opinion(content=PRIVATE_CONTENT, secret=SECRET, **PERSONAL)
        return opinion.receipt_number


def as_user(user_id: int) -> User:
    return db.session.get(User, user_id)


def in_hub(hub, number: str) -> Opinion:
    return db.session.query(Opinion).filter_by(receipt_number=number).one()


def closed_with(hub, clerk_account, reply: str, **made) -> str:
    """An opinion accepted and closed (办结) with ``reply``: its receipt number."""
    with hub.app_context():
        opinion = receive_opinion(**made)
        staff.accept(as_user(clerk_account.id), opinion)
        staff.close(as_user(clerk_account.id), opinion, reply)
        return opinion.receipt_number


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def get(client, path: str, status: int = 200):
    response = client.get(API + path)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()


def numbers(found: list[dict]) -> list[str]:
    return [item["service_request_id"] for item in found]


def test_services_are_the_active_categories(client, hub):
    with hub.app_context():
        db.session.get(Category, "other").active = False
        db.session.commit()
    services = get(client, "/services.json")
    assert isinstance(services, list)
    road = next(s for s in services if s["service_code"] == "road")
    assert road["service_name"] == "道路交通"
    assert road["metadata"] is False
    assert road["type"] == "realtime"
    assert "15 个工作日" in road["description"]
    assert set(road) == SERVICE_FIELDS
    assert "other" not in [s["service_code"] for s in services]


def test_json_is_readable_chinese_not_escapes(client):
    body = client.get(API + "/services.json").get_data(as_text=True)
    assert "道路交通" in body and "\\u" not in body


def test_a_request_carries_the_public_facts(client, hub):
    created = datetime(2026, 11, 20, 1, 30, tzinfo=timezone.utc)
    with hub.app_context():
        number = receive_opinion(created_at=created, received_at=created + timedelta(hours=2)).receipt_number
    [found] = get(client, f"/requests/{number}.json")
    assert set(found) == REQUEST_FIELDS
    assert found["service_request_id"] == number
    assert found["status"] == "open"
    assert found["status_notes"] is None
    assert (found["service_code"], found["service_name"]) == ("road", "道路交通")
    assert found["agency_responsible"] == "罗城街道人大工委"  # a 街道's office: its working committee
    assert found["requested_datetime"] == "2026-11-20T09:30:00+08:00"
    assert found["updated_datetime"] == "2026-11-20T11:30:00+08:00"
    assert W3C_WITH_OFFSET.fullmatch(found["expected_datetime"])
    assert (found["address"], found["address_id"]) == ("罗城街道人大代表中心联络站", "LC00")
    assert found["lat"] is None and found["long"] is None


def test_a_request_is_found_however_its_number_is_typed(client, private_opinion):
    typed = private_opinion.lower().replace("-", "")
    assert numbers(get(client, f"/requests/{typed}.json")) == [private_opinion]


def test_an_unknown_request_is_a_json_404(client):
    errors = get(client, "/requests/LC00-200101-0001.json", 404)
    assert errors[0]["code"] == 404 and "LC00-200101-0001" in errors[0]["description"]


def test_other_formats_and_paths_answer_json_404(client):
    assert get(client, "/requests.xml", 404)[0]["description"].startswith("本接口只提供 JSON")
    assert get(client, "/nothing-here", 404)[0]["code"] == 404


def test_discovery_names_the_endpoint(client):
    document = get(client, "/discovery.json")
    [endpoint] = document["endpoints"]
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["formats"] == ["application/json"]
    assert get(client, "/") == document


def test_no_response_carries_personal_data_or_what_was_said(client, hub, private_opinion):
    paths = (
        "/requests.json",
        f"/requests/{private_opinion}.json",
        f"/requests.json?service_request_id={private_opinion}",
    )
    for path in paths:
        [found] = get(client, path)
        assert set(found) == REQUEST_FIELDS  # no description: what people said stays at the office
    everything = (*paths, "/services.json", "/discovery.json")
    bodies = [client.get(API + path).get_data(as_text=True) for path in everything]
    with hub.app_context():
        opinion = db.session.query(Opinion).filter_by(receipt_number=private_opinion).one()
        internal = [opinion.uuid, opinion.secret]
    for body in bodies:
        for private in (*PERSONAL.values(), "5678", PRIVATE_CONTENT[:8], *internal):
            assert private not in body


def test_requests_are_newest_first(client, hub):
    with hub.app_context():
        made = [receive_opinion(created_at=days_ago(d)).receipt_number for d in (5, 1, 30, 2)]
    assert numbers(get(client, "/requests.json")) == [made[1], made[3], made[0], made[2]]


def bulk_opinions(count: int, newest: datetime) -> list[str]:
    """``count`` opinions a minute apart, the first one newest, inserted in one go."""
    rows = [
        {
            "uuid": str(uuid.uuid4()),
            "receipt_number": f"LC01-{i:06d}-0001",
            "secret": "ABCDEF",
            "station_code": "LC01",
            "category_code": "water",
            "content": "水渠堵塞",
            "created_at": newest - timedelta(minutes=i),
            "status": OpinionStatus.RECEIVED,
            "township_id": 1,
        }
        for i in range(count)
    ]
    db.session.execute(insert(Opinion), rows)
    db.session.commit()
    return [row["receipt_number"] for row in rows]


def test_at_most_a_thousand_requests_the_newest(client, hub):
    with hub.app_context():
        made = bulk_opinions(1001, days_ago(1))
    found = numbers(get(client, "/requests.json"))
    assert found == made[:1000]


def test_service_request_ids_override_the_other_filters(client, hub, private_opinion):
    with hub.app_context():
        old = receive_opinion(created_at=days_ago(400), category="water").receipt_number
        receive_opinion(category="water")
    asked = f"{old},{private_opinion.lower()},LC00-200101-0009"
    found = get(client, f"/requests.json?service_request_id={asked}&service_code=water&status=closed")
    assert numbers(found) == [private_opinion, old]


def test_service_code_filter_takes_several_codes(client, hub):
    with hub.app_context():
        road = receive_opinion(category="road", created_at=days_ago(3)).receipt_number
        water = receive_opinion(category="water", created_at=days_ago(2)).receipt_number
        receive_opinion(category="jobs", created_at=days_ago(1))
    assert numbers(get(client, "/requests.json?service_code=road")) == [road]
    assert numbers(get(client, "/requests.json?service_code=road,water")) == [water, road]
    assert get(client, "/requests.json?service_code=no-such") == []


def test_the_last_90_days_by_default_and_any_90_days_on_request(client, hub):
    with hub.app_context():
        recent = receive_opinion(created_at=days_ago(89)).receipt_number
        old = receive_opinion(created_at=datetime(2025, 3, 10, 2, 0, tzinfo=timezone.utc)).receipt_number
    assert numbers(get(client, "/requests.json")) == [recent]
    march = "start_date=2025-03-01T00:00:00Z&end_date=2025-03-31T00:00:00Z"
    assert numbers(get(client, f"/requests.json?{march}")) == [old]
    # Only one end given: the 90 days from or to it.
    assert numbers(get(client, "/requests.json?start_date=2025-02-01T00:00:00%2B08:00")) == [old]
    assert numbers(get(client, "/requests.json?end_date=2025-03-10T10:00:00%2B08:00")) == [old]
    assert get(client, "/requests.json?end_date=2025-03-10T09:59:59%2B08:00") == []


def test_dates_in_every_w3c_precision(client, hub):
    with hub.app_context():
        # 2025-03-10 23:30 in China, still the 10th there though the 10th ends at 16:00 UTC.
        created = datetime(2025, 3, 10, 15, 30, 0, 250000, tzinfo=timezone.utc)
        number = receive_opinion(created_at=created).receipt_number
    for query in (
        "start_date=2025-03-10&end_date=2025-03-10",
        "start_date=2025-03&end_date=2025-03",
        "start_date=2025-03-10T23:30%2B08:00&end_date=2025-03-10T23:30:00.3%2B08:00",
        # A "+" sent unescaped arrives as a space.
        "start_date=2025-03-10T23:00:00+08:00&end_date=2025-03-11T00:00:00+08:00",
        "start_date=2025-03-10T15:00:00Z&end_date=2025-03-10T16:00:00.5Z",
    ):
        assert numbers(get(client, f"/requests.json?{query}")) == [number], query
    assert get(client, "/requests.json?start_date=2025-03-11&end_date=2025-03-11") == []


def test_status_filter_open_and_closed(client, hub, clerk_account):
    with hub.app_context():
        open_ = receive_opinion(created_at=days_ago(2)).receipt_number
    closed = closed_with(hub, clerk_account, "路灯已修好。", created_at=days_ago(1))
    assert numbers(get(client, "/requests.json?status=open")) == [open_]
    assert numbers(get(client, "/requests.json?status=closed")) == [closed]
    assert numbers(get(client, "/requests.json?status=open,closed")) == [closed, open_]
    assert numbers(get(client, "/requests.json?status=CLOSED")) == [closed]


def test_the_department_handling_it_is_the_agency_responsible(client, hub, clerk_account):
    with hub.app_context():
        department = Department(name="罗定市交通运输局", contact_person="黎志坚", contact_phone="0766-3812345")
        db.session.add(department)
        opinion = receive_opinion(created_at=days_ago(3))
        staff.accept(as_user(clerk_account.id), opinion)
        staff.forward(as_user(clerk_account.id), opinion, department, instructions="请核实路灯损坏情况并维修")
        number, forwarded_at = opinion.receipt_number, opinion.updated_at
    body = client.get(f"{API}/requests/{number}.json").get_data(as_text=True)
    [found] = json.loads(body)
    assert (found["status"], found["agency_responsible"]) == ("open", "罗定市交通运输局")
    assert found["updated_datetime"] == forwarded_at.astimezone(timezone(timedelta(hours=8))).isoformat(
        timespec="seconds"
    )
    for internal in ("黎志坚", "0766-3812345", "请核实"):
        assert internal not in body


def test_closed_declined_and_merged_all_count_as_closed(client, hub, clerk_account):
    closed = closed_with(hub, clerk_account, "路灯已修好，欢迎监督。", created_at=days_ago(4))
    with hub.app_context():
        declined = receive_opinion(created_at=days_ago(3))
        staff.decline(as_user(clerk_account.id), declined, "该事项属于司法程序，请向法院咨询。")
        original = receive_opinion(created_at=days_ago(2))
        duplicate = receive_opinion(created_at=days_ago(1))
        staff.merge(as_user(clerk_account.id), duplicate, original)
        declined, original, duplicate = (o.receipt_number for o in (declined, original, duplicate))
    found = {item["service_request_id"]: item for item in get(client, "/requests.json?status=closed")}
    assert set(found) == {closed, declined, duplicate}
    assert found[closed]["status_notes"] == "路灯已修好，欢迎监督。"
    assert found[declined]["status_notes"] == "该事项属于司法程序，请向法院咨询。"
    assert original in found[duplicate]["status_notes"]
    assert numbers(get(client, "/requests.json?status=open")) == [original]


def test_a_reopened_opinion_is_open_again_and_the_rating_comment_stays_private(client, hub, clerk_account):
    number = closed_with(hub, clerk_account, "路灯已修好。")
    with hub.app_context():
        staff.record_rating(in_hub(hub, number), GivenRating(Satisfaction.UNSATISFIED, comment="根本没有修，还是黑的"))
        assert in_hub(hub, number).status == OpinionStatus.REOPENED
    body = client.get(f"{API}/requests/{number}.json").get_data(as_text=True)
    assert json.loads(body)[0]["status"] == "open"
    assert "根本没有修" not in body


def test_a_reopened_opinion_shows_neither_the_old_reply_nor_the_old_department(client, hub, clerk_account):
    """After 不满意, the last round's reply and department are no answer and no handler any more."""
    with hub.app_context():
        lights = Department(name="罗定市城市管理局", contact_person="黎志坚", contact_phone="0766-3812345")
        roads = Department(name="罗定市交通运输局", contact_person="陈伟", contact_phone="0766-3822222")
        db.session.add_all([lights, roads])
        opinion = receive_opinion(created_at=days_ago(3))
        staff.accept(as_user(clerk_account.id), opinion)
        assignment = staff.forward(as_user(clerk_account.id), opinion, lights)
        staff.record_reply(as_user(clerk_account.id), assignment, "已更换灯泡。")
        staff.close(as_user(clerk_account.id), opinion, "路灯已修好。")
        staff.record_rating(opinion, GivenRating(Satisfaction.UNSATISFIED, comment="还是黑的"))
        number = opinion.receipt_number

    def now() -> dict:
        [found] = get(client, f"/requests/{number}.json")
        return {key: found[key] for key in ("status", "status_notes", "agency_responsible")}

    again = {"status": "open", "status_notes": "群众不满意，正在重新办理", "agency_responsible": "罗城街道人大工委"}
    assert now() == again
    with hub.app_context():
        staff.accept(as_user(clerk_account.id), in_hub(hub, number))
    assert now() == again
    with hub.app_context():
        assignment = staff.forward(as_user(clerk_account.id), in_hub(hub, number), db.session.merge(roads))
    assert now() == {**again, "agency_responsible": "罗定市交通运输局"}
    with hub.app_context():
        staff.record_reply(as_user(clerk_account.id), db.session.merge(assignment), "已修复整段道路照明。")
        staff.close(as_user(clerk_account.id), in_hub(hub, number), "道路照明已全部修复。")
    assert now() == {"status": "closed", "status_notes": "道路照明已全部修复。", "agency_responsible": "罗定市交通运输局"}


@pytest.mark.parametrize(
    "query, words",
    [
        ("start_date=yesterday", "start_date"),
        ("end_date=2026-13-01", "end_date"),
        ("start_date=2026-02-30T00:00:00Z", "start_date"),
        ("end_date=2026-01-01T25:00:00Z", "end_date"),
        ("start_date=2026-01-01T00:00:00%2B99:00", "start_date"),
        ("status=pending", "status"),
        ("status=open,nope", "nope"),
        ("start_date=2026-01-01&end_date=2025-12-31", "不能早于"),
        ("start_date=2025-01-01&end_date=2025-12-31", "90 天"),
        ("service_request_id=" + ",".join(f"LC00-260101-{i:04d}" for i in range(1001)), "1000"),
    ],
)
def test_bad_parameters_are_a_json_400(client, query, words):
    errors = get(client, f"/requests.json?{query}", 400)
    assert isinstance(errors, list) and len(errors) == 1
    assert errors[0]["code"] == 400
    assert words in errors[0]["description"]


def test_the_api_is_public_and_read_only(client):
    assert client.get(API + "/requests.json").status_code == 200  # no session, no login
    assert client.post(API + "/requests.json", data={"service_code": "road"}).status_code in (400, 405)


def test_the_published_client_reads_the_api_from_a_real_server(hub, clerk_account):
    """georeport (a GeoReport v2 client from PyPI) against waitress serving the hub."""
    closed = closed_with(hub, clerk_account, "路灯已修好。", category="road", created_at=days_ago(3))
    with hub.app_context():
        road = receive_opinion(category="road", created_at=days_ago(2), **PERSONAL).receipt_number
        water = receive_opinion(category="water", created_at=days_ago(1)).receipt_number
        db.session.remove()
        db.engine.dispose()
    server = ServerProcess(Path(hub.instance_path), {"ROLE": "hub"}).start()
    try:
        api = GeoReport(f"{server.url}/open311/v2")
        assert "道路交通" in [s["service_name"] for s in api.get_service_list()]
        assert api.get_service_definition("road") == {"service_code": "road", "attributes": []}
        assert numbers(api.get_service_requests()) == [water, road, closed]
        assert numbers(api.get_service_requests(service_code="road", status="open")) == [road]
        assert numbers(api.get_service_requests(status="closed")) == [closed]
        assert numbers(api.get_service_requests(service_request_id=f"{closed},{water}")) == [water, closed]
        start = (utcnow() - timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert numbers(api.get_service_requests(start_date=start)) == [water]
        one = api.get_service_request(closed)
        assert (one["status"], one["status_notes"]) == ("closed", "路灯已修好。")
        assert PERSONAL["contact_phone"] not in json.dumps(api.get_service_request(road), ensure_ascii=False)
        with pytest.raises(requests.HTTPError) as refused:
            api.get_service_requests(status="pending")
        assert refused.value.response.status_code == 400
        with pytest.raises(requests.HTTPError) as missing:
            api.get_service_request("LC00-200101-0001")
        assert missing.value.response.status_code == 404
    finally:
        server.stop()
