"""The opinion lifecycle at the township office: every action, its rules, its traces."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.clock import to_local
from kiosk.receipts.numbers import SECRET_ALPHABET, make_secret
from kiosk.models import (
    Assignment,
    AuditEntry,
    Department,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    RatingSource,
    Station,
    SyncChange,
    Topic,
    Township,
    utcnow,
)
from kiosk.ratings import GivenRating
from kiosk.staff import bulk, services
from kiosk.staff.services import ActionRefused
from kiosk.workdays import add_working_days, is_working_day
from tests.support.factories import make_user, receive_opinion
from tests.support.snapshots import opinion_state, row_counts

S = OpinionStatus
# Every opinion the hub holds starts with these public steps.
START = [S.SUBMITTED, S.RECEIVED]


@pytest.fixture
def office(hub):
    with hub.app_context():
        yield hub


@pytest.fixture
def staff(office):
    return make_user("township", username="luocheng-clerk")


@pytest.fixture
def chair(office):
    return make_user("chair", username="luocheng-chair")


@pytest.fixture
def city(office):
    return make_user("city", username="city-clerk")


@pytest.fixture
def outsider(office):
    return make_user("township", township="素龙街道", username="sulong-clerk")


@pytest.fixture
def department(office):
    return make_department("罗定市住房和城乡建设局")


def make_department(name, active=True):
    department = Department(name=name, contact_person="陈科长", contact_phone="0766-3822000", active=active)
    db.session.add(department)
    db.session.commit()
    return department


def audit_rows(opinion, action=None):
    query = select(AuditEntry).where(AuditEntry.opinion_uuid == opinion.uuid).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return db.session.scalars(query).all()


def event_statuses(opinion):
    query = select(OpinionEvent.status).where(OpinionEvent.opinion_uuid == opinion.uuid).order_by(OpinionEvent.id)
    return db.session.scalars(query).all()


def last_event(opinion):
    query = select(OpinionEvent).where(OpinionEvent.opinion_uuid == opinion.uuid).order_by(OpinionEvent.id.desc())
    return db.session.scalars(query).first()


def snapshot(opinion):
    """Everything an action could change, read back from the database."""
    state = opinion_state(opinion.uuid)
    return {**state, "events": len(event_statuses(opinion)), **row_counts(AuditEntry, Rating)}


def refused(action, *args, match=None, **kwargs):
    with pytest.raises(ActionRefused) as caught:
        action(*args, **kwargs)
    assert caught.value.message
    if match:
        assert match in caught.value.message
    return caught.value.message


def assert_refused_and_unchanged(opinion, action, *args, match=None, **kwargs):
    before = snapshot(opinion)
    message = refused(action, *args, match=match, **kwargs)
    assert snapshot(opinion) == before
    return message


def accepted(actor, **kwargs):
    opinion = receive_opinion(**kwargs)
    services.accept(actor, opinion)
    return opinion


def forwarded(actor, department, **kwargs):
    opinion = accepted(actor, **kwargs)
    return opinion, services.forward(actor, opinion, department)


def closed(actor, **kwargs):
    opinion = accepted(actor, **kwargs)
    services.close(actor, opinion, "路灯已于本周修复，感谢您的反映。")
    return opinion


def next_weekend_day(after: date) -> date:
    day = after + timedelta(days=1)
    while is_working_day(day):
        day += timedelta(days=1)
    return day


# --- 受理 -------------------------------------------------------------------


def test_accepting_records_who_when_and_a_public_step(staff):
    opinion = receive_opinion()
    services.accept(staff, opinion, note="已电话联系村委")

    db.session.expire_all()
    assert opinion.status == S.ACCEPTED
    assert opinion.accepted_at is not None
    assert opinion.updated_at >= opinion.accepted_at
    assert event_statuses(opinion) == [*START, S.ACCEPTED]
    assert f"{opinion.close_due_on.month}月{opinion.close_due_on.day}日前办结" in last_event(opinion).note
    (row,) = audit_rows(opinion)
    assert (row.action, row.username, row.user_id) == ("accept", "luocheng-clerk", staff.id)
    assert row.before["status"] == "received" and row.after["status"] == "accepted"
    assert row.before["accepted_at"] is None and row.after["accepted_at"]
    assert row.note == "已电话联系村委"
    # The station learns of it on its next pull.
    assert db.session.scalar(select(func.count()).select_from(SyncChange).where(SyncChange.opinion_uuid == opinion.uuid))


def test_public_steps_name_the_townships_own_office(staff, department):
    """A 街道's office is its 人大工委, a 镇's its 人大办: never a generic 镇人大办."""
    opinion, assignment = forwarded(staff, department)
    services.return_assignment(staff, assignment, "不归我局")
    services.forward(staff, opinion, department)
    services.record_reply(staff, services.active_assignment(opinion), "已修复。")
    services.close(staff, opinion, "路灯已修好。")
    services.record_rating(opinion, GivenRating("unsatisfied", "还是不亮"))
    notes = [e.note for e in db.session.scalars(
        select(OpinionEvent).where(OpinionEvent.opinion_uuid == opinion.uuid).order_by(OpinionEvent.id))]  # fmt: skip
    assert any((n or "").startswith("罗城街道人大工委已受理") for n in notes)
    assert "原承办部门退回，罗城街道人大工委将重新安排办理。" in notes
    assert "承办部门已答复，罗城街道人大工委正在审核。" in notes
    assert "群众对办理结果不满意，已退回罗城街道人大工委重新办理。" in notes
    assert not any("镇人大办" in (n or "") for n in notes)
    town = db.session.scalar(select(Township).where(Township.kind == "镇").order_by(Township.id))
    code = db.session.scalar(select(Station.code).where(Station.township_id == town.id).order_by(Station.code))
    elsewhere = receive_opinion(code)
    services.accept(make_user("township", township=town.name, username="town-wording"), elsewhere)
    assert last_event(elsewhere).note.startswith(f"{town.name}人大办已受理")


def test_accepting_twice_is_refused_and_changes_nothing(staff):
    opinion = accepted(staff)
    assert_refused_and_unchanged(opinion, services.accept, staff, opinion, match="已受理")


def test_township_staff_cannot_act_on_another_township(staff, outsider, department):
    opinion = receive_opinion()
    assert_refused_and_unchanged(opinion, services.accept, outsider, opinion, match="其他镇街")
    assert_refused_and_unchanged(opinion, services.decline, outsider, opinion, "不属于本镇")
    assert_refused_and_unchanged(opinion, services.replace_receipt, outsider, opinion)
    services.accept(staff, opinion)
    assert_refused_and_unchanged(opinion, services.forward, outsider, opinion, department)
    assert_refused_and_unchanged(opinion, services.close, outsider, opinion, "已办好")
    assert services.allowed_actions(outsider, opinion) == []


def test_city_staff_supervise_every_township_and_leave_the_processing_to_it(city, department):
    """重点督办, 催办 and 专题 in any township; 受理, 转办, 办结… are the township's."""
    opinion = receive_opinion("SL00")
    assert services.allowed_actions(city, opinion) == ["set_key_supervision", "attach_topic"]
    for action, args in ((services.accept, ()), (services.decline, ("不属于人大职责。",))):
        assert "由镇人大办办理" in assert_refused_and_unchanged(opinion, action, city, opinion, *args)
    sulong = make_user("township", township="素龙街道", username="sulong-processing")
    services.accept(sulong, opinion)
    assert_refused_and_unchanged(opinion, services.forward, city, opinion, department, match="由镇人大办办理")
    assignment = services.forward(sulong, opinion, department)
    assert services.allowed_actions(city, opinion) == ["remind", "set_key_supervision", "attach_topic"]
    for action, args in ((services.record_reply, (assignment, "已修。")), (services.return_assignment, (assignment, "不归我局")),
                         (services.withdraw_assignment, (assignment, "自办"))):  # fmt: skip
        assert_refused_and_unchanged(opinion, action, city, *args, match="由镇人大办办理")
    assert_refused_and_unchanged(opinion, services.close, city, opinion, "已修好。", match="由镇人大办办理")
    assert_refused_and_unchanged(opinion, services.merge, city, opinion, receive_opinion("SL00"), match="由镇人大办办理")
    services.remind(city, assignment, "请加快")
    services.set_key_supervision(city, opinion, True)
    assert assignment.reminder_count == 1 and opinion.key_supervision is True
    services.record_reply(sulong, assignment, "已修。")
    services.close(sulong, opinion, "已修好。")
    assert_refused_and_unchanged(opinion, services.record_rating, opinion, GivenRating("satisfied", source="follow_up"),
                                 city, match="由镇人大办办理")  # fmt: skip


def test_an_inactive_account_is_refused(staff):
    opinion = receive_opinion()
    staff.active = False
    db.session.commit()
    assert_refused_and_unchanged(opinion, services.accept, staff, opinion)


# --- 转办 -------------------------------------------------------------------


def test_forwarding_gives_the_department_ten_working_days_by_default(staff, department):
    opinion = accepted(staff)
    assignment = services.forward(staff, opinion, department, instructions="请现场核查")

    today = services.today()
    assert opinion.close_due_on > add_working_days(today, 10)  # a fresh opinion has 15
    assert assignment.due_on == add_working_days(today, 10)
    assert (assignment.state, assignment.instructions, assignment.department_id) == ("active", "请现场核查", department.id)
    assert opinion.status == S.FORWARDED and opinion.department_id == department.id
    assert "罗定市住房和城乡建设局" in last_event(opinion).note
    (row,) = audit_rows(opinion, "forward")
    assert row.subject == f"department:{department.id}"
    assert row.before == {"status": "accepted", "department_id": None}
    assert row.after == {"status": "forwarded", "department_id": department.id, "due_on": assignment.due_on.isoformat()}


def test_forwarding_keeps_within_the_opinions_own_close_date(staff, department):
    opinion = accepted(staff)
    opinion.close_due_on = add_working_days(services.today(), 3)
    db.session.commit()
    assignment = services.forward(staff, opinion, department)
    assert assignment.due_on == add_working_days(services.today(), 3)


def test_forwarding_an_overdue_opinion_still_gives_the_next_working_day(staff, department):
    opinion = accepted(staff)
    opinion.close_due_on = services.today() - timedelta(days=5)
    db.session.commit()
    assignment = services.forward(staff, opinion, department)
    assert assignment.due_on == add_working_days(services.today(), 1)
    assert assignment.due_on > services.today()


def test_a_chosen_due_date_must_be_a_future_working_day(staff, department):
    opinion = accepted(staff)
    today = services.today()
    for bad in (today, today - timedelta(days=1), next_weekend_day(today)):
        assert_refused_and_unchanged(opinion, services.forward, staff, opinion, department, due_on=bad)
    chosen = add_working_days(today, 4)
    assert services.forward(staff, opinion, department, due_on=chosen).due_on == chosen


@pytest.mark.parametrize("far", ["limit+1", "9999-12-31"])
def test_due_dates_are_at_most_sixty_working_days_away(staff, chair, department, far):
    latest = add_working_days(services.today(), services.LONGEST_DUE_WORKING_DAYS)
    too_far = add_working_days(latest, 1) if far == "limit+1" else date(9999, 12, 31)
    opinion = accepted(staff)
    assert_refused_and_unchanged(opinion, services.forward, staff, opinion, department, due_on=too_far, match="最远")
    assignment = services.forward(staff, opinion, department, due_on=latest)
    assert assignment.due_on == latest
    assert_refused_and_unchanged(
        opinion, services.request_extension, staff, assignment, too_far, "需要采购", match="60个工作日"
    )


def test_forwarding_needs_an_accepted_opinion_and_an_active_department(staff, department):
    opinion = receive_opinion()
    assert_refused_and_unchanged(opinion, services.forward, staff, opinion, department, match="不能转办")
    services.accept(staff, opinion)
    closed_down = make_department("已撤销的部门", active=False)
    assert_refused_and_unchanged(opinion, services.forward, staff, opinion, closed_down, match="停用")


def test_an_opinion_goes_to_its_own_townships_offices_or_the_citys_never_anothers(staff, department):
    opinion = accepted(staff)
    sulong = db.session.scalar(select(Township.id).where(Township.name == "素龙街道"))
    elsewhere = make_department("素龙街道城建办")
    elsewhere.township_id = sulong
    own = make_department("罗城街道城建办")
    own.township_id = opinion.township_id
    db.session.commit()
    assert_refused_and_unchanged(opinion, services.forward, staff, opinion, elsewhere, match="本镇街的部门或市直部门")
    assert services.forward(staff, opinion, own).department_id == own.id


# --- 回退 -------------------------------------------------------------------


def test_a_returned_assignment_sends_the_opinion_back_to_accepted(staff, department):
    opinion, assignment = forwarded(staff, department)
    assert_refused_and_unchanged(opinion, services.return_assignment, staff, assignment, "  ")
    services.return_assignment(staff, assignment, "不属于本局职责，应由交通局办理")

    assert opinion.status == S.ACCEPTED and opinion.department_id is None
    assert assignment.state == "returned" and assignment.returned_at is not None
    assert assignment.return_reason == "不属于本局职责，应由交通局办理"
    assert event_statuses(opinion)[-1] == S.ACCEPTED
    assert "交通局" not in last_event(opinion).note  # the reason stays internal
    (row,) = audit_rows(opinion, "return_assignment")
    assert row.before["department_id"] == department.id and row.after["department_id"] is None
    assert row.after["assignment.state"] == "returned"
    # Returned once is returned for good; the opinion can go elsewhere.
    assert_refused_and_unchanged(opinion, services.return_assignment, staff, assignment, "再退一次")
    other = make_department("罗定市交通运输局")
    assert services.forward(staff, opinion, other).department_id == other.id


# --- 撤回转办 and ending a forwarded opinion ----------------------------------


def test_the_township_withdraws_an_assignment_with_an_honest_public_note(staff, department):
    opinion, assignment = forwarded(staff, department)
    assert_refused_and_unchanged(opinion, services.withdraw_assignment, staff, assignment, " ")
    services.withdraw_assignment(staff, assignment, "群众来电说已自行解决")

    assert opinion.status == S.ACCEPTED and opinion.department_id is None
    assert assignment.state == "withdrawn" and assignment.returned_at is not None
    assert assignment.return_reason == "群众来电说已自行解决"
    note = last_event(opinion).note
    assert note == "罗城街道人大工委已收回交办，将另行安排办理。" and "退回" not in note and "自行解决" not in note
    (row,) = audit_rows(opinion, "withdraw_assignment")
    assert row.before["assignment.state"] == "active" and row.after["assignment.state"] == "withdrawn"
    assert_refused_and_unchanged(opinion, services.withdraw_assignment, staff, assignment, "再撤一次")
    assert "withdraw_assignment" not in services.allowed_actions(staff, opinion)


@pytest.mark.parametrize("ending", ["close", "decline", "merge"])
@pytest.mark.parametrize("step", [S.FORWARDED, S.REPLIED])
def test_a_forwarded_or_replied_opinion_can_be_ended_without_a_false_return(staff, department, ending, step):
    original = receive_opinion()
    opinion, assignment = forwarded(staff, department)
    if step == S.REPLIED:
        services.record_reply(staff, assignment, "已处理")
    assert ending in services.allowed_actions(staff, opinion)
    match ending:
        case "close":
            services.close(staff, opinion, "镇政府已直接处理。")
        case "decline":
            services.decline(staff, opinion, "属于司法程序，请向法院反映。")
        case "merge":
            services.merge(staff, opinion, original)
    assert opinion.status == {"close": S.CLOSED, "decline": S.DECLINED, "merge": S.MERGED}[ending]
    notes = " ".join(e.note or "" for e in opinion.events)
    assert "退回" not in notes
    (row,) = audit_rows(opinion, ending)
    if step == S.FORWARDED:
        # The department's part ends in the same write, and the opinion no longer names it.
        assert assignment.state == "withdrawn" and opinion.department_id is None
        assert row.after["assignment.state"] == "withdrawn"
    else:
        assert assignment.state == "replied" and opinion.department_id == department.id
        assert "assignment.state" not in row.after
    assert services.active_assignment(opinion) is None


# --- 延期 -------------------------------------------------------------------


def test_an_approved_extension_moves_both_due_dates(staff, chair, department):
    opinion, assignment = forwarded(staff, department)
    until = add_working_days(opinion.close_due_on, 5)
    services.request_extension(staff, assignment, until, "需协调供电部门")
    assert (assignment.extension_state, assignment.extension_until) == ("requested", until)
    assert_refused_and_unchanged(opinion, services.request_extension, staff, assignment, until, "再申请", match="待审批")
    assert_refused_and_unchanged(opinion, services.decide_extension, staff, assignment, True, match="主席")

    services.decide_extension(chair, assignment, True)
    assert assignment.extension_state == "approved"
    assert assignment.due_on == until and opinion.close_due_on == until
    assert last_event(opinion).note == f"答复期限延至{until.year}年{until.month}月{until.day}日。"
    assert last_event(opinion).status == S.FORWARDED
    (row,) = audit_rows(opinion, "decide_extension")
    assert row.username == "luocheng-chair"
    assert row.after == {"assignment.extension_state": "approved", "assignment.due_on": until.isoformat(),
                         "close_due_on": until.isoformat()}
    assert event_statuses(opinion)[-1] == S.FORWARDED  # no new public step
    assert_refused_and_unchanged(opinion, services.decide_extension, chair, assignment, True, match="没有待审批")


def test_an_extension_before_the_close_date_leaves_the_close_date(staff, chair, city, department):
    opinion, assignment = forwarded(staff, department)
    close_by = opinion.close_due_on
    until = add_working_days(assignment.due_on, 1)
    assert until < close_by
    services.request_extension(staff, assignment, until, "需现场测量")
    assert_refused_and_unchanged(opinion, services.decide_extension, city, assignment, True, match="由镇人大办办理")
    services.decide_extension(chair, assignment, True)
    assert assignment.due_on == until and opinion.close_due_on == close_by


def test_a_refused_extension_keeps_the_due_date(staff, chair, department):
    opinion, assignment = forwarded(staff, department)
    due = assignment.due_on
    services.request_extension(staff, assignment, add_working_days(due, 3), "人手不足")
    services.decide_extension(chair, assignment, False)
    assert assignment.extension_state == "refused" and assignment.due_on == due
    # A new request may follow a refusal.
    services.request_extension(staff, assignment, add_working_days(due, 2), "需协调")
    assert assignment.extension_state == "requested"


def test_an_extension_date_must_be_a_later_working_day(staff, department):
    opinion, assignment = forwarded(staff, department)
    for bad in (assignment.due_on, assignment.due_on - timedelta(days=1), next_weekend_day(assignment.due_on)):
        assert_refused_and_unchanged(opinion, services.request_extension, staff, assignment, bad, "理由")
    assert_refused_and_unchanged(
        opinion, services.request_extension, staff, assignment, add_working_days(assignment.due_on, 2), ""
    )


# --- 催办 -------------------------------------------------------------------


def test_reminders_are_counted_and_timed(staff, department):
    opinion, assignment = forwarded(staff, department)
    services.remind(staff, assignment, note="电话催办")
    first = assignment.last_reminded_at
    services.remind(staff, assignment)
    assert assignment.reminder_count == 2 and assignment.last_reminded_at >= first
    rows = audit_rows(opinion, "remind")
    assert [r.after["assignment.reminder_count"] for r in rows] == [1, 2]
    assert rows[0].note == "电话催办"
    assert event_statuses(opinion) == [*START, S.ACCEPTED, S.FORWARDED]


# --- 答复 and 办结 ------------------------------------------------------------


def test_the_departments_reply_stays_internal_until_closing(staff, department):
    opinion, assignment = forwarded(staff, department)
    assert_refused_and_unchanged(opinion, services.record_reply, staff, assignment, "   ")
    services.record_reply(staff, assignment, "已安排维修班组，三日内更换路灯。")

    assert opinion.status == S.REPLIED and assignment.state == "replied" and assignment.replied_at
    assert "路灯" not in last_event(opinion).note and opinion.public_reply is None
    assert_refused_and_unchanged(opinion, services.remind, staff, assignment)
    assert_refused_and_unchanged(opinion, services.close, staff, opinion, "")

    services.close(staff, opinion, "  路灯已更换，感谢反映。 ")
    assert opinion.status == S.CLOSED and opinion.public_reply == "路灯已更换，感谢反映。"
    assert opinion.closed_at is not None
    assert event_statuses(opinion) == [*START, S.ACCEPTED, S.FORWARDED, S.REPLIED, S.CLOSED]
    (row,) = audit_rows(opinion, "close")
    assert row.before == {"status": "replied", "public_reply": None, "closed_at": None}
    assert row.after["public_reply"] == "路灯已更换，感谢反映。"


def test_the_township_may_close_what_it_handles_itself(staff):
    opinion = accepted(staff)
    services.close(staff, opinion, "已由镇政府直接处理。")
    assert opinion.status == S.CLOSED


@pytest.mark.parametrize("status", [S.RECEIVED, S.CLOSED, S.DECLINED, S.REOPENED])
def test_closing_is_refused_in_other_statuses(staff, status):
    opinion = receive_opinion()
    opinion.status = status
    db.session.commit()
    assert_refused_and_unchanged(opinion, services.close, staff, opinion, "已办好", match="不能办结")


def test_declining_publishes_the_reason(staff):
    opinion = receive_opinion()
    assert_refused_and_unchanged(opinion, services.decline, staff, opinion, "")
    services.decline(staff, opinion, "属于司法程序，请向法院反映。")
    assert opinion.status == S.DECLINED and opinion.closed_at is not None
    assert opinion.public_reply == "属于司法程序，请向法院反映。"
    assert "属于司法程序" in last_event(opinion).note
    assert_refused_and_unchanged(opinion, services.accept, staff, opinion)


def test_public_steps_never_name_staff_or_contacts(staff, chair, department):
    opinion, assignment = forwarded(staff, department, contact_name="王小明", contact_phone="13800138000")
    services.request_extension(staff, assignment, add_working_days(opinion.close_due_on, 1), "陈科长出差")
    services.decide_extension(chair, assignment, True)
    services.record_reply(staff, assignment, "陈科长：已处理，联系电话0766-3822000")
    services.close(staff, opinion, "已处理完毕。")
    notes = " ".join(e.note or "" for e in db.session.scalars(select(OpinionEvent)))
    for private in ("王小明", "13800138000", "luocheng", "陈科长", "0766"):
        assert private not in notes


# --- 合并 -------------------------------------------------------------------


def test_a_duplicate_is_followed_under_its_original(staff):
    original = receive_opinion()
    duplicate = receive_opinion()
    services.merge(staff, duplicate, original)

    assert duplicate.status == S.MERGED and duplicate.merged_into_uuid == original.uuid
    assert original.receipt_number in last_event(duplicate).note
    (row,) = audit_rows(duplicate, "merge")
    assert row.subject == f"opinion:{original.uuid}"
    assert row.after == {"status": "merged", "merged_into_uuid": original.uuid}
    assert duplicate.is_finished and not original.is_finished


def test_merge_rules(staff, outsider):
    original = receive_opinion()
    duplicate = receive_opinion()
    third = receive_opinion()
    elsewhere = receive_opinion("SL00")
    assert_refused_and_unchanged(duplicate, services.merge, staff, duplicate, duplicate, match="自身")
    assert_refused_and_unchanged(duplicate, services.merge, staff, duplicate, elsewhere, match="本镇街")
    assert_refused_and_unchanged(elsewhere, services.merge, outsider, elsewhere, original)
    services.merge(staff, duplicate, original)
    # Not into a merged one, not twice, and no chains.
    assert_refused_and_unchanged(third, services.merge, staff, third, duplicate, match="已合并")
    assert_refused_and_unchanged(duplicate, services.merge, staff, duplicate, third, match="不能合并")
    assert_refused_and_unchanged(original, services.merge, staff, original, third, match="已有其他意见")


# --- 重点督办 and 专题 --------------------------------------------------------


def test_key_supervision_is_for_chairs_and_city_staff(staff, chair, city):
    opinion = receive_opinion()
    assert_refused_and_unchanged(opinion, services.set_key_supervision, staff, opinion, True, match="主席")
    services.set_key_supervision(chair, opinion, True)
    assert opinion.key_supervision is True
    (row,) = audit_rows(opinion, "set_key_supervision")
    assert (row.username, row.before, row.after) == ("luocheng-chair", {"key_supervision": False}, {"key_supervision": True})
    services.set_key_supervision(chair, opinion, True)  # no change, no row
    assert len(audit_rows(opinion, "set_key_supervision")) == 1
    services.set_key_supervision(city, opinion, False)
    assert opinion.key_supervision is False
    assert event_statuses(opinion) == START


def test_key_supervision_is_for_open_opinions(chair):
    opinion = closed(chair)
    assert_refused_and_unchanged(opinion, services.set_key_supervision, chair, opinion, True)


def test_topics_of_a_township_and_of_the_city(staff, outsider, city):
    township_topic = services.create_topic(staff, staff.township_id, " 老旧小区改造 ", "三议一评")
    assert (township_topic.title, township_topic.township_id) == ("老旧小区改造", staff.township_id)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.subject == f"topic:{township_topic.id}")).username == (
        "luocheng-clerk"
    )
    refused(services.create_topic, staff, None, "全市专题", match="全市")
    refused(services.create_topic, outsider, staff.township_id, "越权专题")
    refused(services.create_topic, staff, staff.township_id, "  ")
    refused(services.create_topic, city, 9999, "不存在的镇", match="没有这个镇街")
    city_topic = services.create_topic(city, None, "农村道路安全")
    sulong_topic = services.create_topic(outsider, outsider.township_id, "素龙专题")
    assert db.session.scalar(select(func.count()).select_from(Topic)) == 3

    opinion = receive_opinion()
    services.attach_topic(staff, opinion, township_topic)
    assert opinion.topic_id == township_topic.id
    services.attach_topic(staff, opinion, city_topic)
    assert opinion.topic_id == city_topic.id
    assert_refused_and_unchanged(opinion, services.attach_topic, staff, opinion, sulong_topic, match="本镇街")
    services.attach_topic(staff, opinion, None)
    assert opinion.topic_id is None
    rows = audit_rows(opinion, "attach_topic")
    assert [(r.before["topic_id"], r.after["topic_id"]) for r in rows] == [
        (None, township_topic.id), (township_topic.id, city_topic.id), (city_topic.id, None)
    ]
    township_topic.closed_at = utcnow()
    db.session.commit()
    assert_refused_and_unchanged(opinion, services.attach_topic, staff, opinion, township_topic, match="已结束")


# --- 补打回执 ---------------------------------------------------------------


def test_a_replacement_receipt_retires_the_old_secret(staff):
    opinion = receive_opinion(secret="ABCDEF")
    secret = services.replace_receipt(staff, opinion)

    assert secret != "ABCDEF" and len(secret) == len(make_secret())
    assert set(secret) <= set(SECRET_ALPHABET)
    db.session.expire_all()
    assert opinion.current_secret == secret and opinion.current_secret != "ABCDEF"
    assert opinion.secret == "ABCDEF"  # the station's field stays as sent
    again = services.replace_receipt(staff, opinion)
    assert opinion.current_secret == again != secret
    rows = audit_rows(opinion, "replace_receipt")
    assert len(rows) == 2
    assert not any(s in str((r.before, r.after, r.note)) for r in rows for s in (secret, again, "ABCDEF"))
    assert event_statuses(opinion) == START


def test_a_merged_duplicate_can_get_a_replacement_receipt(staff):
    original, duplicate = receive_opinion(), receive_opinion()
    services.merge(staff, duplicate, original)
    assert services.replace_receipt(staff, duplicate) == db.session.get(Opinion, duplicate.uuid).current_secret


# --- 回访: ratings ------------------------------------------------------------


def test_a_rating_counts_once_per_round(staff):
    opinion = closed(staff)
    first = services.record_rating(opinion, GivenRating("satisfied", "修得很快"))
    assert (first.counted, first.round, first.source) == (True, 0, "status_page")
    assert opinion.satisfaction == "satisfied"
    assert not services.awaiting_rating(opinion)

    second = services.record_rating(opinion, GivenRating("unsatisfied", "其实又坏了", source=RatingSource.KIOSK, station_code="LC00"))
    assert second.counted is False
    assert opinion.status == S.CLOSED and opinion.satisfaction == "satisfied" and opinion.reopen_count == 0
    assert db.session.scalar(select(func.count()).select_from(Rating)) == 2
    assert event_statuses(opinion)[-1] == S.CLOSED


def test_unsatisfied_reopens_with_the_comment_for_staff_only(staff):
    opinion = closed(staff)
    rating = services.record_rating(opinion, GivenRating("unsatisfied", "路灯还是不亮"))

    assert rating.counted and opinion.status == S.REOPENED
    assert opinion.reopen_count == 1 and opinion.closed_at is None
    assert opinion.satisfaction == "unsatisfied"
    assert opinion.close_due_on == add_working_days(services.today(), opinion.category.answer_days)
    event = last_event(opinion)
    assert event.status == S.REOPENED and "路灯还是不亮" not in event.note
    (row,) = audit_rows(opinion, "record_rating")
    assert "路灯还是不亮" in row.note and row.username is None
    assert row.before["status"] == "closed" and row.after["status"] == "reopened"
    assert row.after["reopen_count"] == 1

    # A new round: accept, close again, and a new rating counts.
    assert services.allowed_actions(staff, opinion)[:1] == ["accept"]
    services.accept(staff, opinion)
    services.close(staff, opinion, "已更换灯具并复查。")
    again = services.record_rating(opinion, GivenRating("basic"))
    assert (again.counted, again.round, opinion.satisfaction) == (True, 1, "basic")


def test_unsatisfied_clears_the_last_rounds_department(staff, department):
    opinion, _assignment = forwarded(staff, department)
    services.record_reply(staff, _assignment, "已更换灯泡。")
    services.close(staff, opinion, "路灯已修好。")
    assert opinion.department_id == department.id
    services.record_rating(opinion, GivenRating("unsatisfied", "还是不亮"))
    assert opinion.status == S.REOPENED and opinion.department_id is None
    row = audit_rows(opinion, "record_rating")[-1]
    assert row.before["department_id"] == department.id and row.after["department_id"] is None


def test_ratings_wait_for_closing(staff):
    opinion = accepted(staff)
    assert_refused_and_unchanged(opinion, services.record_rating, opinion, GivenRating("satisfied"), match="办结后")
    # A kiosk rating made offline while the station showed it closed is kept, not counted.
    late = services.record_rating(opinion, GivenRating("unsatisfied", source=RatingSource.KIOSK, station_code="LC00",
                                                       uuid="7f1c1a36-8a8e-4c39-9c66-0d6b6c3e1f10"))
    assert (late.uuid, late.counted) == ("7f1c1a36-8a8e-4c39-9c66-0d6b6c3e1f10", False)
    assert opinion.status == S.ACCEPTED and opinion.satisfaction is None


def test_follow_up_calls_are_recorded_by_staff_of_the_township(staff, outsider):
    opinion = closed(staff)
    assert_refused_and_unchanged(opinion, services.record_rating, opinion, GivenRating("satisfied", source=RatingSource.FOLLOW_UP))
    assert_refused_and_unchanged(
        opinion, services.record_rating, opinion, GivenRating("satisfied", source=RatingSource.FOLLOW_UP), actor=outsider
    )
    assert_refused_and_unchanged(opinion, services.record_rating, opinion, GivenRating("very"), actor=staff)
    rating = services.record_rating(opinion, GivenRating("basic", "电话回访", source=RatingSource.FOLLOW_UP), actor=staff)
    assert (rating.user_id, rating.counted) == (staff.id, True)
    assert audit_rows(opinion, "record_rating")[0].username == "luocheng-clerk"


def test_a_merged_duplicates_receipt_rates_its_original(staff):
    original, duplicate = receive_opinion(), receive_opinion()
    services.merge(staff, duplicate, original)
    assert_refused_and_unchanged(duplicate, services.record_rating, duplicate, GivenRating("satisfied"))
    services.accept(staff, original)
    services.close(staff, original, "已统一处理。")
    assert services.awaiting_rating(duplicate)

    rating = services.record_rating(duplicate, GivenRating("unsatisfied", "没有解决"))
    assert rating.opinion_uuid == original.uuid and rating.counted
    assert original.status == S.REOPENED and duplicate.status == S.MERGED
    assert duplicate.receipt_number in audit_rows(original, "record_rating")[0].note


def test_a_rating_can_leave_the_commit_to_the_caller(staff):
    opinion = closed(staff)
    services.record_rating(opinion, GivenRating("satisfied", source=RatingSource.KIOSK, station_code="LC00"), commit=False)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Rating)) == 0
    assert db.session.get(Opinion, opinion.uuid).satisfaction is None


# --- what the UI offers --------------------------------------------------------


def test_allowed_actions_follow_status_role_and_assignment(staff, chair, department):
    opinion = receive_opinion()
    assert services.allowed_actions(staff, opinion) == ["accept", "decline", "merge", "attach_topic", "replace_receipt"]
    assert "set_key_supervision" in services.allowed_actions(chair, opinion)
    services.accept(staff, opinion)
    assignment = services.forward(staff, opinion, department)
    assert services.allowed_actions(staff, opinion) == [
        "return_assignment", "withdraw_assignment", "request_extension", "remind", "record_reply",
        "close", "decline", "merge", "attach_topic", "replace_receipt",
    ]
    services.request_extension(staff, assignment, add_working_days(assignment.due_on, 2), "理由")
    assert "decide_extension" not in services.allowed_actions(staff, opinion)
    assert "decide_extension" in services.allowed_actions(chair, opinion)
    assert "request_extension" not in services.allowed_actions(chair, opinion)
    services.record_reply(staff, assignment, "已办")
    services.close(staff, opinion, "已办结。")
    assert services.allowed_actions(staff, opinion) == ["attach_topic", "replace_receipt", "record_rating"]
    services.record_rating(opinion, GivenRating("satisfied"))
    assert "record_rating" not in services.allowed_actions(staff, opinion)


def test_every_allowed_action_name_is_a_service():
    for actions in services.ALLOWED.values():
        for name in actions:
            assert callable(getattr(services, name))


# --- bulk actions --------------------------------------------------------------


def test_bulk_accept_counts_only_what_it_could_accept(staff):
    fresh = [receive_opinion(), receive_opinion()]
    already = accepted(staff)
    elsewhere = receive_opinion("SL00")
    result = bulk.apply_bulk(staff, [o.uuid for o in (*fresh, already, elsewhere)], lambda o: services.accept(staff, o))
    assert result.done == 2
    assert [number for number, _ in result.skipped] == ["", already.receipt_number]
    assert [o.status for o in fresh] == [S.ACCEPTED, S.ACCEPTED]
    assert elsewhere.status == S.RECEIVED
    assert len(audit_rows(already)) == 1
    assert [row.action for row in audit_rows(elsewhere)] == ["denied"]  # another township's: noted, not touched


def test_bulk_forward_counts_only_what_it_could_forward(staff, department):
    ready = [accepted(staff), accepted(staff)]
    not_yet = receive_opinion()
    due = add_working_days(services.today(), 5)

    def forward(due_on):
        return lambda opinion: services.forward(staff, opinion, department, due_on=due_on)

    result = bulk.apply_bulk(staff, [o.uuid for o in (*ready, not_yet)], forward(due))
    assert result.done == 2 and len(result.assignment_ids) == 2
    assert {a.due_on for a in db.session.scalars(select(Assignment))} == {due}
    assert not_yet.status == S.RECEIVED
    assert bulk.apply_bulk(staff, [o.uuid for o in ready], forward(services.today())).done == 0


def test_one_today_for_due_dates_queues_and_rosters(office):
    """Due dates, the queue and the duty roster read the same clock (a test may move it)."""
    from kiosk.roster import services as roster

    office.config["SYNC_CLOCK"] = lambda: utcnow() + timedelta(days=40)
    try:
        later = to_local(utcnow() + timedelta(days=40)).date()
        assert services.today() == roster.local_today() == later
    finally:
        office.config["SYNC_CLOCK"] = None


# --- overdue -------------------------------------------------------------------


def test_overdue_in_sql_matches_overdue_in_python(hub_app):
    with hub_app.app_context():
        today = services.today()
        past, future = today - timedelta(days=1), today + timedelta(days=1)
        cases = [
            (S.RECEIVED, past, future, True),  # not accepted in time
            (S.RECEIVED, future, future, False),
            (S.RECEIVED, today, future, False),  # due today is not late yet
            (S.REOPENED, past, future, True),
            (S.ACCEPTED, past, future, False),  # accepted: only the close date counts
            (S.ACCEPTED, past, past, True),
            (S.FORWARDED, None, past, True),
            (S.REPLIED, None, None, False),
            (S.RECEIVED, None, None, False),
            (S.CLOSED, past, past, False),
            (S.DECLINED, past, past, False),
            (S.MERGED, past, past, False),
        ]
        expected = set()
        for status, accept_by, close_by, overdue in cases:
            opinion = receive_opinion()
            opinion.status, opinion.accept_due_on, opinion.close_due_on = status, accept_by, close_by
            assert services.is_overdue(opinion, today) is overdue, (status, accept_by, close_by)
            if overdue:
                expected.add(opinion.uuid)
        # A department late with its reply (L4), whatever the opinion's own dates say.
        department = make_department("罗定市供电局")
        for state, due_on, overdue in [
            ("active", past, True),
            ("active", today, False),
            ("active", future, False),
            ("returned", past, False),
            ("replied", past, False),
        ]:
            opinion = receive_opinion()
            opinion.status, opinion.accept_due_on, opinion.close_due_on = S.FORWARDED, past, future
            db.session.add(Assignment(opinion_uuid=opinion.uuid, department_id=department.id, state=state,
                                      due_on=due_on))  # fmt: skip
            db.session.flush()
            assert services.is_overdue(opinion, today) is overdue, (state, due_on)
            if overdue:
                expected.add(opinion.uuid)
        db.session.commit()
        found = set(db.session.scalars(select(Opinion.uuid).where(services.overdue_condition(today))))
        assert found == expected
        assert len(found) == 5
