"""Personal data stays out of what is published, off the papers that leave the office, and out of URLs."""

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Opinion, OpinionEvent
from kiosk.staff import services
from kiosk.staff.services import ActionRefused
from kiosk.text import personal_data_in
from tests.support.desk import Desk
from tests.support.factories import make_user, receive_opinion
from tests.support.snapshots import opinion_state, row_counts

NAME, PHONE = "陈大文", "13800138000"
HINT = "将在互联网上公开，请勿填写姓名、电话等个人信息"


# --- public text: the close reply and the decline reason ------------------------------------


@pytest.mark.parametrize(
    "text, found",
    [
        ("请致电13912345678了解进展。", "手机号码"),
        ("请致电 139 1234 5678 了解进展。", "手机号码"),
        ("请致电139-1234-5678。", "手机号码"),
        ("请致电１３９１２３４５６７８。", "手机号码"),
        ("请致电0766-3822000。", "电话号码"),
        ("请致电（0766）3822000。", "电话号码"),
        ("请致电3822000。", "电话号码"),
        ("经核实，445381198001011234的情况属实。", "身份证号码"),
        ("经核实，44538119800101123X的情况属实。", "身份证号码"),
        ("陈大文同志，路灯已修好。", "反映人的姓名（陈大文）"),
        ("已电话联系 138 0013 8000 说明情况。", "反映人的电话号码"),
    ],
)
def test_personal_data_is_found_in_public_text(text, found):
    assert personal_data_in(text, names=[NAME, PHONE]) == found


@pytest.mark.parametrize(
    "text",
    [
        "路灯已于2026年3月2日修复，感谢您的反映。",
        "已于20260302修复。",
        "已投入资金2500000元，修复路灯12个。",
        "可拨打12345热线反映。",
        "与回执 LC00-260302-0001 的意见合并办理。",
        "陈列室已开放。",
    ],
)
def test_ordinary_replies_pass(text):
    assert personal_data_in(text, names=[NAME, PHONE]) is None


@pytest.fixture
def office(hub):
    with hub.app_context():
        yield hub


def snapshot(opinion):
    return {**opinion_state(opinion.uuid), **row_counts(OpinionEvent, AuditEntry)}


@pytest.mark.parametrize("action", ["close", "decline"])
@pytest.mark.parametrize(
    "text",
    ["陈大文您好，路灯已修好。", "有疑问请拨打 138-0013-8000。", "有疑问请拨打13912345678。", "请到0766-3822000咨询。",
     "身份证号445381198001011234不符。"],  # fmt: skip
)
def test_public_text_with_personal_data_is_refused_and_changes_nothing(office, action, text):
    staff = make_user("township")
    opinion = receive_opinion(contact_name=NAME, contact_phone=PHONE)
    services.accept(staff, opinion)
    before = snapshot(opinion)
    with pytest.raises(ActionRefused) as refused:
        getattr(services, action)(staff, opinion, text)
    assert "个人信息" in refused.value.message
    assert snapshot(opinion) == before


def test_a_reply_may_not_name_whoever_gave_a_merged_duplicate(office):
    staff = make_user("township")
    original = receive_opinion()
    duplicate = receive_opinion(contact_name="欧阳秀英")
    services.merge(staff, duplicate, original)
    services.accept(staff, original)
    with pytest.raises(ActionRefused, match="欧阳秀英"):
        services.close(staff, original, "欧阳秀英反映的路灯已修好。")
    services.close(staff, original, "路灯已修好。")


@pytest.mark.parametrize("action, field", [("close", "public_reply"), ("decline", "public_reason")])
def test_the_form_says_what_is_published_and_shows_the_refusal(hub, action, field):
    desk = Desk(hub)
    with hub.app_context():
        opinion = receive_opinion(contact_name=NAME, contact_phone=PHONE)
        services.accept(desk.user(), opinion)
        uuid = opinion.uuid
    page = desk.get(f"/staff/opinions/{uuid}")
    assert page.text.count(HINT) == 2
    response = desk.post(f"/staff/opinions/{uuid}/{action}",
                         {f"{action}-{field}": "请联系13912345678。", f"{action}-confirm": "y"}, htmx=True)  # fmt: skip
    assert response.status_code == 200
    assert "手机号码" in response.text and "个人信息" in response.text
    with hub.app_context():
        assert db.session.get(Opinion, uuid).status == "accepted"


# --- 找回执: the phone number stays out of URLs ---------------------------------------------


def test_the_find_form_posts_the_phone_number_and_never_pushes_it_into_the_url(hub):
    desk = Desk(hub)
    page = desk.get("/staff/find").text
    form = page[page.index('<form id="find-form"'):]
    form = form[: form.index(">")]
    assert 'method="post"' in form and "hx-post=" in form
    assert "hx-get=" not in form and "hx-push-url" not in form
    assert 'name="csrf_token"' in page


def test_finding_by_phone_is_audited_with_the_number_masked(hub):
    desk = Desk(hub)
    with hub.app_context():
        number = receive_opinion(contact_name=NAME, contact_phone=PHONE).receipt_number
    answer = desk.post("/staff/find", {"phone": "138 0013 8000"}, htmx=True)
    assert answer.status_code == 200 and number in answer.text
    assert "push-url" not in str(answer.headers).lower()
    with hub.app_context():
        row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "find")).one()
        assert row.user_id == desk.user_id
        assert row.after["phone"] == "138****8000" and row.after["found"] == 1
        assert PHONE not in str(row.after) and PHONE not in (row.note or "")


def test_a_phone_number_in_the_query_string_is_ignored(hub):
    desk = Desk(hub)
    with hub.app_context():
        number = receive_opinion(contact_name=NAME, contact_phone=PHONE).receipt_number
    page = desk.get("/staff/find", query_string={"phone": PHONE})
    assert page.status_code == 200 and number not in page.text and PHONE not in page.text


def test_finding_needs_the_csrf_token(hub):
    desk = Desk(hub)
    assert desk.post("/staff/find", {"phone": PHONE}, csrf=False).status_code == 400
