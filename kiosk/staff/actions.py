"""Every action on an opinion page in one table: its URL, form, confirmation, service call and words.

The rules of each action (who, when, what changes) are ``services``'; this
is what the opinion page needs around them. A view looks an action up here
by name, fills its form (``form_for``) and, once the form is valid, calls
``perform``, which returns the message shown on success or raises
``services.ActionRefused`` (``Unconfirmed`` for a box left unticked).
"""

from collections.abc import Callable
from dataclasses import dataclass

from ..auth.scope import opinion_by_number
from ..extensions import db
from ..models import Assignment, Department, Opinion, OpinionStatus, RatingSource, Topic, User
from ..parsing import bounded_int
from ..ratings import GivenRating
from . import choices, forms, services
from .services import Action, ActionRefused


class Unconfirmed(ActionRefused):
    """An irreversible action sent without its confirmation box ticked."""


@dataclass(frozen=True)
class StaffAction:
    action: Action
    # The end of its URL, /staff/opinions/<uuid>/<path>; its endpoint is staff.<action>.
    path: str
    form: type[forms.ActionForm]
    # (actor, opinion, form, named) → the message shown once done; ``named`` is what ``lookup`` found.
    call: Callable[[User, Opinion, forms.ActionForm, object], str]
    # The heading of its form on the opinion page.
    title: str
    # What its rows are called in the opinion's history.
    audit_label: str
    # What the form names (the assignment, a merge's original), looked up before anything else.
    lookup: Callable[[User, Opinion, forms.ActionForm], object] | None = None
    # Irreversible: its confirmation box must be ticked (checked after the lookup).
    confirmed: bool = False
    # (form, actor, opinion, bound) → None: sets the form's choices, and its values when not bound.
    fill: Callable[[forms.ActionForm, User, Opinion, bool], None] | None = None

    @property
    def name(self) -> str:
        return self.action.value


# --- what a form names ---------------------------------------------------------------------


def _assignment(actor: User, opinion: Opinion, form) -> Assignment:
    assignment_id = bounded_int(form.assignment.data)
    assignment = db.session.get(Assignment, assignment_id) if assignment_id else None
    if assignment is None or assignment.opinion_uuid != opinion.uuid:
        raise ActionRefused("找不到这次交办，请刷新页面。")
    return assignment


def _original(actor: User, opinion: Opinion, form) -> Opinion:
    # Looked up before the confirmation: a wrong number is the likelier mistake.
    original = opinion_by_number(actor, form.original.data)
    if original is None:
        raise ActionRefused(f"找不到回执编号为 {form.original.data} 的意见。")
    return original


# --- filling a form ------------------------------------------------------------------------


def _fill_forward(form, actor, opinion, bound) -> None:
    form.department.choices = choices.department_choices(opinion.township_id)


def _fill_topic(form, actor, opinion, bound) -> None:
    form.topic.choices = choices.topic_choices(actor, opinion.township_id)
    if not bound:
        form.topic.data = str(opinion.topic_id or "")


def _fill_key_supervision(form, actor, opinion, bound) -> None:
    if not bound:  # the button offers the other state
        form.on.data = "0" if opinion.key_supervision else "1"


# --- the service calls ---------------------------------------------------------------------


def _accept(actor, opinion, form, _named) -> str:
    services.accept(actor, opinion, form.note.data)
    return "已受理。"


def _forward(actor, opinion, form, _named) -> str:
    department = db.session.get(Department, bounded_int(form.department.data))
    made = services.forward(actor, opinion, department, form.due_on.data, form.instructions.data)
    return f"已转办{department.name}，答复期限 {made.due_on:%Y-%m-%d}。可打印交办单。"


def _return_assignment(actor, opinion, form, assignment) -> str:
    services.return_assignment(actor, assignment, form.reason.data)
    return "已回退，请重新转办。"


def _withdraw_assignment(actor, opinion, form, assignment) -> str:
    services.withdraw_assignment(actor, assignment, form.reason.data)
    return "已撤回转办，可重新转办、办结、不予受理或合并。"


def _request_extension(actor, opinion, form, assignment) -> str:
    services.request_extension(actor, assignment, form.until.data, form.reason.data)
    return "已登记延期申请，待主席审批。"


def _decide_extension(actor, opinion, form, assignment) -> str:
    approve = form.decision.data == "approve"
    services.decide_extension(actor, assignment, approve)
    return "已同意延期。" if approve else "已不同意延期。"


def _remind(actor, opinion, form, assignment) -> str:
    services.remind(actor, assignment, form.note.data)
    return "已催办。"


def _record_reply(actor, opinion, form, assignment) -> str:
    services.record_reply(actor, assignment, form.reply.data)
    return "已登记部门答复。"


def _close(actor, opinion, form, _named) -> str:
    services.close(actor, opinion, form.public_reply.data)
    return "已办结，答复已公开。"


def _decline(actor, opinion, form, _named) -> str:
    services.decline(actor, opinion, form.public_reason.data)
    return "已不予受理，理由已公开。"


def _merge(actor, opinion, form, original) -> str:
    services.merge(actor, opinion, original)
    return f"已合并到 {original.receipt_number}。"


def _set_key_supervision(actor, opinion, form, _named) -> str:
    on = form.on.data == "1"
    services.set_key_supervision(actor, opinion, on)
    return "已设为重点督办。" if on else "已取消重点督办。"


def _attach_topic(actor, opinion, form, _named) -> str:
    if form.topic.data == "new":
        topic = services.attach_new_topic(actor, opinion, form.new_title.data)
    else:
        topic = db.session.get(Topic, bounded_int(form.topic.data)) if form.topic.data else None
        services.attach_topic(actor, opinion, topic)
    return f"已归入专题“{topic.title}”。" if topic else "已移出专题。"


def _replace_receipt(actor, opinion, form, _named) -> str:
    services.replace_receipt(actor, opinion)
    return "已生成新的验证码，原回执作废。请打印新回执交给群众。"


def _record_rating(actor, opinion, form, _named) -> str:
    services.record_rating(opinion, GivenRating(form.value.data, form.comment.data, RatingSource.FOLLOW_UP), actor)
    return "已登记回访结果。"


# --- the table -----------------------------------------------------------------------------

# fmt: off
ACTIONS: dict[str, StaffAction] = {
    spec.name: spec
    for spec in (
        StaffAction(
            Action.ACCEPT, "accept", forms.AcceptForm, _accept,
            title="受理", audit_label="受理",
        ),
        StaffAction(
            Action.FORWARD, "forward", forms.ForwardForm, _forward,
            title="转办", audit_label="转办", fill=_fill_forward,
        ),
        StaffAction(
            Action.RETURN_ASSIGNMENT, "return", forms.ReturnForm, _return_assignment,
            title="回退（部门退回）", audit_label="回退", lookup=_assignment,
        ),
        StaffAction(
            Action.WITHDRAW_ASSIGNMENT, "withdraw", forms.WithdrawForm, _withdraw_assignment,
            title="撤回转办", audit_label="撤回转办", lookup=_assignment,
        ),
        StaffAction(
            Action.REQUEST_EXTENSION, "extension", forms.ExtensionRequestForm, _request_extension,
            title="申请延期", audit_label="申请延期", lookup=_assignment,
        ),
        StaffAction(
            Action.DECIDE_EXTENSION, "extension-decision", forms.ExtensionDecisionForm, _decide_extension,
            title="审批延期", audit_label="审批延期", lookup=_assignment,
        ),
        StaffAction(
            Action.REMIND, "remind", forms.RemindForm, _remind,
            title="催办", audit_label="催办", lookup=_assignment,
        ),
        StaffAction(
            Action.RECORD_REPLY, "reply", forms.ReplyForm, _record_reply,
            title="登记部门答复", audit_label="登记部门答复", lookup=_assignment,
        ),
        StaffAction(
            Action.CLOSE, "close", forms.CloseForm, _close,
            title="办结", audit_label="办结", confirmed=True,
        ),
        StaffAction(
            Action.DECLINE, "decline", forms.DeclineForm, _decline,
            title="不予受理", audit_label="不予受理", confirmed=True,
        ),
        StaffAction(
            Action.MERGE, "merge", forms.MergeForm, _merge,
            title="合并重复意见", audit_label="合并", lookup=_original, confirmed=True,
        ),
        StaffAction(
            Action.SET_KEY_SUPERVISION, "key-supervision", forms.KeySupervisionForm, _set_key_supervision,
            title="重点督办", audit_label="重点督办", fill=_fill_key_supervision,
        ),
        StaffAction(
            Action.ATTACH_TOPIC, "topic", forms.TopicForm, _attach_topic,
            title="专题", audit_label="归入专题", fill=_fill_topic,
        ),
        StaffAction(
            Action.REPLACE_RECEIPT, "replacement-receipt", forms.ReplaceReceiptForm, _replace_receipt,
            title="补打回执", audit_label="补打回执", confirmed=True,
        ),
        StaffAction(
            Action.RECORD_RATING, "follow-up", forms.RatingForm, _record_rating,
            title="回访（满意度）", audit_label="满意度测评",
        ),
    )
}
# fmt: on
if list(ACTIONS) != [action.value for action in Action]:
    raise RuntimeError("every lifecycle action needs one row in ACTIONS, in Action order")


# The next step of an opinion in each status, most pressing first: the first of these that the
# actor may take is shown first and large on the opinion page; the others fold under 更多操作.
NEXT_STEPS: dict[str, tuple[Action, ...]] = {
    OpinionStatus.RECEIVED: (Action.ACCEPT,),
    OpinionStatus.REOPENED: (Action.ACCEPT,),
    OpinionStatus.ACCEPTED: (Action.FORWARD,),
    OpinionStatus.FORWARDED: (Action.DECIDE_EXTENSION, Action.RECORD_REPLY, Action.REMIND),
    OpinionStatus.REPLIED: (Action.CLOSE,),
    OpinionStatus.CLOSED: (Action.RECORD_RATING,),
}


def next_step(status: str, allowed: list[str]) -> str | None:
    """The action to offer first for an opinion in ``status``, among the ``allowed`` ones."""
    return next((action.value for action in NEXT_STEPS.get(status, ()) if action.value in allowed), None)


def form_for(name: str, actor: User, opinion: Opinion, bound: bool = False) -> forms.ActionForm:
    """Action ``name``'s form with its choices: empty for the page, or ``bound`` to the request."""
    spec = ACTIONS[name]
    form = spec.form(prefix=name) if bound else spec.form(prefix=name, formdata=None)
    if spec.fill:
        spec.fill(form, actor, opinion, bound)
    return form


def perform(name: str, actor: User, opinion: Opinion, form) -> str:
    """Take action ``name`` with its valid ``form``: look up what it names, check the box, call the service.

    Returns the message shown on success. An unticked box is refused only
    when the action is allowed now; otherwise the service's reason says more.
    """
    spec = ACTIONS[name]
    named = spec.lookup(actor, opinion, form) if spec.lookup else None
    if spec.confirmed and not form.confirm.data and name in services.allowed_actions(actor, opinion):
        raise Unconfirmed(f"请先勾选“{form.confirm.label.text}”，再{spec.action.label}。")
    return spec.call(actor, opinion, form, named)
