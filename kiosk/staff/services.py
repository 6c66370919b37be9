"""The opinion lifecycle at the township office (12345 hotline workflow).

受理 → 转办 → 办理 → 答复 → 办结 → 回访, with 回退 (a department returns a
wrong assignment), 延期 (a later due date, asked for on the department's
behalf and decided by a chair) and 催办 (reminders).

Every action takes the acting user first and checks, before touching
anything, that the user may act on this township and that the opinion's
status allows it; otherwise it raises ``ActionRefused`` and nothing changes.
An allowed action changes the opinion, adds one public ``OpinionEvent`` when
the public status changes (plain Chinese, never staff names or contact
details), writes one audit row with the changed fields before and after
(its log line is the action's log line), sets ``updated_at`` and commits.

A chair may do everything township staff may, plus key supervision and
deciding extensions. City staff (市人大常委会) supervise and do not process:
in any township they set key supervision, send reminders and put opinions in
topics (``SUPERVISION``); the rest is the township's. Township staff act only
within their own township, whatever the caller already checked.
"""

import logging
import uuid as uuid_module
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import and_, exists, func, not_, or_, select

from .. import audit
from ..auth.scope import can_see_township
from ..clock import to_local, today
from ..extensions import db
from ..models import (
    FINISHED_STATUSES,
    Assignment,
    AssignmentState,
    Department,
    ExtensionState,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    RatingSource,
    Role,
    Satisfaction,
    Topic,
    Township,
    User,
    utcnow,
)
from ..ratings import GivenRating, awaiting_rating, followed, has_rating
from ..receipts.numbers import make_secret
from ..refusals import Refused
from ..text import personal_data_in
from ..workdays import add_working_days, is_working_day

log = logging.getLogger(__name__)

# Longest public text (reply, reason) and internal text accepted.
TEXT_LIMIT = 2000
# Default time a department gets, in working days, unless the opinion's own
# close-by date is earlier.
FORWARD_DAYS = 10
# The latest due date (转办 or 延期) staff may set, in working days from today:
# a date years away would make an opinion never overdue.
LONGEST_DUE_WORKING_DAYS = 60


class ActionRefused(Refused):
    """An action that is not allowed; ``message`` is shown to staff (Chinese)."""


class Action(StrEnum):
    """A lifecycle action; its ``label`` is the verb a refusal names (不能受理)."""

    label: str

    def __new__(cls, value: str, label: str):
        action = str.__new__(cls, value)
        action._value_ = value
        action.label = label
        return action

    ACCEPT = "accept", "受理"
    FORWARD = "forward", "转办"
    RETURN_ASSIGNMENT = "return_assignment", "回退"
    WITHDRAW_ASSIGNMENT = "withdraw_assignment", "撤回转办"
    REQUEST_EXTENSION = "request_extension", "申请延期"
    DECIDE_EXTENSION = "decide_extension", "审批延期"
    REMIND = "remind", "催办"
    RECORD_REPLY = "record_reply", "登记答复"
    CLOSE = "close", "办结"
    DECLINE = "decline", "不予受理"
    MERGE = "merge", "合并"
    SET_KEY_SUPERVISION = "set_key_supervision", "设置重点督办"
    ATTACH_TOPIC = "attach_topic", "归入专题"
    REPLACE_RECEIPT = "replace_receipt", "补打回执"
    RECORD_RATING = "record_rating", "评价"


S = OpinionStatus
_ANYTIME = {Action.ATTACH_TOPIC, Action.REPLACE_RECEIPT}
_OPEN = _ANYTIME | {Action.SET_KEY_SUPERVISION}
_ASSIGNMENT_ACTIONS = {
    Action.RETURN_ASSIGNMENT,
    Action.WITHDRAW_ASSIGNMENT,
    Action.REQUEST_EXTENSION,
    Action.DECIDE_EXTENSION,
    Action.REMIND,
    Action.RECORD_REPLY,
}

# What each status allows (before the actor's role and the assignment's
# state narrow it down: see ``allowed_actions``). Closing, declining and
# merging a forwarded opinion end its assignment as withdrawn first.
_ENDINGS = {Action.CLOSE, Action.DECLINE, Action.MERGE}
ALLOWED: dict[str, set[str]] = {
    S.SUBMITTED: set(),
    S.RECEIVED: _OPEN | {Action.ACCEPT, Action.DECLINE, Action.MERGE},
    S.ACCEPTED: _OPEN | {Action.FORWARD} | _ENDINGS,
    S.FORWARDED: _OPEN | _ASSIGNMENT_ACTIONS | _ENDINGS,
    S.REPLIED: _OPEN | _ENDINGS,
    S.REOPENED: _OPEN | {Action.ACCEPT},
    S.CLOSED: _ANYTIME | {Action.RECORD_RATING},
    S.DECLINED: set(_ANYTIME),
    S.MERGED: {Action.REPLACE_RECEIPT},
}

_CHAIR_ONLY = {Action.SET_KEY_SUPERVISION, Action.DECIDE_EXTENSION}
# What city staff may do to a township's opinion: supervise it, never process it.
SUPERVISION = frozenset({Action.REMIND, Action.SET_KEY_SUPERVISION, Action.ATTACH_TOPIC})
# Said where city staff find a processing action missing, and when they send one anyway.
CITY_SUPERVISES = "市人大常委会负责督办：可设重点督办、催办、归入专题；受理、转办、办结、不予受理、合并等由镇人大办办理。"


def may_process(actor: User) -> bool:
    """Whether ``actor`` processes opinions (受理, 转办, 办结…): township staff and chairs, not city staff."""
    return actor.role != Role.CITY


def refusal_for_role(actor: User, action: Action) -> str | None:
    """Why ``actor``'s role never takes ``action``, whatever the opinion; None when it may."""
    if not may_process(actor) and action not in SUPERVISION:
        return CITY_SUPERVISES
    return None


def office_name(opinion: Opinion) -> str:
    """The office the opinion's public steps name: XX镇人大办, or XX街道人大工委."""
    township = db.session.get(Township, opinion.township_id) if opinion.township_id is not None else None
    return township.office_name if township is not None else "镇（街道）人大"


def active_assignment(opinion: Opinion) -> Assignment | None:
    """The assignment a forwarded opinion is with (at most one at a time)."""
    return db.session.scalar(
        select(Assignment)
        .where(Assignment.opinion_uuid == opinion.uuid, Assignment.state == AssignmentState.ACTIVE)
        .order_by(Assignment.forwarded_at.desc())
        .limit(1)
    )


def allowed_actions(actor: User, opinion: Opinion) -> list[str]:
    """The actions ``actor`` may take on ``opinion`` now, in ``Action`` order (for the UI)."""
    if not actor.active or not can_see_township(actor, opinion.township_id):
        return []
    allowed = set(ALLOWED.get(opinion.status, set()))
    if not _is_chair(actor):
        allowed -= _CHAIR_ONLY
    if not may_process(actor):
        allowed &= SUPERVISION
    if allowed & _ASSIGNMENT_ACTIONS:
        assignment = active_assignment(opinion)
        if assignment is None:
            allowed -= _ASSIGNMENT_ACTIONS
        elif assignment.extension_state == ExtensionState.REQUESTED:
            allowed.discard(Action.REQUEST_EXTENSION)
        else:
            allowed.discard(Action.DECIDE_EXTENSION)
    if Action.RECORD_RATING in allowed and not awaiting_rating(opinion):
        allowed.discard(Action.RECORD_RATING)
    return [action.value for action in Action if action in allowed]


# --- 受理, 转办 and the assignment's clock ---------------------------------


def accept(actor: User, opinion: Opinion, note: str | None = None) -> None:
    """受理: a received (or reopened) opinion is taken on.

    ``note`` is for staff (audit log only). ``accepted_at`` keeps the first
    acceptance, so a reopened opinion's figures still start from it.
    """
    _check(actor, opinion, Action.ACCEPT)
    note = _optional_text(note, "备注")
    moment = utcnow()
    before, after = _change(opinion, status=S.ACCEPTED, accepted_at=opinion.accepted_at or moment)
    due = f"，预计{_public_date(opinion.close_due_on)}前办结" if opinion.close_due_on else ""
    _event(opinion, moment, f"{office_name(opinion)}已受理{due}。")
    _finish(actor, Action.ACCEPT, opinion, moment, before, after, note=note)


def forward(
    actor: User, opinion: Opinion, department: Department, due_on: date | None = None, instructions: str | None = None
) -> Assignment:
    """转办: an accepted opinion goes to a department with a due date.

    Without ``due_on`` the department gets ``FORWARD_DAYS`` working days, or
    less if the opinion's close-by date is earlier, but never less than the
    next working day. A given ``due_on`` must be a working day after today and
    at most ``LONGEST_DUE_WORKING_DAYS`` working days away.
    """
    _check(actor, opinion, Action.FORWARD)
    due_on = _forward_due(opinion, department, due_on)
    instructions = _optional_text(instructions, "交办要求")
    moment = utcnow()
    assignment = Assignment(
        opinion_uuid=opinion.uuid,
        department_id=department.id,
        state=AssignmentState.ACTIVE,
        forwarded_at=moment,
        due_on=due_on,
        instructions=instructions,
    )
    db.session.add(assignment)
    before, after = _change(opinion, status=S.FORWARDED, department_id=department.id)
    after["due_on"] = due_on.isoformat()
    _event(opinion, moment, f"已转交{department.name}办理，要求{_public_date(due_on)}前答复。")
    _finish(actor, Action.FORWARD, opinion, moment, before, after, subject=f"department:{department.id}")
    return assignment


def _forward_due(opinion: Opinion, department: Department, due_on: date | None) -> date:
    if not department.active:
        raise ActionRefused("该部门已停用，不能转办。")
    if department.township_id is not None and department.township_id != opinion.township_id:
        raise ActionRefused("只能转办给本镇街的部门或市直部门。")
    now = today()
    if due_on is None:
        due_on = add_working_days(now, FORWARD_DAYS)
        if opinion.close_due_on is not None:
            due_on = min(due_on, opinion.close_due_on)
        return max(due_on, add_working_days(now, 1))
    _check_future_working_day(due_on, "答复期限")
    return due_on


def return_assignment(actor: User, assignment: Assignment, reason: str) -> None:
    """回退: the department says the opinion is not theirs.

    The assignment ends as returned with the reason (internal); the opinion
    goes back to accepted with no department, to be forwarded again.
    """
    opinion = _check_assignment(actor, assignment, Action.RETURN_ASSIGNMENT)
    reason = _required_text(reason, "请填写退回理由。")
    moment = utcnow()
    before, after = _change(opinion, status=S.ACCEPTED, department_id=None)
    _change_assignment(
        assignment, before, after, state=AssignmentState.RETURNED, returned_at=moment, return_reason=reason
    )
    _event(opinion, moment, f"原承办部门退回，{office_name(opinion)}将重新安排办理。")
    _finish(
        actor, Action.RETURN_ASSIGNMENT, opinion, moment, before, after, subject=_subject(assignment), note=reason
    )


def withdraw_assignment(actor: User, assignment: Assignment, reason: str) -> None:
    """撤回转办: the township takes a forwarded opinion back from the department.

    The assignment ends as withdrawn (when and why kept internally in
    ``returned_at`` and ``return_reason``); the opinion goes back to accepted
    with no department, to be forwarded again, closed, declined or merged.
    The public note says the township took it back, not that the department
    returned it.
    """
    opinion = _check_assignment(actor, assignment, Action.WITHDRAW_ASSIGNMENT)
    reason = _required_text(reason, "请填写撤回原因。")
    moment = utcnow()
    before, after = _change(opinion, status=S.ACCEPTED, department_id=None)
    _change_assignment(
        assignment, before, after, state=AssignmentState.WITHDRAWN, returned_at=moment, return_reason=reason
    )
    _event(opinion, moment, withdrawn_note(opinion))
    _finish(
        actor, Action.WITHDRAW_ASSIGNMENT, opinion, moment, before, after, subject=_subject(assignment), note=reason
    )


def withdrawn_note(opinion: Opinion) -> str:
    """The public step of a withdrawn assignment: what happened, in plain words."""
    return f"{office_name(opinion)}已收回交办，将另行安排办理。"


def _withdraw_active(opinion: Opinion, moment: datetime, before: dict, after: dict, why: str) -> None:
    """End ``opinion``'s active assignment, if any, as withdrawn, in the caller's transaction.

    Used when the township closes, declines or merges a forwarded opinion:
    the department's part ends and the opinion no longer names it.
    """
    assignment = active_assignment(opinion)
    if assignment is None:
        return
    more_before, more_after = _change(opinion, department_id=None)
    before.update(more_before)
    after.update(more_after)
    _change_assignment(
        assignment, before, after, state=AssignmentState.WITHDRAWN, returned_at=moment, return_reason=why
    )


def request_extension(actor: User, assignment: Assignment, until: date, reason: str) -> None:
    """延期 request, entered by staff on the department's behalf.

    ``until`` must be a working day after today and after the current due
    date, at most ``LONGEST_DUE_WORKING_DAYS`` working days away; one request
    at a time. The due date moves only when approved.
    """
    opinion = _check_assignment(actor, assignment, Action.REQUEST_EXTENSION)
    if assignment.extension_state == ExtensionState.REQUESTED:
        raise ActionRefused("已有待审批的延期申请。")
    _check_future_working_day(until, "延期日期")
    if until <= assignment.due_on:
        raise ActionRefused(f"延期日期须晚于现在的答复期限（{_public_date(assignment.due_on)}）。")
    reason = _required_text(reason, "请填写延期理由。")
    moment = utcnow()
    before, after = {}, {}
    _change_assignment(
        assignment,
        before,
        after,
        extension_state=ExtensionState.REQUESTED,
        extension_until=until,
        extension_reason=reason,
    )
    _finish(
        actor, Action.REQUEST_EXTENSION, opinion, moment, before, after, subject=_subject(assignment), note=reason
    )


def decide_extension(actor: User, assignment: Assignment, approve: bool) -> None:
    """Approve or refuse a requested 延期 (chairs only).

    Approval moves the assignment's due date, and the opinion's close-by
    date, to the requested date when that is later, and adds a public step
    with the new date.
    """
    opinion = _check_assignment(actor, assignment, Action.DECIDE_EXTENSION)
    if assignment.extension_state != ExtensionState.REQUESTED:
        raise ActionRefused("没有待审批的延期申请。")
    moment = utcnow()
    before, after = {}, {}
    if approve:
        until = assignment.extension_until
        _change_assignment(
            assignment, before, after, extension_state=ExtensionState.APPROVED, due_on=max(assignment.due_on, until)
        )
        if opinion.close_due_on is None or until > opinion.close_due_on:
            more_before, more_after = _change(opinion, close_due_on=until)
            before.update(more_before)
            after.update(more_after)
        _event(opinion, moment, f"答复期限延至{_public_date(assignment.due_on)}。")
    else:
        _change_assignment(assignment, before, after, extension_state=ExtensionState.REFUSED)
    _finish(actor, Action.DECIDE_EXTENSION, opinion, moment, before, after, subject=_subject(assignment))


def remind(actor: User, assignment: Assignment, note: str | None = None) -> None:
    """催办: one more reminder to the department, counted and timed."""
    opinion = _check_assignment(actor, assignment, Action.REMIND)
    note = _optional_text(note, "催办说明")
    moment = utcnow()
    before, after = {}, {}
    _change_assignment(
        assignment, before, after, reminder_count=assignment.reminder_count + 1, last_reminded_at=moment
    )
    _finish(actor, Action.REMIND, opinion, moment, before, after, subject=_subject(assignment), note=note)


def record_reply(actor: User, assignment: Assignment, reply: str) -> None:
    """答复: the department's answer, kept internal until the township closes."""
    opinion = _check_assignment(actor, assignment, Action.RECORD_REPLY)
    reply = _required_text(reply, "请填写部门答复内容。")
    moment = utcnow()
    before, after = _change(opinion, status=S.REPLIED)
    _change_assignment(assignment, before, after, state=AssignmentState.REPLIED, reply=reply, replied_at=moment)
    _event(opinion, moment, f"承办部门已答复，{office_name(opinion)}正在审核。")
    _finish(actor, Action.RECORD_REPLY, opinion, moment, before, after, subject=_subject(assignment))


# --- 办结, 不予受理, 合并 ----------------------------------------------------


def close(actor: User, opinion: Opinion, public_reply: str) -> None:
    """办结 with the public reply (required).

    From accepted or forwarded (handled by the township itself: an active
    assignment ends as withdrawn) or replied.
    """
    _check(actor, opinion, Action.CLOSE)
    public_reply = _public_text(opinion, public_reply, "请填写答复群众的内容。")
    moment = utcnow()
    before, after = _change(opinion, status=S.CLOSED, public_reply=public_reply, closed_at=moment)
    _withdraw_active(opinion, moment, before, after, f"{office_name(opinion)}自行办结")
    _event(opinion, moment, "已办结，答复已公开。")
    _finish(actor, Action.CLOSE, opinion, moment, before, after)


def decline(actor: User, opinion: Opinion, public_reason: str) -> None:
    """不予受理 with a public reason (required), at any open step but 重新办理.

    A forwarded opinion's active assignment ends as withdrawn.
    """
    _check(actor, opinion, Action.DECLINE)
    public_reason = _public_text(opinion, public_reason, "请填写不予受理的理由。")
    moment = utcnow()
    before, after = _change(opinion, status=S.DECLINED, public_reply=public_reason, closed_at=moment)
    _withdraw_active(opinion, moment, before, after, "不予受理")
    _event(opinion, moment, f"不予受理：{public_reason}")
    _finish(actor, Action.DECLINE, opinion, moment, before, after)


def merge(actor: User, duplicate: Opinion, original: Opinion) -> None:
    """合并: a duplicate is followed through its original from now on.

    Both in the same township; not into itself; the original must not be
    merged itself and the duplicate must not be anyone's original (no
    chains). The duplicate's receipt then shows the original's progress; its
    public history says under which receipt number. A forwarded duplicate's
    active assignment ends as withdrawn.
    """
    _check(actor, duplicate, Action.MERGE)
    if original.uuid == duplicate.uuid:
        raise ActionRefused("不能与自身合并。")
    if original.township_id != duplicate.township_id or not can_see_township(actor, original.township_id):
        raise ActionRefused("只能与本镇街的意见合并。")
    if original.status == S.MERGED:
        raise ActionRefused(f"回执号 {original.receipt_number} 的意见已合并到其他意见，请选择原意见。")
    has_duplicates = db.session.scalar(select(exists().where(Opinion.merged_into_uuid == duplicate.uuid)))
    if has_duplicates:
        raise ActionRefused("已有其他意见合并到这条意见，不能再把它合并出去。")
    moment = utcnow()
    before, after = _change(duplicate, status=S.MERGED, merged_into_uuid=original.uuid)
    _withdraw_active(duplicate, moment, before, after, f"合并到 {original.receipt_number}")
    _event(duplicate, moment, f"与回执 {original.receipt_number} 的同类意见合并办理，办理进展见本页。")
    _finish(actor, Action.MERGE, duplicate, moment, before, after, subject=f"opinion:{original.uuid}")


# --- 重点督办, 专题, 补打回执 -------------------------------------------------


def set_key_supervision(actor: User, opinion: Opinion, on: bool) -> None:
    """重点督办 on or off (chair or city staff; open opinions only). No change, no write."""
    _check(actor, opinion, Action.SET_KEY_SUPERVISION)
    if opinion.key_supervision == bool(on):
        return
    moment = utcnow()
    before, after = _change(opinion, key_supervision=bool(on))
    _finish(actor, Action.SET_KEY_SUPERVISION, opinion, moment, before, after)


def create_topic(actor: User, township_id: int | None, title: str, description: str | None = None) -> Topic:
    """专题 for a township (its staff) or the whole city (``township_id`` None: city staff only)."""
    topic = _new_topic(actor, township_id, title, description)
    _commit()
    return topic


def attach_new_topic(actor: User, opinion: Opinion, title: str, description: str | None = None) -> Topic:
    """Start a 专题 of the opinion's township and put the opinion in it: both or neither (one commit).

    Refused, with no topic made, when the opinion may not be put in a topic now.
    """
    _check(actor, opinion, Action.ATTACH_TOPIC)
    topic = _new_topic(actor, opinion.township_id, title, description)
    moment = utcnow()
    before, after = _change(opinion, topic_id=topic.id)
    _finish(actor, Action.ATTACH_TOPIC, opinion, moment, before, after, subject=f"topic:{topic.id}")
    return topic


def _new_topic(actor: User, township_id: int | None, title: str, description: str | None, **details) -> Topic:
    """Check and add a new topic with its audit row, in the caller's transaction.

    ``details`` are a 三议一评 item's further fields (kiosk.deputy_work), checked there."""
    _check_actor(actor)
    if township_id is None:
        if actor.role != Role.CITY:
            raise ActionRefused("只有市人大常委会可以设立全市专题。")
    elif not can_see_township(actor, township_id):
        raise ActionRefused("只能为本镇街设立专题。")
    elif db.session.get(Township, township_id) is None:
        raise ActionRefused("没有这个镇街。")
    title = _required_text(title, "请填写专题名称。", limit=80)
    description = _optional_text(description, "专题说明")
    moment = utcnow()
    details.setdefault("year", to_local(moment).year)
    topic = Topic(township_id=township_id, title=title, description=description, created_at=moment, **details)
    db.session.add(topic)
    try:
        db.session.flush()
    except Exception:
        db.session.rollback()
        raise
    audit.record(
        "create_topic",
        actor=actor,
        subject=f"topic:{topic.id}",
        after={"township_id": township_id, "title": title, "description": description, **details},
    )
    return topic


def attach_topic(actor: User, opinion: Opinion, topic: Topic | None) -> None:
    """Put an opinion in a 专题 (its township's or a city-wide one, still open), or take it out (None)."""
    _check(actor, opinion, Action.ATTACH_TOPIC)
    if topic is not None:
        if topic.township_id is not None and topic.township_id != opinion.township_id:
            raise ActionRefused("只能归入本镇街或全市的专题。")
        if topic.closed_at is not None:
            raise ActionRefused("该专题已结束。")
    topic_id = topic.id if topic is not None else None
    if opinion.topic_id == topic_id:
        return
    moment = utcnow()
    before, after = _change(opinion, topic_id=topic_id)
    _finish(actor, Action.ATTACH_TOPIC, opinion, moment, before, after, subject=f"topic:{topic_id or '-'}")


def replace_receipt(actor: User, opinion: Opinion) -> str:
    """补打回执: a new 验证码 for someone who lost the receipt; the old one stops working.

    The secret itself is never written to the audit log.
    """
    _check(actor, opinion, Action.REPLACE_RECEIPT)
    old = opinion.current_secret
    secret = make_secret()
    while secret == old:
        secret = make_secret()
    moment = utcnow()
    replaced_before = opinion.replacement_secret is not None
    opinion.replacement_secret = secret
    opinion.updated_at = moment
    _finish(
        actor,
        Action.REPLACE_RECEIPT,
        opinion,
        moment,
        {"replacement_secret": "已设" if replaced_before else None},
        {"replacement_secret": "已更换"},
        note="补打回执，原验证码失效",
    )
    return secret


# --- 回访: satisfaction ratings -------------------------------------------


def record_rating(
    opinion: Opinion, given: GivenRating, actor: User | None = None, *, commit: bool = True
) -> Rating:
    """满意度测评 of a closed opinion: once per receipt and round.

    A rating on a merged duplicate's receipt rates its original (the one
    rule: ``kiosk.ratings.followed``); the Rating row belongs to the
    original. The first rating of a round counts: it sets the opinion's
    ``satisfaction``, and
    不满意 reopens the opinion (new round, new due dates counted from today,
    the comment kept for staff in the audit note). A later rating of the same
    round is stored with ``counted=False`` and changes nothing else.

    Given on the status page or on a follow-up call (``actor``, in scope), an
    opinion that is not closed is refused. A rating pushed by a station
    (``source`` kiosk) was given while the station showed it closed, so it is
    always stored, counted only if the opinion is still closed and unrated.
    ``commit=False`` leaves the commit to the caller (the sync store's batch).
    """
    target = followed(opinion)
    if actor is not None:
        _check_actor(actor)
        if not can_see_township(actor, target.township_id):
            raise ActionRefused("无权处理其他镇街的意见。")
        if not may_process(actor):
            raise ActionRefused(CITY_SUPERVISES)
    try:
        value = Satisfaction(given.value)
    except ValueError:
        raise ActionRefused("请选择满意、基本满意或不满意。") from None
    source = given.source
    if source not in set(RatingSource):
        raise ActionRefused("评价来源不正确。")
    if source == RatingSource.FOLLOW_UP and actor is None:
        raise ActionRefused("回访评价须由工作人员登记。")
    comment = _optional_text(given.comment, "评价意见")
    closed = target.status == S.CLOSED
    if not closed and source != RatingSource.KIOSK:
        raise ActionRefused("意见办结后才能评价。")
    counted = closed and not has_rating(target, target.reopen_count)
    moment = utcnow()
    rating = Rating(
        uuid=given.uuid or str(uuid_module.uuid4()),
        opinion_uuid=target.uuid,
        round=target.reopen_count,
        value=value.value,
        comment=comment,
        source=source,
        station_code=given.station_code,
        user_id=actor.id if actor is not None else None,
        created_at=given.created_at or moment,
        counted=counted,
    )
    db.session.add(rating)
    before, after = {"round": target.reopen_count}, {"rating": value.value, "counted": counted}
    if counted:
        more_before, more_after = _change(target, satisfaction=value.value)
        before.update(more_before)
        after.update(more_after)
        if value == Satisfaction.UNSATISFIED:
            more_before, more_after = _reopen(target, moment)
            before.update(more_before)
            after.update(more_after)
        target.updated_at = moment
    via = f"（经回执 {opinion.receipt_number}）" if target is not opinion else ""
    audit.record(
        "record_rating",
        actor=actor,
        opinion=target,
        subject=f"rating:{rating.uuid}",
        before=before,
        after=after,
        note=f"{value.label}{via}" + (f"：{comment}" if comment else ""),
    )
    if commit:
        _commit()
    return rating


def _reopen(opinion: Opinion, moment: datetime) -> tuple[dict, dict]:
    """不满意: back to the township with a fresh clock from today and no department."""
    start = today()
    category = opinion.category
    # The last round's department is no longer the opinion's: the township decides anew.
    changes = {"status": S.REOPENED, "reopen_count": opinion.reopen_count + 1, "closed_at": None, "department_id": None}
    if category is not None:
        changes["accept_due_on"] = add_working_days(start, category.accept_days)
        changes["close_due_on"] = add_working_days(start, category.answer_days)
    before, after = _change(opinion, **changes)
    _event(opinion, moment, f"群众对办理结果不满意，已退回{office_name(opinion)}重新办理。")
    return before, after


# --- overdue --------------------------------------------------------------

_AWAITING_ACCEPT = (S.RECEIVED, S.REOPENED)


def is_overdue(opinion: Opinion, today: date) -> bool:
    """Not finished, and late somewhere.

    Late: past its accept-by date while awaiting 受理, past its close-by date,
    or with a department whose active assignment is past its due date.
    """
    if opinion.status in FINISHED_STATUSES:
        return False
    if opinion.status in _AWAITING_ACCEPT and opinion.accept_due_on is not None and opinion.accept_due_on < today:
        return True
    if opinion.close_due_on is not None and opinion.close_due_on < today:
        return True
    return bool(db.session.scalar(select(_late_assignment(today, opinion.uuid))))


def overdue_condition(today: date):
    """``is_overdue`` as a SQL condition on Opinion's columns (NULL dates never overdue).

    The department's lateness is an EXISTS on assignments by opinion_uuid
    (indexed): one index probe per opinion the other filters leave.
    """
    return and_(
        not_(Opinion.status.in_([s.value for s in FINISHED_STATUSES])),
        or_(
            and_(
                Opinion.status.in_([s.value for s in _AWAITING_ACCEPT]),
                func.coalesce(Opinion.accept_due_on < today, False),
            ),
            func.coalesce(Opinion.close_due_on < today, False),
            _late_assignment(today),
        ),
    )


def _late_assignment(today: date, opinion_uuid: str | None = None):
    """The opinion (``opinion_uuid``, or correlated to Opinion) has an active assignment past its due date."""
    return exists().where(
        Assignment.opinion_uuid == (opinion_uuid if opinion_uuid is not None else Opinion.uuid),
        Assignment.state == AssignmentState.ACTIVE.value,
        Assignment.due_on < today,
    )


# --- the common steps -------------------------------------------------------


def _is_chair(actor: User) -> bool:
    return actor.role in (Role.CHAIR, Role.CITY)


def _check_actor(actor: User) -> None:
    if actor is None or not actor.active:
        raise ActionRefused("账号不可用，请重新登录。")


def _check(actor: User, opinion: Opinion, action: Action) -> None:
    """Refuse unless ``actor`` may take ``action`` on ``opinion`` in its status."""
    _check_actor(actor)
    if not can_see_township(actor, opinion.township_id):
        raise ActionRefused("无权处理其他镇街的意见。")
    role_refusal = refusal_for_role(actor, action)
    if role_refusal:
        raise ActionRefused(role_refusal)
    if action in _CHAIR_ONLY and not _is_chair(actor):
        raise ActionRefused(
            "此操作须由镇人大主席、副主席办理。"
            if action == Action.DECIDE_EXTENSION
            else "此操作须由镇人大主席、副主席或市人大常委会办理。"
        )
    if action not in ALLOWED.get(opinion.status, set()):
        raise ActionRefused(f"意见目前为“{opinion.status_label}”，不能{action.label}。")


def _check_assignment(actor: User, assignment: Assignment, action: Action) -> Opinion:
    opinion = assignment.opinion
    _check(actor, opinion, action)
    if assignment.state != AssignmentState.ACTIVE:
        raise ActionRefused("该交办已结束。")
    return opinion


def _check_future_working_day(day: date, what: str) -> None:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ActionRefused(f"{what}不是有效日期。")
    if day <= today():
        raise ActionRefused(f"{what}须在今天以后。")
    latest = add_working_days(today(), LONGEST_DUE_WORKING_DAYS)
    if day > latest:
        raise ActionRefused(
            f"{what}最远只能定到{_public_date(latest)}（今天起{LONGEST_DUE_WORKING_DAYS}个工作日）。"
        )
    if not is_working_day(day):
        raise ActionRefused(f"{what}（{_public_date(day)}）不是工作日。")


def _required_text(text: str | None, message: str, limit: int = TEXT_LIMIT) -> str:
    text = (text or "").strip()
    if not text:
        raise ActionRefused(message)
    if len(text) > limit:
        raise ActionRefused(f"内容不能超过{limit}字。")
    return text


def _public_text(opinion: Opinion, text: str | None, message: str) -> str:
    """Required text that will be published (status page, stations, Open311): no personal data.

    Refused when it holds a phone or ID-card number, or the name or phone
    number of whoever gave this opinion or one merged into it.
    """
    text = _required_text(text, message)
    people = db.session.execute(
        select(Opinion.contact_name, Opinion.contact_phone).where(Opinion.merged_into_uuid == opinion.uuid)
    ).all()
    names = [opinion.contact_name, opinion.contact_phone, *(value for row in people for value in row)]
    found = personal_data_in(text, names=[name for name in names if name])
    if found:
        raise ActionRefused(f"公开内容里有{found}。这段文字将在互联网上公开，请删去姓名、电话等个人信息后再提交。")
    return text


def _optional_text(text: str | None, what: str) -> str | None:
    text = (text or "").strip()
    if len(text) > TEXT_LIMIT:
        raise ActionRefused(f"{what}不能超过{TEXT_LIMIT}字。")
    return text or None


def _public_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _plain(value):
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _change(obj, **values) -> tuple[dict, dict]:
    """Set ``values`` on ``obj``; (before, after) of them, JSON-ready."""
    before = {name: _plain(getattr(obj, name)) for name in values}
    for name, value in values.items():
        setattr(obj, name, value.value if isinstance(value, StrEnum) else value)
    return before, {name: _plain(value) for name, value in values.items()}


def _change_assignment(assignment: Assignment, before: dict, after: dict, **values) -> None:
    """Like ``_change``, keys prefixed ``assignment.`` in the same audit row."""
    changed_before, changed_after = _change(assignment, **values)
    before.update({f"assignment.{k}": v for k, v in changed_before.items()})
    after.update({f"assignment.{k}": v for k, v in changed_after.items()})


def _event(opinion: Opinion, moment: datetime, note: str) -> None:
    opinion.events.append(OpinionEvent(status=opinion.status, at=moment, note=note))


def _subject(assignment: Assignment) -> str:
    return f"assignment:{assignment.id}"


def _finish(actor, action, opinion, moment, before, after, subject=None, note=None) -> None:
    opinion.updated_at = moment
    audit.record(action.value, actor=actor, opinion=opinion, subject=subject, before=before, after=after, note=note)
    _commit()


def _commit() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
