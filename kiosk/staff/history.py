"""An opinion's history on its page: the public steps and the audit rows, in words.

The tables here name, in Chinese, each audited action, each changed field
and each stored value, so that a row reads "状态：已受理 → 已转交有关部门办理".
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import load_only

from ..extensions import db
from ..clock import format_local
from ..models import (
    AssignmentState,
    AuditEntry,
    Department,
    EvaluationKind,
    ExtensionState,
    Opinion,
    OpinionStatus,
    Satisfaction,
    Topic,
    TopicStatus,
    TrackingKind,
    User,
)
from .actions import ACTIONS

# What each audit row is called: every staff action's own label, and the rows that are no action.
AUDIT_LABELS = {
    **{name: spec.audit_label for name, spec in ACTIONS.items()},
    "denied": "越权查看（已拒绝）",
    "slip": "打印",
    "find": "找回执查询",
    "export": "导出",
    "create_topic": "设立专题",
    "voice.transcribe": "转写语音留言",
    # Deputies' work (kiosk.deputy_work)
    "record_activity": "登记联系群众活动",
    "link_activity_opinions": "关联活动收集的意见",
    "record_report_back": "登记代表述职",
    "save_professional_group": "保存专业小组",
    "assign_topic_group": "指定专题的专业小组",
    "add_topic_record": "添加专题跟踪记录",
    "track_topic": "专题开始跟踪",
    "evaluate_topic": "专题测评",
    "record_evaluation": "登记测评评议",
    "follow_up_evaluation": "跟踪整改",
    "retention.erase": "保存期满，删除个人信息",
    "user.create": "新建账号",
    "user.activate": "启用账号",
    "user.deactivate": "停用账号",
    "user.password": "重设密码",
    "deputy.pin": "设置代表值班密码",
    "user.code": "发放代表激活码",
    "user.first_sign_in": "代表激活账号",
    "desk.answer": "代表答复",
    "desk.note": "代表提请办理",
    "desk.suggestion": "代表一键通建议",
    "desk.diary": "代表写履职日记",
    "desk.diary_publish": "代表公开履职日记",
    "desk.diary_withdraw": "代表撤回履职日记",
    "duty.add": "安排值班",
    "duty.remove": "取消值班",
    "duty.repeat": "按周重复值班",
    "station.register": "登记联络站",
    "station.token": "签发联络站接入码",
    "station.revoke": "停用联络站",
    "department.deactivate": "停用承办部门",
    "department.reactivate": "恢复承办部门",
    # The city's set-up (kiosk.setup.services): one label per kind of thing set up.
    **{
        f"{kind}.{verb}": f"{verb_label}{kind_label}"
        for kind, kind_label in (("township", "镇街"), ("category", "意见类别"), ("department", "承办部门"), ("station", "联络站"))
        for verb, verb_label in (("create", "添加"), ("update", "修改"))
    },
}
FIELD_LABELS = {
    "status": "状态",
    "department_id": "承办部门",
    "due_on": "答复期限",
    "accepted_at": "受理时间",
    "closed_at": "办结时间",
    "public_reply": "公开答复",
    "transcript": "转写",
    "merged_into_uuid": "合并到",
    "key_supervision": "重点督办",
    "topic_id": "专题",
    "replacement_secret": "验证码",
    "satisfaction": "满意度",
    "reopen_count": "重办次数",
    "accept_due_on": "受理期限",
    "close_due_on": "办结期限",
    "rating": "评价",
    "counted": "计入统计",
    "round": "轮次",
    "contact_name": "联系人姓名",
    "contact_phone": "联系电话",
    "voice": "语音留言录音",
    "contacts": "印出联系人",
    "assignment.state": "交办状态",
    "assignment.due_on": "答复期限",
    "assignment.return_reason": "退回或撤回原因",
    "assignment.returned_at": "退回或撤回时间",
    "assignment.extension_state": "延期申请",
    "assignment.extension_until": "延期至",
    "assignment.extension_reason": "延期理由",
    "assignment.reminder_count": "催办次数",
    "assignment.last_reminded_at": "催办时间",
    "assignment.reply": "部门答复",
    "assignment.replied_at": "答复时间",
}
# What an assignment's state and its 延期 request are called (the opinion page and its history).
ASSIGNMENT_STATE_LABELS = {
    AssignmentState.ACTIVE: "办理中",
    AssignmentState.RETURNED: "已退回",
    AssignmentState.WITHDRAWN: "已撤回",
    AssignmentState.REPLIED: "已答复",
}
EXTENSION_STATE_LABELS = {
    ExtensionState.REQUESTED: "待审批",
    ExtensionState.APPROVED: "已同意",
    ExtensionState.REFUSED: "未同意",
}
_VALUE_LABELS = {
    **{s.value: s.label for s in OpinionStatus},
    **{state.value: label for state, label in ASSIGNMENT_STATE_LABELS.items()},
    **{state.value: label for state, label in EXTENSION_STATE_LABELS.items()},
    **{s.value: s.label for s in Satisfaction},
    **{s.value: s.label for s in TopicStatus},
    **{k.value: k.label for k in TrackingKind},
    **{k.value: k.label for k in EvaluationKind},
    True: "是",
    False: "否",
    None: "—",
}
# Audit fields not shown in the history: bookkeeping (the rating's round and
# whether it counted) and the rating itself, which the entry's note names.
HIDDEN_FIELDS = {"round", "rating", "counted"}


@dataclass
class HistoryEntry:
    at: datetime
    # "public": a step of the public status history; "audit": a staff action.
    kind: str
    title: str
    who: str | None = None
    note: str | None = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def shown_value(value, names: dict | None = None) -> str:
    """An audited value in words: a status, a yes or no, a local time, a count."""
    if names and value in names:
        return names[value]
    if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
        try:  # a moment, stored in UTC: shown in local time
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            pass
    if isinstance(value, int) and not isinstance(value, bool):
        # 1 == True as a dict key: a count would read 是.
        return str(value)
    try:
        return _VALUE_LABELS[value]
    except (KeyError, TypeError):
        return str(value)


def _names_of(rows) -> dict[str, dict]:
    """Department, topic and opinion names for the ids the audit rows hold."""
    ids: dict[str, set] = {"department_id": set(), "topic_id": set(), "merged_into_uuid": set()}
    for row in rows:
        for values in (row.before or {}, row.after or {}):
            for name, found in ids.items():
                if values.get(name) is not None:
                    found.add(values[name])
    lookups = {
        "department_id": (Department.id, Department.name),
        "topic_id": (Topic.id, Topic.title),
        "merged_into_uuid": (Opinion.uuid, Opinion.receipt_number),
    }
    names: dict[str, dict] = {}
    for name, (key, label) in lookups.items():
        found = ids[name]
        names[name] = dict(db.session.execute(select(key, label).where(key.in_(found))).all()) if found else {}
    return names


def _people(rows) -> dict[int, str]:
    """Each acting account's display name (its username when it has none)."""
    ids = {row.user_id for row in rows if row.user_id is not None}
    if not ids:
        return {}
    found = db.session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(ids)))
    return {user_id: display or username for user_id, display, username in found}


def duplicates_of(opinion: Opinion) -> list[Opinion]:
    """The opinions merged into ``opinion`` (its duplicates), oldest first."""
    return list(
        db.session.scalars(
            select(Opinion)
            .where(Opinion.merged_into_uuid == opinion.uuid)
            .options(load_only(Opinion.uuid, Opinion.receipt_number, Opinion.created_at))
            .order_by(Opinion.created_at, Opinion.uuid)
        )
    )


def history(opinion: Opinion) -> list[HistoryEntry]:
    """The public status history and the audit rows of ``opinion``, oldest first."""
    entries = [HistoryEntry(e.at, "public", e.status_label, note=e.note) for e in opinion.events]
    rows = db.session.scalars(
        select(AuditEntry).where(AuditEntry.opinion_uuid == opinion.uuid).order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    names = _names_of(rows)
    people = _people(rows)
    for row in rows:
        before, after = row.before or {}, row.after or {}
        changes = [
            (FIELD_LABELS.get(name, name), shown_value(before.get(name), names.get(name)),
             shown_value(after.get(name), names.get(name)))  # fmt: skip
            for name in dict.fromkeys([*before, *after])
            if name not in HIDDEN_FIELDS and before.get(name) != after.get(name)
        ]
        who = people.get(row.user_id) or row.username
        entries.append(HistoryEntry(row.at, "audit", AUDIT_LABELS.get(row.action, row.action), who, row.note, changes))
    # Stable: an action's public step comes before its audit row.
    return sorted(entries, key=lambda e: e.at)
