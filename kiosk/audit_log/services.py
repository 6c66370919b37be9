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
}

PAGE_SIZE = 50
# Rows written with no one signed in (retention, a station's rating): ``who=system``.
SYSTEM = "system"
ACTION_MAX = 40

# What a row's subject ("kind:id") is about, in words.
SUBJECT_LABELS = {
    "assignment": "交办", "department": "承办部门", "duty": "值班", "export": "导出", "opinion": "意见",
    "rating": "评价", "receipt": "回执", "station": "联络站", "topic": "专题", "township": "镇街",
    "user": "账号", "category": "类别", "deputy": "代表",
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
