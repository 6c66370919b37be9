"""The opinion page and its actions: each one done, each refusal shown in Chinese with nothing changed."""

import re
import warnings
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import (
    Assignment,
    AuditEntry,
    Department,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    Topic,
)
from kiosk.staff import services
from kiosk.workdays import add_working_days
from tests.support.desk import Desk, station_of
from tests.support.factories import receive_opinion
from tests.support.snapshots import opinion_state, row_counts


@pytest.fixture
def chair(hub):
    return Desk(hub, role="chair")


@pytest.fixture
def case(hub):
    """A received opinion with contact details, another one to merge into, and a department."""
    with hub.app_context():
        opinion = receive_opinion(content="村口的路灯坏了三个月，晚上很黑。", contact_name="陈大文", contact_phone="13800138000")
        original = receive_opinion(content="村口路灯不亮。")
        department = Department(name="交通运输局", contact_person="李科长", contact_phone="0766-3822000")
        db.session.add(department)
        db.session.commit()
        return {"uuid": opinion.uuid, "number": opinion.receipt_number, "secret": opinion.secret,
                "original": original.receipt_number, "department": department.id}  # fmt: skip


def bring(app, desk, uuid, state, department_id) -> int | None:
    """Take the opinion to ``state`` through the services; the active assignment's id, if any."""
    steps = {
        "received": [],
        "accepted": ["accept"],
        "forwarded": ["accept", "forward"],
        "extension_requested": ["accept", "forward", "request_extension"],
        "replied": ["accept", "forward", "reply"],
        "closed": ["accept", "close"],
    }[state]
    with app.app_context():
        actor = desk.user()
        opinion = db.session.get(Opinion, uuid)
        department = db.session.get(Department, department_id)
        for step in steps:
            assignment = services.active_assignment(opinion)
            match step:
                case "accept":
                    services.accept(actor, opinion)
                case "forward":
                    services.forward(actor, opinion, department)
                case "request_extension":
                    services.request_extension(actor, assignment, add_working_days(assignment.due_on, 5), "需要招标")
                case "reply":
                    services.record_reply(actor, assignment, "已安排维修。")
                case "close":
                    services.close(actor, opinion, "路灯已修好。")
        assignment = services.active_assignment(opinion)
        return assignment.id if assignment else None


def snapshot(app, uuid) -> dict:
    """Everything an action could change."""
    with app.app_context():
        return {**opinion_state(uuid), **row_counts(AuditEntry, OpinionEvent, Assignment, Topic, Rating)}


def later_working_day(days: int = 3):
    return add_working_days(services.today(), days)


# (action path, state before, form fields (given the case and assignment id), what it changes)
HAPPY = {
    "accept": ("received", lambda c, a: {"note": "请尽快"}, lambda o, s: o.status == "accepted"),
    "forward": (
        "accepted",
        lambda c, a: {"department": c["department"], "due_on": later_working_day().isoformat(), "instructions": "请一周内修复"},
        lambda o, s: o.status == "forwarded" and services.active_assignment(o).instructions == "请一周内修复",
    ),
    "return": (
        "forwarded",
        lambda c, a: {"assignment": a, "reason": "路灯归供电所管"},
        lambda o, s: o.status == "accepted" and o.department_id is None,
    ),
    "withdraw": (
        "forwarded",
        lambda c, a: {"assignment": a, "reason": "群众已自行解决"},
        lambda o, s: o.status == "accepted" and o.department_id is None and services.active_assignment(o) is None,
    ),
    "extension": (
        "forwarded",
        lambda c, a: {"assignment": a, "until": later_working_day(30).isoformat(), "reason": "需要采购灯具"},
        lambda o, s: services.active_assignment(o).extension_state == "requested",
    ),
    "extension-decision": (
        "extension_requested",
        lambda c, a: {"assignment": a, "decision": "approve"},
        lambda o, s: services.active_assignment(o).extension_state == "approved",
    ),
    "remind": (
        "forwarded",
        lambda c, a: {"assignment": a, "note": "电话催办"},
        lambda o, s: services.active_assignment(o).reminder_count == 1,
    ),
    "reply": (
        "forwarded",
        lambda c, a: {"assignment": a, "reply": "已更换灯泡。"},
        lambda o, s: o.status == "replied",
    ),
    "close": ("replied", lambda c, a: {"public_reply": "路灯已修好，感谢反映。", "confirm": "y"}, lambda o, s: o.status == "closed" and o.public_reply == "路灯已修好，感谢反映。"),
    "decline": ("received", lambda c, a: {"public_reason": "不属于本镇职责。", "confirm": "y"}, lambda o, s: o.status == "declined"),
    "merge": ("received", lambda c, a: {"original": c["original"].replace("-", "").lower(), "confirm": "y"}, lambda o, s: o.status == "merged" and o.merged_into_uuid),
    "key-supervision": ("received", lambda c, a: {"on": "1"}, lambda o, s: o.key_supervision is True),
    "topic": ("received", lambda c, a: {"topic": "new", "new_title": "路灯专项整治"}, lambda o, s: o.topic is not None and o.topic.title == "路灯专项整治"),
    "replacement-receipt": ("received", lambda c, a: {"confirm": "y"}, lambda o, s: o.replacement_secret and o.current_secret != s["secret"]),
    "follow-up": ("closed", lambda c, a: {"value": "satisfied", "comment": "修得很快"}, lambda o, s: o.satisfaction == "satisfied"),
}  # fmt: skip
ENDPOINTS = {
    "accept": "accept", "forward": "forward", "return": "return_assignment", "withdraw": "withdraw_assignment", "extension": "request_extension",
    "extension-decision": "decide_extension", "remind": "remind", "reply": "record_reply", "close": "close",
    "decline": "decline", "merge": "merge", "key-supervision": "set_key_supervision", "topic": "attach_topic",
    "replacement-receipt": "replace_receipt", "follow-up": "record_rating",
}  # fmt: skip


def form_for(app, path: str, data, case, assignment) -> dict:
    """The action's fields (made in an app context: dates count from the local today)."""
    with app.app_context():
        return fields(path, data(case, assignment))


def fields(path: str, values: dict) -> dict:
    prefix = ENDPOINTS[path]
    return {f"{prefix}-{name}": value for name, value in values.items()}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("path", HAPPY)
def test_each_action_does_its_change_with_an_audit_row(hub, chair, case, path, htmx):
    state, data, changed = HAPPY[path]
    assignment = bring(hub, chair, case["uuid"], state, case["department"])
    before = snapshot(hub, case["uuid"])
    page = chair.post(f"/staff/opinions/{case['uuid']}/{path}", form_for(hub, path, data, case, assignment), htmx=htmx)
    if htmx:
        assert page.status_code == 200
        assert page.headers["HX-Retarget"] == "#opinion"
        assert 'class="flash flash-success"' in page.text
    else:
        assert page.status_code == 302
        assert page.headers["Location"].endswith(f"/staff/opinions/{case['uuid']}")
        assert 'class="flash flash-success"' in chair.get(page.headers["Location"]).text
    with hub.app_context():
        opinion = db.session.get(Opinion, case["uuid"])
        assert changed(opinion, before), path
        audit_rows = db.session.scalars(select(AuditEntry).where(AuditEntry.user_id == chair.user_id).order_by(AuditEntry.id)).all()
        assert audit_rows[-1].action == ENDPOINTS[path]
    assert snapshot(hub, case["uuid"])["AuditEntry"] > before["AuditEntry"]


# (action path, state, fields, who, the Chinese message shown)
REFUSED = [
    ("accept", "accepted", lambda c, a: {}, "chair", "意见目前为“已受理”，不能受理。"),
    ("forward", "received", lambda c, a: {"department": c["department"]}, "chair", f"意见目前为“{OpinionStatus.RECEIVED.label}”，不能转办。"),
    ("forward", "accepted", lambda c, a: {"department": c["department"], "due_on": services.today().isoformat()}, "chair", "答复期限须在今天以后。"),
    ("close", "received", lambda c, a: {"public_reply": "好"}, "chair", "不能办结。"),
    ("decline", "closed", lambda c, a: {"public_reason": "不归我们管"}, "chair", "不能不予受理。"),
    ("merge", "received", lambda c, a: {"original": "ZZ99-260101-0001"}, "chair", "找不到回执编号为 ZZ99-260101-0001 的意见。"),
    ("key-supervision", "received", lambda c, a: {"on": "1"}, "clerk", "此操作须由镇人大主席、副主席或市人大常委会办理。"),
    ("extension", "forwarded", lambda c, a: {"assignment": a, "until": later_working_day(1).isoformat(), "reason": "慢"}, "chair", "延期日期须晚于现在的答复期限"),
    ("extension-decision", "extension_requested", lambda c, a: {"assignment": a, "decision": "approve"}, "clerk", "此操作须由镇人大主席"),
    ("return", "forwarded", lambda c, a: {"assignment": "99999", "reason": "不是我们的"}, "chair", "找不到这次交办，请刷新页面。"),
    ("remind", "replied", lambda c, a: {"assignment": "1"}, "chair", "不能催办。"),
    ("withdraw", "forwarded", lambda c, a: {"assignment": a, "reason": ""}, "chair", "请填写撤回原因。"),
    ("follow-up", "accepted", lambda c, a: {"value": "unsatisfied"}, "chair", "意见办结后才能评价。"),
    ("close", "replied", lambda c, a: {"public_reply": "  "}, "chair", "请填写答复群众的内容。"),
    ("decline", "received", lambda c, a: {"public_reason": ""}, "chair", "请填写不予受理的理由。"),
    ("forward", "accepted", lambda c, a: {"department": c["department"], "due_on": "2026-02-30"}, "chair", "日期格式不对"),
    ("forward", "accepted", lambda c, a: {"department": "abc"}, "chair", "请选择承办部门。"),
    ("merge", "received", lambda c, a: {"original": "路灯那条"}, "chair", "回执编号的格式是"),
    ("follow-up", "closed", lambda c, a: {"value": "great"}, "chair", "请选择满意、基本满意或不满意。"),
    ("extension-decision", "extension_requested", lambda c, a: {"assignment": a}, "chair", "请选择同意或不同意。"),
    ("topic", "received", lambda c, a: {"topic": "new", "new_title": ""}, "chair", "请填写新专题的名称。"),
    # Irreversible actions wait for their confirmation box.
    ("close", "replied", lambda c, a: {"public_reply": "路灯已修好。"}, "chair", "请先勾选“我已核对答复内容，确认办结并公开答复”，再办结。"),
    ("decline", "received", lambda c, a: {"public_reason": "不归我们管"}, "chair", "再不予受理。"),
    ("merge", "received", lambda c, a: {"original": c["original"]}, "chair", "再合并。"),
    ("replacement-receipt", "received", lambda c, a: {}, "chair", "请先勾选“我已核实来人身份，确认作废原回执、生成新验证码”，再补打回执。"),
]  # fmt: skip


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("path, state, data, who, message", REFUSED, ids=[f"{r[0]}-{r[1]}-{i}" for i, r in enumerate(REFUSED)])
def test_a_refused_action_shows_why_in_chinese_and_changes_nothing(hub, chair, clerk, case, path, state, data, who, message, htmx):
    assignment = bring(hub, chair, case["uuid"], state, case["department"])
    desk = {"chair": chair, "clerk": clerk}[who]
    before = snapshot(hub, case["uuid"])
    page = desk.post(f"/staff/opinions/{case['uuid']}/{path}", form_for(hub, path, data, case, assignment), htmx=htmx)
    assert page.status_code == 200
    assert message in page.text
    assert "Not a valid" not in page.text and "Invalid" not in page.text
    if htmx:
        assert f'id="action-{ENDPOINTS[path]}"' in page.text
        assert "<html" not in page.text
    else:
        assert "<html" in page.text and 'id="opinion"' in page.text
    assert snapshot(hub, case["uuid"]) == before


def test_an_action_post_without_the_csrf_token_is_refused(hub, chair, case):
    before = snapshot(hub, case["uuid"])
    for token in (None, "garbage"):
        headers = {"X-CSRFToken": token} if token else {}
        page = chair.client.post(f"/staff/opinions/{case['uuid']}/accept", data={"accept-note": "x"}, headers=headers)
        assert page.status_code == 400
    assert snapshot(hub, case["uuid"]) == before


def test_the_page_offers_only_the_actions_allowed_now(hub, chair, clerk, case):
    offered = lambda desk: re.findall(r'<section class="action" id="action-([a-z_]+)"', desk.get(f"/staff/opinions/{case['uuid']}").text)  # noqa: E731
    assert offered(chair) == ["accept", "decline", "merge", "set_key_supervision", "attach_topic", "replace_receipt"]
    assert "set_key_supervision" not in offered(clerk)
    bring(hub, chair, case["uuid"], "forwarded", case["department"])
    # The next step (登记答复 once forwarded) comes first; the rest follow under 更多操作.
    assert offered(chair) == ["record_reply", "return_assignment", "withdraw_assignment", "request_extension", "remind",
                              "close", "decline", "merge", "set_key_supervision", "attach_topic", "replace_receipt"]


def test_the_opinion_page_shows_contact_details_and_the_whole_history(hub, chair, clerk, case):
    assignment = bring(hub, chair, case["uuid"], "forwarded", case["department"])
    chair.post(f"/staff/opinions/{case['uuid']}/remind", fields("remind", {"assignment": assignment, "note": "电话催办"}))
    page = clerk.get(f"/staff/opinions/{case['uuid']}")
    assert page.status_code == 200
    text = page.text
    assert "陈大文" in text and "13800138000" in text
    assert "村口的路灯坏了三个月，晚上很黑。" in text
    # Public steps and audit rows, with who did what.
    for public in ("已在联络站登记", OpinionStatus.RECEIVED.label, "已受理", "已转交有关部门办理"):
        assert public in text
    with hub.app_context():
        user = chair.user()
        user.display_name = "李主席"
        db.session.commit()
        login_name = user.username
    text = clerk.get(f"/staff/opinions/{case['uuid']}").text
    history = text[text.index("办理经过"):]
    # Who did it, by the name staff know them by, not the login name.
    assert history.count("李主席") >= 3 and login_name not in history
    assert "催办" in history and "电话催办" in history
    # A count reads as a number, not as yes or no (0 and 1 are equal to False and True).
    assert "催办次数：0 → 1" in history and "催办次数：否" not in history
    assert "状态：已受理 → 已转交有关部门办理" in history
    # The assignment with its department, due date and slip.
    assert "交通运输局" in text and "/staff/assignments/" in text


def test_another_townships_opinion_action_is_a_404_with_an_audit_row(hub, case):
    with hub.app_context():
        elsewhere = receive_opinion(station_of("素龙街道"))
        uuid = elsewhere.uuid
    outsider = Desk(hub, township="罗城街道")
    before = snapshot(hub, uuid)
    page = outsider.post(f"/staff/opinions/{uuid}/accept", {"accept-note": "x"})
    assert page.status_code == 404
    after = snapshot(hub, uuid)
    assert after["AuditEntry"] == before["AuditEntry"] + 1
    assert {k: v for k, v in after.items() if k != "AuditEntry"} == {k: v for k, v in before.items() if k != "AuditEntry"}
    with hub.app_context():
        row = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (row.action, row.user_id, row.opinion_uuid) == ("denied", outsider.user_id, uuid)


def test_a_replacement_receipt_retires_the_old_secret(hub, chair, case):
    public = hub.test_client()
    assert public.get(f"/r/{case['number']}?k={case['secret']}").status_code == 200
    chair.post(f"/staff/opinions/{case['uuid']}/replacement-receipt", {"replace_receipt-confirm": "y"})
    with hub.app_context():
        new_secret = db.session.get(Opinion, case["uuid"]).current_secret
    assert new_secret != case["secret"]
    assert public.get(f"/r/{case['number']}?k={case['secret']}").status_code == 404
    assert public.get(f"/r/{case['number']}?k={new_secret}").status_code == 200
    # Staff see the new 验证码 and can print the new receipt.
    page = chair.get(f"/staff/opinions/{case['uuid']}")
    assert f'data-testid="current-secret">{new_secret}<' in page.text
    assert chair.get(f"/staff/opinions/{case['uuid']}/receipt.pdf").status_code == 200


def test_no_replacement_receipt_pdf_before_one_was_made(hub, chair, case):
    assert chair.get(f"/staff/opinions/{case['uuid']}/receipt.pdf").status_code == 404


def test_an_unsatisfied_follow_up_reopens_the_opinion(hub, chair, case):
    bring(hub, chair, case["uuid"], "closed", case["department"])
    chair.post(f"/staff/opinions/{case['uuid']}/follow-up", fields("follow-up", {"value": "unsatisfied", "comment": "灯又坏了"}))
    with hub.app_context():
        opinion = db.session.get(Opinion, case["uuid"])
        assert (opinion.status, opinion.reopen_count, opinion.satisfaction) == ("reopened", 1, "unsatisfied")


def test_choosing_an_existing_topic_and_leaving_it(hub, chair, case):
    with hub.app_context():
        topic = services.create_topic(chair.user(), db.session.get(Opinion, case["uuid"]).township_id, "路灯")
        topic_id = topic.id
    chair.post(f"/staff/opinions/{case['uuid']}/topic", fields("topic", {"topic": str(topic_id)}))
    with hub.app_context():
        assert db.session.get(Opinion, case["uuid"]).topic_id == topic_id
    chair.post(f"/staff/opinions/{case['uuid']}/topic", fields("topic", {"topic": ""}))
    with hub.app_context():
        assert db.session.get(Opinion, case["uuid"]).topic_id is None


def test_an_assignment_of_another_opinion_cannot_be_acted_on_through_this_one(hub, chair, case):
    with hub.app_context():
        other = receive_opinion(content="另一条意见。")
        other_uuid = other.uuid
    other_assignment = bring(hub, chair, other_uuid, "forwarded", case["department"])
    bring(hub, chair, case["uuid"], "forwarded", case["department"])
    before = snapshot(hub, other_uuid)
    page = chair.post(f"/staff/opinions/{case['uuid']}/reply", fields("reply", {"assignment": other_assignment, "reply": "x"}))
    assert "找不到这次交办，请刷新页面。" in page.text
    assert snapshot(hub, other_uuid) == before


def test_the_due_date_moves_when_an_extension_is_approved(hub, chair, case):
    assignment = bring(hub, chair, case["uuid"], "extension_requested", case["department"])
    with hub.app_context():
        wanted = db.session.get(Assignment, assignment).extension_until
    chair.post(f"/staff/opinions/{case['uuid']}/extension-decision", fields("extension-decision", {"assignment": assignment, "decision": "approve"}))
    with hub.app_context():
        assert db.session.get(Assignment, assignment).due_on == wanted
        assert wanted > services.today() + timedelta(days=1)


def test_the_staff_forms_use_wtforms_current_choices(hub, chair, case):
    """No DeprecationWarning from WTForms (tuples as choices go in WTForms 3.4)."""
    bring(hub, chair, case["uuid"], "closed", case["department"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in (f"/staff/opinions/{case['uuid']}", "/staff/", "/staff/find?station=LC00"):
            assert chair.get(path).status_code == 200
        chair.post("/staff/bulk", {"action": "forward", "uuid": [case["uuid"]]}, htmx=True)
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []


def test_the_history_shows_only_what_changed_in_chinese(hub, chair, case):
    bring(hub, chair, case["uuid"], "closed", case["department"])
    chair.post(f"/staff/opinions/{case['uuid']}/follow-up", fields("follow-up", {"value": "satisfied", "comment": "修得快"}))
    with hub.app_context():
        user = chair.user()
        username = user.username
    text = chair.get(f"/staff/opinions/{case['uuid']}").text
    history = text[text.index("办理经过"):]
    assert "轮次" not in history and "（空）" not in history and "计入统计" not in history
    assert "满意度：— → 满意" in history
    assert history.count("评价：") == 0
    assert "状态：已受理 → 已办结" in history
    # No display name: the login name stands in.
    assert username in history


def test_an_original_lists_the_duplicates_merged_into_it(hub, chair, case):
    chair.post(f"/staff/opinions/{case['uuid']}/merge", fields("merge", {"original": case["original"], "confirm": "y"}))
    with hub.app_context():
        original = db.session.scalar(select(Opinion).where(Opinion.receipt_number == case["original"]))
        original_uuid = original.uuid
    page = chair.get(f"/staff/opinions/{original_uuid}").text
    listed = re.search(r'data-testid="duplicates">(.*?)</dd>', page, re.S).group(1)
    assert f'<a href="/staff/opinions/{case["uuid"]}">{case["number"]}</a>' in listed
    assert "duplicates" not in chair.get(f"/staff/opinions/{case['uuid']}").text.split("办理经过")[0]


def test_a_new_topic_for_an_opinion_that_cannot_take_one_is_not_made(hub, chair, case):
    with hub.app_context():
        opinion = db.session.get(Opinion, case["uuid"])
        original = db.session.scalar(select(Opinion).where(Opinion.receipt_number == case["original"]))
        services.merge(chair.user(), opinion, original)
    answer = chair.post(f"/staff/opinions/{case['uuid']}/topic",
                        fields("topic", {"topic": "new", "new_title": "路灯专项整治"}), htmx=True)  # fmt: skip
    assert answer.status_code == 200 and "不能归入专题" in answer.text
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(Topic)) == 0
        assert db.session.get(Opinion, case["uuid"]).topic_id is None


def test_a_new_topic_is_made_and_attached_in_one_step(hub, chair, case):
    answer = chair.post(f"/staff/opinions/{case['uuid']}/topic",
                        fields("topic", {"topic": "new", "new_title": "路灯专项整治"}), htmx=True)  # fmt: skip
    assert answer.status_code == 200
    with hub.app_context():
        topic = db.session.scalars(select(Topic)).one()
        assert db.session.get(Opinion, case["uuid"]).topic_id == topic.id
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-2:] == ["create_topic", "attach_topic"]


HUGE = "99999999999999999999"
OUT_OF_RANGE = [
    ("GET", "/staff/", {"date_from": "0001-01-01"}),
    ("GET", "/staff/", {"date_to": "9999-12-31"}),
    ("GET", "/staff/", {"date_from": "2015-01-01", "date_to": "9999-12-31"}),
    ("GET", "/staff/", {"township": HUGE, "topic": HUGE}),
    ("GET", "/staff/", {"township": "-1", "topic": "0"}),
    ("GET", "/staff/find", {"day": "0001-01-01"}),
    ("GET", "/staff/find", {"day": "9999-12-31"}),
    ("POST", "/staff/find", {"day": "0001-01-01"}),
    ("POST", "{opinion}/remind", {"remind-assignment": HUGE}),
    ("POST", "{opinion}/reply", {"record_reply-assignment": "-1", "record_reply-reply": "好"}),
    ("POST", "{opinion}/forward", {"forward-department": "{department}", "forward-due_on": "9999-12-31"}),
    ("POST", "{opinion}/forward", {"forward-department": "{department}", "forward-due_on": "0001-01-01"}),
    ("POST", "{opinion}/topic", {"attach_topic-topic": HUGE}),
    ("GET", "/staff/assignments/1/slips.pdf", {"and": HUGE}),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("method, path, values", OUT_OF_RANGE, ids=[f"{m}-{p}-{i}" for i, (m, p, _) in enumerate(OUT_OF_RANGE)])
def test_out_of_range_input_is_never_a_500(hub, chair, case, method, path, values, htmx):
    bring(hub, chair, case["uuid"], "accepted" if "forward" in path else "forwarded", case["department"])
    path = path.replace("{opinion}", f"/staff/opinions/{case['uuid']}")
    values = {k: v.replace("{department}", str(case["department"])) for k, v in values.items()}
    if method == "GET":
        answer = chair.get(path, htmx=htmx, query_string=values)
    else:
        answer = chair.post(path, values, htmx=htmx)
    assert answer.status_code in (200, 302, 404), answer.status_code
    if "forward" in path:
        with hub.app_context():
            assert db.session.get(Opinion, case["uuid"]).status == "accepted"


def test_the_forward_form_lists_active_departments_in_the_order_added(hub, chair, case):
    """The township's own offices (the demo's 村建办, 派出所, 村委会s) first, then the city's; not another township's."""
    with hub.app_context():
        for name, active in (("安监站", True), ("停用的局", False), ("城管局", True)):
            db.session.add(Department(name=name, active=active))
        township_id = db.session.get(Opinion, case["uuid"]).township_id
        db.session.add(Department(name="本镇停用的站", active=False, township_id=township_id))
        db.session.add(Department(name="别镇的村委会", township_id=township_id + 1))
        db.session.commit()
        own = list(db.session.scalars(select(Department.name).where(
            Department.township_id == township_id, Department.active.is_(True)).order_by(Department.id)))  # fmt: skip
    assert {"街道村建办", "派出所"} <= set(own)
    bring(hub, chair, case["uuid"], "accepted", case["department"])
    page = chair.get(f"/staff/opinions/{case['uuid']}").text
    form = page[page.index('name="forward-department"'):]
    form = form[: form.index("</select>")]
    assert re.findall(r'<option value="\d+">([^<]+)</option>', form) == [*own, "交通运输局", "安监站", "城管局"]
