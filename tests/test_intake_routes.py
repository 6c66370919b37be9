"""The kiosk's screens through the Flask test client: each step, its rules and messages."""

import re

import pytest
import sqlalchemy as sa

from kiosk.extensions import db
from kiosk.intake import services as intake
from kiosk.models import Category, Deputy, Draft, Opinion, station_deputies
from tests.support.factories import make_opinion
from tests.support.web import text

HTMX = {"HX-Request": "true"}
CONTENT = "村口的路灯坏了三个月，晚上很黑。"


class Person:
    """Someone at the kiosk, tapping through the screens as htmx would send them."""

    def __init__(self, client):
        self.client = client
        page = client.get("/").get_data(as_text=True)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def post(self, path, htmx=True, **fields):
        return self.client.post(path, data={"csrf_token": self.token, **fields}, headers=HTMX if htmx else {})

    def get(self, path, htmx=True):
        return self.client.get(path, headers=HTMX if htmx else {})

    def walk(self, until: str | None = None, contact=None, deputy=""):
        """Start and answer each step well, stopping before ``until``."""
        answers = [
            ("category", {"category": "road"}),
            ("content", {"content": CONTENT}),
            ("contact", contact or {"anonymous": "1"}),
            ("deputy", {"deputy_id": deputy}),
        ]
        page = self.post("/opinion/start")
        for step, fields in answers:
            if step == until:
                break
            page = self.post(f"/opinion/{step}", **fields)
            assert page.status_code == 200
        return page

    def draft_id(self):
        with self.client.session_transaction() as session:
            return session.get("draft_id")


@pytest.fixture
def person(client):
    return Person(client)


def hooks(response) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', text(response)))


def answers_of(app, draft_id) -> dict:
    with app.app_context():
        return intake.draft_answers(db.session.get(Draft, draft_id))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- home and start -------------------------------------------------------------------------


def test_home_shows_the_station_and_two_big_choices(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "罗城街道人大代表中心联络站" in text(page)
    assert {"start", "lookup"} <= hooks(page)
    assert "<html" in text(page)
    assert 'hx-history="false"' in text(page) and '"historyCacheSize": 0' in text(page)
    # The idle settings reach the page: 90 s, then a 15 s countdown.
    assert 'data-idle-seconds="90"' in text(page) and 'data-countdown-seconds="15"' in text(page)


@pytest.mark.parametrize(("printer", "promise"), [(None, "得到回执编号"), ("receipts", "打印回执")])
def test_home_promises_a_printed_receipt_only_with_a_printer(app, client, printer, promise):
    app.config["PRINTER"] = printer
    page = text(client.get("/"))
    assert f"写几句话，{promise}" in page
    assert ("打印" in page) == bool(printer)


def test_start_keeps_a_draft_on_the_server_and_shows_the_categories_in_order(app, person):
    page = person.post("/opinion/start")
    assert page.status_code == 200
    assert "<html" not in text(page) and 'id="screen"' in text(page)
    draft_id = person.draft_id()
    assert answers_of(app, draft_id) == {}
    codes = re.findall(r'data-testid="category-([^"]+)"', text(page))
    assert codes == ["road", "water", "environment", "edu-health", "welfare", "jobs", "mediation", "village", "other"]
    assert {"restart", "back"} <= hooks(page)


def test_starting_again_discards_the_previous_draft(app, person):
    person.walk(until="contact")
    first = person.draft_id()
    person.post("/opinion/start")
    assert person.draft_id() != first
    with app.app_context():
        assert db.session.get(Draft, first) is None


def test_plain_forms_work_without_javascript(person):
    page = person.post("/opinion/start", htmx=False)
    assert "<html" in text(page) and "category-road" in text(page)
    page = person.post("/opinion/category", htmx=False, category="water")
    assert "<html" in text(page) and 'data-testid="content"' in text(page)
    assert "HX-Request" in page.headers["Vary"]


# --- steps ------------------------------------------------------------------------------------


def test_category_must_be_one_on_the_screen(app, person):
    person.post("/opinion/start")
    assert "请点选一类意见" in text(person.post("/opinion/category", category="nope"))
    with app.app_context():
        db.session.get(Category, "jobs").active = False
        db.session.commit()
    page = person.post("/opinion/category", category="jobs")
    assert "请点选一类意见" in text(page) and "category-jobs" not in text(page)
    page = person.post("/opinion/category", category="water")
    assert 'data-testid="content"' in text(page)
    assert answers_of(app, person.draft_id()) == {"category": "water"}


@pytest.mark.parametrize(
    "content, message",
    [
        ("短", "请至少写 5 个字"),
        ("a\u200bb\u200bc\u200bd\x00", "请至少写 5 个字"),  # invisible characters do not count
        ("长" * 2001, "内容太长了：最多 2000 个字，现在有 2001 个字"),
    ],
)
def test_content_outside_the_limits_gets_a_chinese_message(app, person, content, message):
    person.walk(until="content")
    page = person.post("/opinion/content", content=content)
    assert page.status_code == 200
    assert message in text(page)
    assert 'data-testid="content"' in text(page)
    assert "content" not in answers_of(app, person.draft_id())


def test_content_is_kept_as_typed_apart_from_invisible_characters(app, person):
    person.walk(until="content")
    page = person.post("/opinion/content", content="  <b>水渠</b>\u200b堵了\r\n两周  ")
    assert 'data-testid="anonymous"' in text(page)
    assert answers_of(app, person.draft_id())["content"] == "<b>水渠</b>堵了\n两周"


def test_the_content_counter_is_shown(person):
    page = person.walk(until="content")
    page = person.get("/opinion/step/content")
    assert 'id="content-counter"' in text(page) and "最多 2000 字" in text(page)


def test_contact_is_anonymous_unless_the_person_consents(app, person):
    page = person.walk(until="contact")
    html = text(page)
    consent = re.search(r"<input[^>]*data-testid=\"consent\"[^>]*>", html).group(0)
    assert "checked" not in consent
    for field in ("name", "phone"):
        tag = re.search(rf"<input[^>]*data-testid=\"{field}\"[^>]*>", html).group(0)
        assert "disabled" in tag and 'autocomplete="off"' in tag and 'inputmode="none"' in tag
    assert re.search(r'aria-pressed="true"\s+data-testid="anonymous"', html)
    assert "不会打印在回执上，不会公开；罗城街道人大工委收到并备份后本机即删除" in html
    page = person.post("/opinion/contact", anonymous="1")
    assert "deputy-none" in text(page)
    answers = answers_of(app, person.draft_id())
    assert answers["anonymous"] is True and "name" not in answers and "consent_version" not in answers


@pytest.mark.parametrize("days", [365, 180])
def test_the_consent_notice_says_when_the_hub_erases_the_details(app, person, days):
    """The notice of consent version 2026-12.2 names the hub's retention (RETENTION_DAYS)."""
    app.config["RETENTION_DAYS"] = days
    html = text(person.walk(until="contact"))
    assert f"罗城街道人大工委收到并备份后本机即删除，罗城街道人大工委在意见办结{days}天后删除。" in html
    assert app.config["CONSENT_VERSION"] == "2026-12.2"


def test_next_without_consent_is_anonymous(app, person):
    person.walk(until="contact")
    person.post("/opinion/contact")
    assert answers_of(app, person.draft_id())["anonymous"] is True


def test_consent_keeps_name_phone_and_the_notice_version(app, person):
    person.walk(until="contact")
    page = person.post("/opinion/contact", consent="y", name="陈大文", phone="138 1234-5678")
    assert "deputy-none" in text(page)
    answers = answers_of(app, person.draft_id())
    assert answers["anonymous"] is False
    assert (answers["name"], answers["phone"]) == ("陈大文", "13812345678")
    assert answers["consent_version"] == app.config["CONSENT_VERSION"]
    # Back on the step, the choice is shown as made.
    again = text(person.get("/opinion/step/contact"))
    assert re.search(r'data-testid="consent"[^>]*checked', again)
    # Then choosing anonymous forgets the contact details.
    person.post("/opinion/contact", anonymous="1")
    answers = answers_of(app, person.draft_id())
    assert answers["anonymous"] is True and "name" not in answers and "phone" not in answers


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"consent": "y", "name": "陈大文", "phone": "12345"}, "手机号码应为 11 位数字"),
        ({"consent": "y", "name": "", "phone": "13812345678"}, "请填写您的姓名"),
        ({"name": "陈大文", "phone": "13812345678"}, "请先勾选“我同意”"),
        ({"consent": "y", "name": "@#*", "phone": "13812345678"}, "姓名只能写汉字或字母"),
        ({"consent": "y", "name": "陈大文3", "phone": "13812345678"}, "姓名只能写汉字或字母"),
        ({"consent": "y", "name": "\u3164\u3164", "phone": "13812345678"}, "请填写您的姓名"),  # Hangul fillers
    ],
)
def test_contact_mistakes_get_a_chinese_message_and_nothing_is_kept(app, person, fields, message):
    person.walk(until="contact")
    page = person.post("/opinion/contact", **fields)
    assert page.status_code == 200 and message in text(page)
    assert "anonymous" not in answers_of(app, person.draft_id())


@pytest.mark.parametrize("name", ["阿卜杜拉·买买提", "欧阳 娜娜", "Zhang Wei", "㐀亮"])
def test_names_of_every_kind_people_have_are_taken(app, person, name):
    person.walk(until="contact")
    person.post("/opinion/contact", consent="y", name=name, phone="13812345678")
    assert answers_of(app, person.draft_id())["name"] == name


def test_deputy_step_offers_this_stations_deputies_and_none(app, person):
    page = person.walk(until="deputy")
    with app.app_context():
        station = intake.this_station()
        ours = [d.id for d in station.deputies]
        other = db.session.scalar(sa.select(Deputy.id).where(Deputy.id.not_in(ours)).limit(1))
    shown = [int(i) for i in re.findall(r'data-testid="deputy-(\d+)"', text(page))]
    assert shown == ours and "deputy-none" in hooks(page)
    assert "请从名单中选择代表" in text(person.post("/opinion/deputy", deputy_id=str(other)))
    assert "请从名单中选择代表" in text(person.post("/opinion/deputy", deputy_id="abc"))
    page = person.post("/opinion/deputy", deputy_id=str(ours[0]))
    assert answers_of(app, person.draft_id())["deputy_id"] == ours[0]
    assert 'data-testid="submit"' in text(page)
    page = person.post("/opinion/deputy", deputy_id="")
    assert "deputy_id" not in answers_of(app, person.draft_id())
    assert "不指定" in text(page)


def test_deputy_step_is_skipped_where_the_station_has_none(app, person):
    with app.app_context():
        db.session.execute(sa.delete(station_deputies).where(station_deputies.c.station_code == "LC00"))
        db.session.commit()
    page = person.walk(until="contact")
    assert "共 4 步" in text(page)
    page = person.post("/opinion/contact", anonymous="1")
    assert 'data-testid="submit"' in text(page) and "review-deputy" not in text(page)
    assert "deputy-none" not in text(person.get("/opinion/step/deputy"))


def test_review_shows_everything_with_the_phone_masked_and_markup_escaped(person):
    person.walk(until="content")
    person.post("/opinion/content", content='<script>alert(1)</script><div hx-get="/x">路灯坏了</div>')
    person.post("/opinion/contact", consent="y", name="陈大文", phone="13812345678")
    page = text(person.post("/opinion/deputy", deputy_id=""))
    assert "138****5678" in page and "13812345678" not in page and "陈大文" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert '<div hx-get="/x">' not in page
    assert {"edit-category", "edit-content", "edit-contact", "edit-deputy", "submit", "back", "restart"} <= set(
        re.findall(r'data-testid="([^"]+)"', page)
    )
    assert 'hx-disabled-elt="#submit-button"' in page


def test_review_of_an_unfinished_draft_shows_the_missing_step(person):
    person.walk(until="content")
    page = person.get("/opinion/review")
    assert 'data-testid="content"' in text(page)


# --- 上一步 keeps what was typed --------------------------------------------------------------


def test_back_from_the_text_keeps_it_unchecked_and_shows_it_again(app, person):
    person.walk(until="content")
    page = person.post("/opinion/back/content", content="村口路灯")  # under the minimum: kept all the same
    assert page.status_code == 200 and 'data-testid="category-road"' in text(page)
    page = person.post("/opinion/category", category="road")
    assert ">村口路灯</textarea>" in text(page)
    # Kept, not an answer: submitting goes back to the text.
    assert "content" not in answers_of(app, person.draft_id())
    assert 'data-testid="content"' in text(person.post("/opinion/submit"))
    assert count(app, Opinion) == 0
    # 下一步 makes it the answer, and what was kept goes.
    person.post("/opinion/content", content=CONTENT)
    answers = answers_of(app, person.draft_id())
    assert answers["content"] == CONTENT and "typed_content" not in answers


def test_back_from_the_text_keeps_the_latest_over_the_saved_answer(person):
    person.walk(until="contact")
    person.get("/opinion/step/content")
    person.post("/opinion/back/content", content=CONTENT + "还有水渠。")
    page = person.post("/opinion/category", category="road")
    assert f">{CONTENT}还有水渠。</textarea>" in text(page)


def test_back_from_the_contact_step_keeps_name_and_phone_only_with_consent(app, person):
    person.walk(until="contact")
    person.post("/opinion/back/contact", consent="y", name="陈大文", phone="1381234")
    page = text(person.get("/opinion/step/contact"))
    ticked = re.compile(r'data-testid="consent"[^>]*checked')
    assert 'value="陈大文"' in page and 'value="1381234"' in page and ticked.search(page)
    person.post("/opinion/back/contact", name="陈大文", phone="13812345678")
    page = text(person.get("/opinion/step/contact"))
    assert "陈大文" not in page and "13812345678" not in page and not ticked.search(page)
    assert "name" not in answers_of(app, person.draft_id())


def test_back_from_an_unknown_step_starts_again_kindly(person):
    person.walk(until="content")
    page = person.post("/opinion/back/nowhere", content="x")
    assert page.status_code == 404 and "请重新开始" in text(page)


# --- submit -----------------------------------------------------------------------------------


def test_submit_saves_once_and_shows_the_receipt(app, person):
    person.walk(contact={"consent": "y", "name": "陈大文", "phone": "13812345678"})
    first = person.post("/opinion/submit")
    again = person.post("/opinion/submit")
    assert first.status_code == again.status_code == 200
    number = re.search(r'data-testid="receipt-number">([^<]+)<', text(first)).group(1)
    secret = re.search(r'data-testid="receipt-secret">([^<]+)<', text(first)).group(1)
    assert re.fullmatch(r"LC00-\d{6}-\d{4}", number) and re.fullmatch(r"[A-Z0-9]{6}", secret)
    assert f'data-testid="receipt-number">{number}<' in text(again)
    assert {"receipt-qr", "print-status", "done", "receipt-countdown"} <= hooks(first)
    assert 'data-seconds="30"' in text(first)  # RECEIPT_SECONDS: it goes home by itself
    assert "陈大文" not in text(first) and "5678" not in text(first) and "联系电话" not in text(first)
    with app.app_context():
        opinions = db.session.scalars(sa.select(Opinion)).all()
        assert [o.receipt_number for o in opinions] == [number]
        assert opinions[0].contact_phone == "13812345678"
        assert opinions[0].consent_version == app.config["CONSENT_VERSION"]


def test_submitting_an_unfinished_draft_goes_back_to_the_missing_step(app, person):
    person.walk(until="contact")
    page = person.post("/opinion/submit")
    assert page.status_code == 200 and 'data-testid="anonymous"' in text(page)
    assert count(app, Opinion) == 0


def test_too_many_submissions_get_a_polite_wait_screen(app, person):
    app.config["SUBMIT_PER_MINUTE"] = 2
    with app.app_context():
        make_opinion()
        make_opinion()
    person.walk()
    page = person.post("/opinion/submit")
    assert page.status_code == 200 and "请稍等一分钟" in text(page)
    assert "您填写的内容都还在" in text(page)
    assert count(app, Opinion) == 2
    assert answers_of(app, person.draft_id())["content"] == CONTENT


# --- wiping -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/opinion/restart", "/opinion/idle"])
def test_restart_and_idle_wipe_the_draft_and_go_home(app, person, path):
    person.walk(until="deputy", contact={"consent": "y", "name": "陈大文", "phone": "13812345678"})
    draft_id = person.draft_id()
    page = person.post(path)
    assert page.status_code == 200 and 'data-testid="start"' in text(page)
    assert person.draft_id() is None
    with app.app_context():
        assert db.session.get(Draft, draft_id) is None
    # The page's CSRF token still works: the session kept it.
    assert person.post("/opinion/start").status_code == 200


@pytest.mark.parametrize(
    "method, path, fields",
    [
        ("post", "/opinion/category", {"category": "road"}),
        ("post", "/opinion/content", {"content": CONTENT}),
        ("post", "/opinion/contact", {"anonymous": "1"}),
        ("post", "/opinion/deputy", {"deputy_id": ""}),
        ("post", "/opinion/submit", {}),
        ("get", "/opinion/review", {}),
        ("get", "/opinion/step/content", {}),
    ],
)
def test_a_wiped_draft_asks_kindly_to_start_again(app, person, method, path, fields):
    person.walk(until="deputy")
    person.post("/opinion/idle")
    page = person.post(path, **fields) if method == "post" else person.get(path)
    assert page.status_code == 200
    assert "请重新开始" in text(page)
    assert count(app, Opinion) == 0


def test_an_unknown_step_is_a_plain_page(person):
    person.walk(until="content")
    page = person.get("/opinion/step/nothing")
    assert page.status_code == 404 and "请重新开始" in text(page)


# --- the browser keeps nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/"),
        ("get", "/lookup"),
        ("post", "/lookup"),
        ("post", "/opinion/start"),
        ("post", "/opinion/category"),
        ("post", "/opinion/content"),
        ("post", "/opinion/contact"),
        ("post", "/opinion/deputy"),
        ("get", "/opinion/review"),
        ("get", "/opinion/step/contact"),
        ("post", "/opinion/submit"),
        ("post", "/opinion/restart"),
        ("post", "/opinion/idle"),
    ],
)
def test_no_kiosk_page_may_be_cached(person, method, path):
    person.walk(until="contact")
    page = person.post(path) if method == "post" else person.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"


def test_every_field_turns_autofill_and_the_system_keyboard_off(person):
    pages = [person.walk(until="content"), person.get("/opinion/step/content"), person.get("/lookup")]
    for page in pages:
        for tag in re.findall(r"<(?:input|textarea)(?![^>]*type=\"(?:hidden|checkbox)\")[^>]*>", text(page)):
            assert 'autocomplete="off"' in tag and 'inputmode="none"' in tag, tag
        for form in re.findall(r"<form[^>]*>", text(page)):
            assert 'autocomplete="off"' in form, form


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/opinion/start", "/opinion/category", "/opinion/content", "/opinion/contact", "/opinion/deputy",
     "/opinion/submit", "/opinion/restart", "/opinion/idle", "/lookup"],
)
def test_a_post_without_its_csrf_token_gets_a_clear_chinese_page(app, person, path):
    person.walk()
    page = person.client.post(path, data={"category": "road", "anonymous": "1"}, headers=HTMX)
    assert page.status_code == 400
    assert "页面已过期，请返回首页重新开始" in text(page)
    assert 'id="screen"' in text(page) and "<html" not in text(page)  # swapped in place of the screen
    assert count(app, Opinion) == 0
    assert person.draft_id() is not None


def test_the_csrf_token_also_works_as_the_htmx_header(person):
    page = person.client.post("/opinion/start", headers={**HTMX, "X-CSRFToken": person.token})
    assert page.status_code == 200 and "category-road" in text(page)


# --- text that is not UTF-8 -------------------------------------------------------------------

NOT_UTF8 = "提交的文字里有无法识别的字符（不是 UTF-8 编码）"


@pytest.mark.parametrize(
    "body",
    [b"content=%E8%B7%AF%ED%A0%80%FF%FE", b"content=\xe8\xb7\xaf\xed\xa0\x80\xff\xfe"],
    ids=["percent-encoded", "raw"],
)
def test_text_that_is_not_utf8_is_refused_with_the_reason(app, person, body):
    """Never stored as the literal ``%ED%A0%80…``, never a misleading 页面已过期."""
    person.walk(until="content")
    page = person.client.post(
        "/opinion/content",
        data=b"csrf_token=" + person.token.encode() + b"&" + body,
        headers={**HTMX, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 200  # as a form's mistake is answered
    assert NOT_UTF8 in text(page) and "页面已过期" not in text(page)
    assert "content" not in answers_of(app, person.draft_id())
    # A percent sign typed as text is only text.
    page = person.post("/opinion/content", content="100%的路灯 %E8")
    assert page.status_code == 200
    assert answers_of(app, person.draft_id())["content"] == "100%的路灯 %E8"


def test_a_query_string_that_is_not_utf8_is_refused_with_the_reason(client):
    page = client.get("/lookup?number=%FF%FE")
    assert page.status_code == 200 and NOT_UTF8 in text(page)
