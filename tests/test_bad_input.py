"""Bad input: a clear Chinese message, or stored as typed and shown escaped; never a 500.

Whatever is refused leaves the database exactly as it was. The suite's app
has ``TESTING`` on, so an unhandled exception in a view fails the test
instead of hiding behind the 500 page.
"""

import gzip
import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from kiosk.extensions import db
from kiosk.models import Deputy, Opinion, Role, station_deputies
from kiosk.sync import station as station_sync
from kiosk.sync.client import HubRefused
from tests.support.apps import copy_database
from tests.support.crashes import ClientVillager, Villager, server
from tests.support.desk import CSRF, Desk
from tests.support.factories import make_user, receive_opinion
from tests.support.inprocess import AppTransport

GOOD = {
    "category": {"category": "road"},
    "content": {"content": "村口的路灯坏了三个月，晚上很黑。"},
    "contact": {"anonymous": "1"},
    "deputy": {"deputy_id": ""},
}
STEPS = tuple(GOOD)
STEP_PATHS = {step: f"/opinion/{step}" for step in STEPS}

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)><div hx-get="/opinion/restart" hx-trigger="load">路灯坏了</div>'
# The markup as live tags; escaped, the same words are harmless text.
RAW_MARKUP = ("<script>alert", "<img src=x", '<div hx-get="/opinion/restart"', '<div hx-post="/opinion/restart"')
CHINESE = re.compile("[\u4e00-\u9fff]{2,}")

GARBAGE = [
    "",
    " ",
    "\x00",
    "\u200b\u200b\u200b\u200b\u200b\u200b",
    "x" * 5000,
    "<script>alert(1)</script>",
    '"><div hx-post="/opinion/restart" hx-trigger="load">',
    "{{ 7*7 }}{% raw %}",
    "' OR 1=1 --",
    "%00%ff",
    "-1",
    "1e309",
    "99999999999999999999999999",
    "null",
    "[]",
    "\ud7ff\uffff\U0010ffff",
]


@pytest.fixture
def person(client):
    person = ClientVillager(client)
    person.open_home()
    return person


def at_step(person, step: str) -> None:
    """Start an opinion and answer every step before ``step`` well."""
    assert person.post("/opinion/start").status == 200
    for earlier in STEPS[: STEPS.index(step)]:
        assert person.post(STEP_PATHS[earlier], GOOD[earlier]).status == 200


def snapshot(app) -> dict:
    """Everything a refused request must leave as it was."""
    with app.app_context():
        state = {
            table: db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
            for table in ("opinions", "opinion_events", "receipt_counters", "print_jobs")
        }
        state["drafts"] = db.session.execute(sa.text("SELECT id, data FROM drafts ORDER BY id")).all()
        return state


def opinions(app) -> list[Opinion]:
    with app.app_context():
        found = db.session.scalars(sa.select(Opinion).order_by(Opinion.receipt_number)).all()
        db.session.expunge_all()
        return found


def assert_plain_refusal(page, *, status: int = 200, says: str | None = None) -> None:
    assert page.status == status, page.text[:500]
    assert CHINESE.search(page.text)
    if says:
        assert says in page.text
    for raw in RAW_MARKUP:
        assert raw not in page.text


# --- the opinion text -----------------------------------------------------------


@pytest.mark.parametrize("text", ["路" * 34_000, "a" * 100_000], ids=["100KB-chinese", "100KB-ascii"])
def test_a_100_kb_text_gets_a_clear_message_and_is_not_kept(app, person, text):
    at_step(person, "content")
    before = snapshot(app)
    page = person.post("/opinion/content", {"content": text})
    assert_plain_refusal(page, says="内容太长了")
    assert snapshot(app) == before


def test_2000_characters_is_the_limit(app, person):
    at_step(person, "content")
    assert "内容太长了" in person.post("/opinion/content", {"content": "路" * 2001}).text
    page = person.post("/opinion/content", {"content": "路" * 2000})
    assert "内容太长了" not in page.text
    assert 'data-testid="anonymous"' in page.text  # on to the contact step


def test_control_and_zero_width_characters_are_removed(app, person):
    at_step(person, "content")
    person.post("/opinion/content", {"content": "村口\u200b路灯\x00坏了\u202e三个月\x07\ufeff了"})
    person.post("/opinion/contact", {"consent": "y", "name": "陈\u200d大\x1b文", "phone": "138 1234 5678"})
    person.post("/opinion/deputy", GOOD["deputy"])
    assert person.submit().receipt_number
    [opinion] = opinions(app)
    assert opinion.content == "村口路灯坏了三个月了"
    assert opinion.contact_name == "陈大文"
    assert opinion.contact_phone == "13812345678"


def test_a_text_of_invisible_characters_only_is_too_short(app, person):
    at_step(person, "content")
    before = snapshot(app)
    page = person.post("/opinion/content", {"content": "\u200b\u200c\u200d\ufeff\x00" * 10})
    assert_plain_refusal(page, says="请至少写")
    assert snapshot(app) == before


def test_markup_is_stored_as_typed_and_always_shown_escaped(app, person):
    name = "<i hx-get=/x>陈</i>"
    at_step(person, "content")
    person.post("/opinion/content", {"content": MARKUP})
    # Markup is no name: refused in plain words, and what was typed comes back escaped.
    refused = person.post("/opinion/contact", {"consent": "y", "name": name, "phone": "13812345678"})
    assert "姓名只能写汉字或字母" in refused.text
    assert str(escape(name)) in refused.text and name not in refused.text
    name = "陈大文"
    person.post("/opinion/contact", {"consent": "y", "name": name, "phone": "13812345678"})
    person.post("/opinion/deputy", GOOD["deputy"])
    pages = {"review": person.get("/opinion/review"), "content step": person.get("/opinion/step/content")}
    pages["receipt"] = person.submit()
    number, secret = pages["receipt"].receipt_number, pages["receipt"].receipt_secret
    pages["status page"] = person.get(f"/r/{number}?k={secret}")
    pages["look-up"] = person.post("/lookup", {"number": number, "secret": secret})

    [opinion] = opinions(app)
    assert opinion.content == MARKUP and opinion.contact_name == name
    assert str(escape(MARKUP)) in pages["review"].text
    assert str(escape(name)) in pages["review"].text
    for what, page in pages.items():
        assert page.status == 200, what
        for raw in RAW_MARKUP:
            assert raw not in page.text, f"{what} shows {raw!r} unescaped"


# --- contact details ----------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    ["12345", "1381234567", "138123456789", "23812345678", "1281234567a", "", "+8613812345678",
     "１３８１２３４５６７８", "13٨١٢٣٤٥٦٧٨", "138<b>1234</b>"],
)
def test_a_wrong_phone_number_gets_a_clear_message_and_nothing_is_kept(app, person, phone):
    at_step(person, "contact")
    before = snapshot(app)
    page = person.post("/opinion/contact", {"consent": "y", "name": "陈大文", "phone": phone})
    assert_plain_refusal(page, says="手机号码")
    assert snapshot(app) == before


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200b", "陈" * 21])
def test_a_missing_or_overlong_name_gets_a_clear_message(app, person, name):
    at_step(person, "contact")
    before = snapshot(app)
    page = person.post("/opinion/contact", {"consent": "y", "name": name, "phone": "13812345678"})
    assert_plain_refusal(page, says="姓名")
    assert snapshot(app) == before


def test_contact_details_without_consent_are_not_kept(app, person):
    at_step(person, "contact")
    before = snapshot(app)
    page = person.post("/opinion/contact", {"name": "陈大文", "phone": "13812345678"})
    assert_plain_refusal(page, says="我同意")
    assert snapshot(app) == before


# --- choices that are not on the screen ---------------------------------------------


@pytest.mark.parametrize("category", ["nonsense", "", "ROAD", "road ", "<script>", "x" * 1000])
def test_an_unknown_category_is_refused(app, person, category):
    at_step(person, "category")
    before = snapshot(app)
    assert_plain_refusal(person.post("/opinion/category", {"category": category}), says="请点选一类意见")
    assert snapshot(app) == before


def test_a_deputy_of_another_station_is_refused(app, person):
    with app.app_context():
        here = db.session.scalar(sa.text("SELECT station_code FROM box_identity"))
        elsewhere = db.session.scalar(
            sa.select(Deputy.id).where(
                ~Deputy.id.in_(sa.select(station_deputies.c.deputy_id).where(station_deputies.c.station_code == here))
            )
        )
    at_step(person, "deputy")
    before = snapshot(app)
    for deputy_id in (str(elsewhere), "abc", "-1", "99999999999999999999999", "1.5"):
        page = person.post("/opinion/deputy", {"deputy_id": deputy_id})
        assert_plain_refusal(page, says="请从名单中选择代表")
    assert snapshot(app) == before


# --- garbage everywhere ----------------------------------------------------------------

FIELDS = {
    "category": ["category"],
    "content": ["content"],
    "contact": ["anonymous", "consent", "name", "phone"],
    "deputy": ["deputy_id"],
}


@pytest.mark.parametrize("step", STEPS)
def test_garbage_in_every_field_of_every_step_never_breaks_the_kiosk(app, person, step):
    at_step(person, step)
    for field in FIELDS[step]:
        for garbage in GARBAGE:
            form = {**GOOD[step], field: garbage}
            if step == "contact" and field != "anonymous":
                form = {"consent": "y", "name": "陈大文", "phone": "13812345678", field: garbage}
            before = snapshot(app)
            page = person.post(STEP_PATHS[step], form)
            assert page.status == 200, (field, garbage, page.text[:300])
            assert CHINESE.search(page.text)
            for raw in RAW_MARKUP:
                assert raw not in page.text, (field, garbage)
            # A step writes to its draft and nowhere else.
            after = snapshot(app)
            assert {k: v for k, v in after.items() if k != "drafts"} == {
                k: v for k, v in before.items() if k != "drafts"
            }
            assert [d.id for d in after["drafts"]] == [d.id for d in before["drafts"]]
            at_step(person, step)  # a fresh draft for the next try


def test_garbage_at_submit_and_an_incomplete_draft_write_nothing(app, person):
    at_step(person, "contact")  # no contact answer yet
    before = snapshot(app)
    page = person.post("/opinion/submit", {"content": "<script>alert(1)</script>", "uuid": "x", "receipt_number": "1"})
    assert_plain_refusal(page)
    assert page.receipt_number is None
    assert snapshot(app) == before


@pytest.mark.parametrize("path", [*STEP_PATHS.values(), "/opinion/submit"])
def test_a_step_without_a_draft_starts_again_kindly(app, person, path):
    before = snapshot(app)
    page = person.post(path, {"category": "road", "content": "路灯坏了很久了", "anonymous": "1"})
    assert_plain_refusal(page)
    assert page.receipt_number is None
    assert snapshot(app) == before


@pytest.mark.parametrize("step", ["nonsense", "<script>", "..%2f..%2fetc", "review%00"])
def test_an_unknown_step_is_a_plain_page(person, step):
    person.post("/opinion/start")
    page = person.get(f"/opinion/step/{step}")
    assert page.status in (200, 404)
    assert CHINESE.search(page.text)


def test_a_body_over_the_limit_is_refused_plainly(app, person):
    at_step(person, "content")
    before = snapshot(app)
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    page = person.post("/opinion/content", body=b"content=" + b"a" * too_big)
    assert_plain_refusal(page, status=413, says="太长")
    assert snapshot(app) == before


def test_invalid_utf8_is_not_a_crash(app, person):
    at_step(person, "content")
    page = person.post("/opinion/content", body=b"content=%ff%fe%80" + "路灯坏了很久".encode() + b"\xff\xfe")
    assert page.status == 200
    assert CHINESE.search(page.text)


# --- CSRF ----------------------------------------------------------------------------------

POSTS = ["/opinion/start", *STEP_PATHS.values(), "/opinion/submit", "/opinion/restart", "/opinion/idle", "/lookup"]


@pytest.mark.parametrize("token", [None, "garbage", ""], ids=["missing", "wrong", "empty"])
@pytest.mark.parametrize("path", POSTS)
def test_a_post_without_the_right_csrf_token_changes_nothing(app, person, path, token):
    at_step(person, "deputy")
    person.post("/opinion/deputy", GOOD["deputy"])  # ready to submit
    before = snapshot(app)
    headers = {} if token is None else {"X-CSRFToken": token}
    fields = {**GOOD["category"], **GOOD["content"], **GOOD["contact"]}
    page = person.post(path, fields, csrf=False, headers=headers)
    assert_plain_refusal(page, status=400, says="页面已过期")
    assert snapshot(app) == before


# --- receipts ------------------------------------------------------------------------------


@pytest.fixture
def receipt(person):
    at_step(person, "deputy")
    person.post("/opinion/deputy", GOOD["deputy"])
    page = person.submit()
    return page.receipt_number, page.receipt_secret


@pytest.mark.parametrize(
    "query",
    ["?k=WRONG1", "", "?k=", "?k=<script>", "?k=" + "A" * 5000, "?k=%00", "?k=WRONG1&k=AAAAAA"],
)
def test_a_status_page_with_a_wrong_secret_says_nothing_about_the_receipt(person, receipt, query):
    number, _ = receipt
    page = person.get(f"/r/{number}{query}")
    assert_plain_refusal(page, status=404)
    assert GOOD["content"]["content"] not in page.text


@pytest.mark.parametrize("number", ["NOPE", "<script>", "LC00-000000-0000", "%00", "x" * 5000])
def test_a_status_page_for_a_receipt_that_does_not_exist_is_plain(person, receipt, number):
    _, secret = receipt
    assert_plain_refusal(person.get(f"/r/{number}?k={secret}"), status=404)


@pytest.mark.parametrize("secret", ["WRONG1", "", "<script>", "A" * 5000, "\x00"])
def test_a_kiosk_look_up_with_a_wrong_secret_shows_nothing(app, person, receipt, secret):
    number, _ = receipt
    page = person.post("/lookup", {"number": number, "secret": secret})
    assert_plain_refusal(page)
    assert GOOD["content"]["content"] not in page.text


def test_a_receipt_pdf_with_a_wrong_secret_is_not_served(app, person, receipt):
    number, _ = receipt
    page = person.get(f"/receipts/{number}.pdf?k=WRONG1")
    assert_plain_refusal(page, status=404)
    assert not page.text.startswith("%PDF")


# --- too many at once -------------------------------------------------------------------------


def test_submissions_beyond_the_limit_get_the_wait_screen_and_write_nothing(app, client):
    app.config["SUBMIT_PER_MINUTE"] = 2
    people = [ClientVillager(app.test_client()) for _ in range(3)]
    numbers = []
    for person in people[:2]:
        person.fill_in("村口的路灯坏了三个月，晚上很黑。")
        numbers.append(person.submit().receipt_number)
    assert all(numbers)
    people[2].fill_in("村口的路灯坏了三个月，晚上很黑。")
    before = snapshot(app)
    page = people[2].submit()
    assert_plain_refusal(page, says="请稍等")
    assert page.receipt_number is None
    assert snapshot(app) == before  # the draft waits, nothing else is written
    # A second tap by someone already served still shows their receipt.
    assert people[0].submit().receipt_number == numbers[0]


# --- the real server -------------------------------------------------------------------------


def test_the_real_server_answers_bad_requests_plainly(demo_database, tmp_path):
    box = server(copy_database(demo_database, tmp_path / "box")).start()
    try:
        person = Villager(box.url)
        person.open_home()
        person.post("/opinion/start")
        person.post("/opinion/category", GOOD["category"])
        assert_plain_refusal(person.post("/opinion/content", body=b"content=" + b"a" * (2 << 20)), status=413)
        assert_plain_refusal(person.post("/opinion/content", GOOD["content"], csrf=False), status=400)
        assert person.post("/opinion/content", body=b"content=\xff\xfe%ff" + "路灯坏了很久".encode()).status == 200
        assert person.get("/healthz").status == 200
    finally:
        box.stop()
    assert "Traceback" not in box.log_text()


# --- control characters and file parts, at the edge ------------------------------


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart form body with text ``fields`` and ``files`` (name: text sent as a file)."""
    boundary = "x-boundary-7e3f"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n{value}\r\n"
        for name, value in files.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "path",
    [
        "/r/LC00-261206-0001%00?k=ABC",
        "/open311/v2/requests/LC00%00.json",
        "/open311/v2/services/ro%00ad.json",
        "/staff/opinions/%00",
        "/staff/opinions/0e0f6c1a-5e4b-4a8f-9d1e-%00",
        "/staff/assignments/1%00/slip.pdf",
    ],
)
def test_an_address_with_a_control_character_names_no_page(hub_app, path):
    page = Desk(hub_app).get(path)
    assert page.status_code == 404, page.text[:300]
    assert CHINESE.search(page.text)


@pytest.fixture
def received(hub_app):
    """Two opinions at the hub, one about a street lamp (路灯): the lamp's receipt number and secret."""
    with hub_app.app_context():
        receive_opinion(category="other", content="村委会的公告栏好久没有更新了。")
        lamp = receive_opinion(content="村口的路灯坏了三个月，晚上很黑。", secret="QWERTY")
        return lamp.receipt_number, lamp.secret


def test_a_status_page_reads_its_secret_without_control_characters(hub_app, received):
    number, secret = received
    client = hub_app.test_client()
    assert client.get(f"/r/{number}?k={secret[:2]}%00{secret[2:]}").status_code == 200
    assert client.get(f"/r/{number}?k=%00%01%1B").status_code == 404


def test_open311_reads_a_service_code_without_control_characters(hub_app, received):
    client = hub_app.test_client()
    road = client.get("/open311/v2/requests.json?service_code=road")
    assert road.status_code == 200 and road.json
    assert client.get("/open311/v2/requests.json?service_code=ro%00ad").json == road.json


RECEIPT_NUMBER = re.compile(r"[A-Z0-9]{2,8}-[0-9]{6}-[0-9]{4}")
LAMP = "%E8%B7%AF%E7%81%AF"  # 路灯


@pytest.mark.parametrize(
    "path, clean",
    [
        (f"/staff/?status=all&text={LAMP}%00", f"/staff/?status=all&text={LAMP}"),
        (f"/staff/?status=all&te%00xt={LAMP}", f"/staff/?status=all&text={LAMP}"),
        (f"/staff/stats/export?format=csv&text={LAMP}%00", f"/staff/stats/export?format=csv&text={LAMP}"),
        (f"/staff/stats/export?format=xlsx&text={LAMP}%1B", None),
    ],
)
def test_staff_pages_read_their_query_without_control_characters(hub_app, received, path, clean):
    desk = Desk(hub_app, role="city")
    page = desk.get(path)
    assert page.status_code == 200, page.text[:300]
    if clean:
        found = set(RECEIPT_NUMBER.findall(page.get_data(as_text=True)))
        assert found == {received[0]} == set(RECEIPT_NUMBER.findall(desk.get(clean).get_data(as_text=True)))
    else:
        assert page.get_data()


def test_a_nul_in_the_username_is_stripped_at_the_edge(hub_app):
    with hub_app.app_context():
        make_user(Role.TOWNSHIP, username="clerk", password="correct horse 9")
    client = hub_app.test_client()
    token = CSRF.search(client.get("/staff/login").text).group(1)
    page = client.post("/staff/login", data={"username": "cl\x00erk", "password": "correct horse 9", "csrf_token": token})
    assert page.status_code == 302, page.text[:300]


def test_a_file_part_for_the_username_gets_the_usual_message(hub):
    with hub.app_context():
        make_user(Role.TOWNSHIP, username="clerk", password="correct horse 9")
    client = hub.test_client()
    token = CSRF.search(client.get("/staff/login").text).group(1)
    body, kind = multipart({"password": "correct horse 9", "csrf_token": token}, {"username": "clerk"})
    page = client.post("/staff/login", data=body, content_type=kind)
    assert page.status_code == 200, page.text[:300]
    assert CHINESE.search(page.text) and "/staff/logout" not in page.text


@pytest.mark.parametrize("step, field", [("content", "content"), ("contact", "name"), ("contact", "phone")])
def test_a_file_part_for_a_text_field_gets_the_usual_message(app, person, step, field):
    at_step(person, step)
    before = snapshot(app)
    fields = {"consent": "y", "name": "陈大文", "phone": "13800000000"} if step == "contact" else {}
    fields.pop(field, None)
    body, kind = multipart(fields, {field: "村口的路灯坏了三个月，晚上很黑。" if field == "content" else "13800000000"})
    page = person.post(STEP_PATHS[step], body=body, headers={"Content-Type": kind})
    assert_plain_refusal(page)
    assert snapshot(app) == before


def test_a_file_part_at_the_look_up_gets_the_usual_message(person):
    body, kind = multipart({"secret": "ABCDEF"}, {"number": "LC00-261206-0001"})
    page = person.post("/lookup", body=body, headers={"Content-Type": kind})
    assert_plain_refusal(page, says="请输入回执编号")


def test_deeply_nested_json_to_a_kiosk_form_is_a_plain_400(person):
    at_step(person, "content")
    page = person.post("/opinion/content", body=b"[" * 200_000, headers={"Content-Type": "application/json"})
    assert_plain_refusal(page, status=400)


@pytest.mark.parametrize("endpoint", ["enrol", "push"])
def test_deeply_nested_json_to_the_sync_api_is_a_400(station_app, hub_app, endpoint):
    body = b"[" * 200_000
    if endpoint == "enrol":
        # Within the 4 KiB an enrolment may take, and deeper than Python recurses.
        answer = hub_app.test_client().post("/api/v1/sync/enrol", data=body[:4000], content_type="application/json")
        assert answer.status_code == 400 and answer.json["error"] == "bad_body"
        return
    with station_app.app_context():
        hub_client = station_sync.make_client(AppTransport(hub_app))
        with pytest.raises(HubRefused) as refused:
            hub_client._call("push", gzip.compress(body))
    assert (refused.value.status, refused.value.code) == (400, "bad_body")


def test_an_enrolment_holding_a_nul_is_a_400(hub_app):
    answer = hub_app.test_client().post("/api/v1/sync/enrol", json={"token": "abc\x00", "public_key": "x", "software_version": "1\x00"})
    assert answer.status_code == 400 and answer.json["error"] == "bad_body"
