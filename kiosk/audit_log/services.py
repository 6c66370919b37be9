"""Reading the audit log for the city's page: filters, keyset pages, plain labels.

Filters: who (an account, or the system itself), what (an action), when
(local dates) and township (rows about its opinions, written by its staff,
or naming it). Pages walk ids downwards (no OFFSET), as the queue does.
"""

import json
from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import Select, distinct, or_, select

from ..clock import local_midnight_utc
from ..extensions import db
from ..models import AuditEntry, Opinion, Township, User
from ..parsing import bounded_int, parse_day
from ..staff.history import AUDIT_LABELS, FIELD_LABELS, shown_value

# The fields of set-up, accounts and topics, beside the opinion's own (FIELD_LABELS):
# staff pages speak Chinese, column names included.
AUDIT_FIELD_LABELS = FIELD_LABELS | {
    "name": "名称",
    "kind": "类型",
    "office_phone": "办公电话",
    "code": "代码",
    "icon": "图标",
    "position": "排序",
    "active": "启用",
    "accept_days": "受理期限（工作日）",
    "answer_days": "答复期限（工作日）",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
    "township_id": "镇街",
    "level": "层级",
    "address": "地址",
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "title": "标题",
    "description": "说明",
    "topic": "专题",
    "department": "承办部门",
    "assignment": "交办",
    "deputy_id": "代表",
    "days": "天数",
    "filters": "筛选条件",
    "found": "找到",
    "phone": "电话",
    # Deputies' work (kiosk.deputy_work)
    "station_code": "联络站", "held_on": "日期", "people": "群众人数", "topics": "交流事项", "deputy_ids": "代表",
    "receipt_numbers": "关联意见", "place": "地点", "voters_present": "到会选民", "votes": "票数（满意、基本满意、不满意）",
    "summary": "简述", "member_ids": "组员", "year": "年度", "commitment": "政府承诺", "group_id": "专业小组",
    "votes_satisfied": "满意票", "votes_basic": "基本满意票", "votes_unsatisfied": "不满意票", "outcome": "测评结果",
    "evaluated_on": "测评日期", "record_id": "跟踪记录", "who": "参加人员", "findings": "发现的情况", "subject": "测评对象",
    "meeting": "会议", "result": "结果", "rectification": "整改要求", "rectification_due": "整改期限",
    "follow_up_id": "跟踪", "note": "说明", "done": "整改完成",
}

PAGE_SIZE = 50
# Rows written with no one signed in (retention, a station's rating): ``who=system``.
SYSTEM = "system"
ACTION_MAX = 40

# What a row's subject ("kind:id") is about, in words.
SUBJECT_LABELS = {
    "assignment": "交办", "department": "承办部门", "duty": "值班", "export": "导出", "opinion": "意见",
    "rating": "评价", "receipt": "回执", "station": "联络站", "topic": "专题", "township": "镇街",
    "user": "账号", "category": "类别", "deputy": "代表", "activity": "联系群众活动", "report_back": "代表述职",
    "professional_group": "专业小组", "evaluation": "测评",
}  # fmt: skip


def subject_label(subject: str | None) -> str:
    kind, _, rest = (subject or "").partition(":")
    return " ".join(filter(None, (SUBJECT_LABELS.get(kind, kind), rest)))


def action_label(action: str) -> str:
    return AUDIT_LABELS.get(action, action)


@dataclass
class AuditFilters:
    """What city staff asked the log for; every field optional."""

    who: str | None = None  # a user id, or SYSTEM
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    township_id: int | None = None

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        """Read the query string; a value that makes no sense is ignored, never an error."""
        who = (args.get("who") or "").strip()
        action = (args.get("action") or "").strip()
        date_from, date_to = parse_day(args.get("date_from")), parse_day(args.get("date_to"))
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        return cls(
            who=who if who == SYSTEM or bounded_int(who) is not None else None,
            action=action if 0 < len(action) <= ACTION_MAX else None,
            date_from=date_from,
            date_to=date_to,
            township_id=bounded_int(args.get("township")),
        )

    def to_args(self, **changes) -> dict[str, str]:
        """The query string for these filters (only what is set), with ``changes`` applied."""
        names = {"township_id": "township"}
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return {names.get(name, name): str(value) for name, value in values.items() if value not in (None, "")}


@dataclass
class Row:
    entry: AuditEntry
    receipt_number: str | None
    label: str

    @property
    def subject(self) -> str:
        return subject_label(self.entry.subject)

    @property
    def subject_kind(self) -> str:
        return subject_label((self.entry.subject or "").partition(":")[0])

    @property
    def subject_id(self) -> str:
        """The id as stored (a number, a code, a UUID): shown verbatim."""
        return (self.entry.subject or "").partition(":")[2]

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field in words, before, after) of each field the row names."""
        before, after = self.entry.before or {}, self.entry.after or {}
        return [
            (AUDIT_FIELD_LABELS.get(name, name), _shown(before, name), _shown(after, name))
            for name in dict.fromkeys([*before, *after])
        ]


def _shown(values: dict, name: str) -> str | None:
    """A value in words (statuses, yes or no), or None where the row holds none for ``name``."""
    if name not in values:
        return None
    value = values[name]
    return shown_value(value) if value is None or isinstance(value, (str, int, float, bool)) else json.dumps(value, ensure_ascii=False)


@dataclass
class Page:
    rows: list[Row]
    # The id to pass as ``before`` for the next (older) page; None on the last page.
    older: int | None


def filtered(filters: AuditFilters) -> Select:
    """``select(AuditEntry, receipt number)`` narrowed by ``filters``; unordered."""
    query = select(AuditEntry, Opinion.receipt_number).outerjoin(Opinion, Opinion.uuid == AuditEntry.opinion_uuid)
    if filters.who == SYSTEM:
        query = query.where(AuditEntry.user_id.is_(None))
    elif filters.who is not None:
        query = query.where(AuditEntry.user_id == int(filters.who))
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.date_from:
        query = query.where(AuditEntry.at >= local_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEntry.at < local_midnight_utc(filters.date_to + timedelta(days=1)))
    if filters.township_id is not None:
        staff = select(User.id).where(User.township_id == filters.township_id)
        query = query.where(
            or_(
                Opinion.township_id == filters.township_id,
                AuditEntry.user_id.in_(staff),
                AuditEntry.subject == f"township:{filters.township_id}",
            )
        )
    return query


def page(filters: AuditFilters, before: int | None = None) -> Page:
    """One page of rows, newest first, older than the row ``before`` if given."""
    query = filtered(filters)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    found = db.session.execute(query.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)).all()
    rows = [Row(entry, number, action_label(entry.action)) for entry, number in found[:PAGE_SIZE]]
    return Page(rows, rows[-1].entry.id if len(found) > PAGE_SIZE else None)


def choices() -> dict:
    """The filter bar's lists: accounts, the actions the log holds, townships."""
    actions = db.session.scalars(select(distinct(AuditEntry.action)).order_by(AuditEntry.action)).all()
    return {
        "users": db.session.scalars(select(User).order_by(User.username)).all(),
        "actions": [(action, action_label(action)) for action in actions],
        "townships": db.session.scalars(select(Township).order_by(Township.id)).all(),
    }
