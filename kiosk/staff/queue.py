"""The staff queue: filters, keyset pages and counts per status.

Every query starts from ``kiosk.auth.scope.opinions_for(user)``, so a
township's staff never see another township's opinions, whatever the URL
says. Pages are keyset pages (no OFFSET): "newest" walks (created_at, uuid)
downwards, "urgent" walks (close_due_on, created_at, uuid) upwards with
opinions without a due date last. Both orders match an index that starts
with township_id (ix_opinions_queue, ix_opinions_township_created,
ix_opinions_township_due), so a page over a million opinions reads about a
page of index entries.
"""

import logging
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import joinedload, load_only

from .. import audit
from ..auth.scope import opinions_for, record_denied
from ..clock import format_local, today as local_today, zone
from ..extensions import db
from ..models import (
    FINISHED_STATUSES,
    Assignment,
    AssignmentState,
    AuditEntry,
    Category,
    Department,
    ExtensionState,
    Opinion,
    OpinionStatus,
    Satisfaction,
    Station,
    Topic,
    User,
)
from ..parsing import bounded_int, parse_day
from ..receipts.numbers import STATION_CODE
from ..text import mask_phone
from . import services

log = logging.getLogger(__name__)

ORDERS = {"newest": "最新在前", "urgent": "期限最近在前"}
# Statuses with work left for the township; "open" in the status filter.
OPEN_STATUSES = tuple(s.value for s in OpinionStatus if s not in FINISHED_STATUSES)
STATUS_CHOICES = {"open": "未办结", **{s.value: s.label for s in OpinionStatus}}
# "all" asks for every status in so many words: the queue opens on "open".
ALL = "all"
PAGE_SIZE = 50
TEXT_MAX = 100
_CATEGORY_CODE = re.compile(r"^[a-z0-9_-]{1,24}$")


def _flag(value) -> bool:
    return (value or "").strip().lower() in ("1", "on", "true", "yes")


@dataclass
class QueueFilters:
    """What the clerk asked the queue for; every field optional."""

    township_id: int | None = None  # city staff only
    station_code: str | None = None
    category: str | None = None
    status: str | None = None  # an OpinionStatus value, "open", or "all" (the same as None)
    overdue: bool = False
    extension_requested: bool = False  # 待审批延期: an active assignment's extension awaits a decision
    key_supervision: bool = False
    topic_id: int | None = None
    text: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    order: str = "newest"

    @classmethod
    def from_args(cls, args) -> "QueueFilters":
        """Read the query string; a value that makes no sense is ignored, never an error."""
        station = (args.get("station") or "").strip().upper()
        category = (args.get("category") or "").strip()
        status = (args.get("status") or "").strip()
        text = " ".join((args.get("text") or "").split())[:TEXT_MAX]
        order = (args.get("order") or "").strip()
        date_from, date_to = parse_day(args.get("date_from")), parse_day(args.get("date_to"))
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        return cls(
            township_id=bounded_int(args.get("township")),
            station_code=station if STATION_CODE.match(station) else None,
            category=category if _CATEGORY_CODE.match(category) else None,
            status=status if status in STATUS_CHOICES or status == ALL else None,
            overdue=_flag(args.get("overdue")),
            extension_requested=_flag(args.get("extension")),
            key_supervision=_flag(args.get("key_supervision")),
            topic_id=bounded_int(args.get("topic")),
            text=text or None,
            date_from=date_from,
            date_to=date_to,
            order=order if order in ORDERS else "newest",
        )

    def to_args(self, **changes) -> dict[str, str]:
        """The query string for these filters (only what is set), with ``changes`` applied."""
        names = {"township_id": "township", "station_code": "station", "topic_id": "topic", "extension_requested": "extension"}
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        args = {}
        for name, value in values.items():
            if value in (None, False, "") or (name == "order" and value == "newest"):
                continue
            args[names.get(name, name)] = "1" if value is True else str(value)
        return args

    @classmethod
    def opening(cls) -> "QueueFilters":
        """What the queue shows when opened without a query: today's work, most urgent first."""
        return cls(status="open", order="urgent")

    @property
    def is_empty(self) -> bool:
        return not self.to_args(status=None if self.status in (ALL, "open") else self.status, order="newest")

    @property
    def words(self) -> list[str]:
        """The search text's words; an opinion must match every one."""
        return (self.text or "").split()


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone()).astimezone(timezone.utc)


def filtered(user: User, filters: QueueFilters, today: date | None = None) -> Select:
    """``select(Opinion)`` for what ``user`` may see, narrowed by ``filters``; unordered."""
    query = opinions_for(user)
    if filters.township_id is not None and user.is_city:
        query = query.where(Opinion.township_id == filters.township_id)
    if filters.station_code:
        query = query.where(Opinion.station_code == filters.station_code)
    if filters.category:
        query = query.where(Opinion.category_code == filters.category)
    query = _status_condition(query, filters.status)
    if filters.overdue:
        # The explicit list of open statuses lets the queue index narrow first.
        query = query.where(Opinion.status.in_(OPEN_STATUSES), services.overdue_condition(today or local_today()))
    if filters.key_supervision:
        query = query.where(Opinion.key_supervision.is_(True))
    if filters.topic_id is not None:
        query = query.where(Opinion.topic_id == filters.topic_id)
    if filters.extension_requested:
        query = query.where(Opinion.status.in_(OPEN_STATUSES), extension_requested_condition())
    for word in filters.words:
        query = query.where(_word_condition(word))
    if filters.date_from:
        query = query.where(Opinion.created_at >= _local_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(Opinion.created_at < _local_midnight_utc(filters.date_to + timedelta(days=1)))
    return query


_PHONE_WORD = re.compile(r"^[\d+()-]+$")
# Fewest digits a phone number's part must have to be looked for.
PHONE_MIN_DIGITS = 4


def _word_condition(word: str):
    """One search word: in the content, in the receipt number, or (4+ digits) in the phone number.

    Every word is a ``contains`` (LIKE '%…%'): no index narrows it, so the
    other filters (township, status) do the narrowing; text search is
    reported beside the queue's figures, not held to them.
    """
    conditions = [
        Opinion.content.contains(word, autoescape=True),
        Opinion.receipt_number.contains(word.upper(), autoescape=True),
    ]
    digits = re.sub(r"\D", "", word)
    if _PHONE_WORD.match(word) and len(digits) >= PHONE_MIN_DIGITS:
        conditions.append(Opinion.contact_phone.contains(digits, autoescape=True))
    return or_(*conditions)


def extension_requested_condition():
    """The opinion has an active assignment whose 延期 awaits a chair's decision."""
    return exists().where(
        Assignment.opinion_uuid == Opinion.uuid,
        Assignment.state == AssignmentState.ACTIVE.value,
        Assignment.extension_state == ExtensionState.REQUESTED.value,
    )


def _status_condition(query: Select, status: str | None) -> Select:
    if status == ALL:
        return query
    if status == "open":
        return query.where(Opinion.status.in_(OPEN_STATUSES))
    if status:
        return query.where(Opinion.status == status)
    return query


# --- pages ---------------------------------------------------------------------------------


@dataclass
class QueuePage:
    rows: list[Opinion]
    # The cursor of the next page (for ``after=``); None on the last page.
    next_after: str | None
    filters: QueueFilters = field(default_factory=QueueFilters)


_CURSOR_TIME = "%Y%m%dT%H%M%S.%fZ"


def _encode_cursor(opinion: Opinion, order: str) -> str:
    moment = opinion.created_at.astimezone(timezone.utc).strftime(_CURSOR_TIME)
    if order == "urgent":
        due = opinion.close_due_on.isoformat() if opinion.close_due_on else "-"
        return f"{due}~{moment}~{opinion.uuid}"
    return f"{moment}~{opinion.uuid}"


def _decode_cursor(after: str | None, order: str):
    """(due, created_at, uuid) for "urgent", (created_at, uuid) for "newest"; None if unreadable."""
    if not after or len(after) > 120:
        return None
    parts = after.split("~")
    try:
        if order == "urgent":
            if len(parts) != 3:
                return None
            due = None if parts[0] == "-" else date.fromisoformat(parts[0])
            return due, datetime.strptime(parts[1], _CURSOR_TIME).replace(tzinfo=timezone.utc), parts[2]
        if len(parts) != 2:
            return None
        return datetime.strptime(parts[0], _CURSOR_TIME).replace(tzinfo=timezone.utc), parts[1]
    except ValueError:
        return None


def _created_before(moment: datetime, uuid: str, later: bool = False):
    """(created_at, uuid) < (moment, uuid), or > with ``later``: a row comparison the index walks.

    Both databases store every time in one spelling (the sync store writes
    SQLite times as the ORM does), so the comparison holds on a whole second too.
    """
    row = tuple_(Opinion.created_at, Opinion.uuid)
    return row > (moment, uuid) if later else row < (moment, uuid)


def _after_condition(cursor, order: str):
    if order == "urgent":
        due, moment, uuid = cursor
        if due is None:
            return and_(Opinion.close_due_on.is_(None), _created_before(moment, uuid, later=True))
        return or_(
            Opinion.close_due_on > due,
            and_(Opinion.close_due_on == due, _created_before(moment, uuid, later=True)),
            Opinion.close_due_on.is_(None),
        )
    moment, uuid = cursor
    return _created_before(moment, uuid)


# What a queue row shows; the rest of an opinion is read when it is opened.
_ROW_COLUMNS = (
    Opinion.uuid,
    Opinion.receipt_number,
    Opinion.station_code,
    Opinion.category_code,
    Opinion.content,
    Opinion.created_at,
    Opinion.status,
    Opinion.key_supervision,
    Opinion.accept_due_on,
    Opinion.close_due_on,
    Opinion.township_id,
)


def page(user: User, filters: QueueFilters, after: str | None = None, size: int = PAGE_SIZE) -> QueuePage:
    """One page of the queue after the cursor ``after`` (None: the first page).

    In the "urgent" order finished opinions are left out unless their
    status is asked for: nothing about them is urgent.
    """
    query = filtered(user, filters)
    if filters.order == "urgent" and filters.status not in FINISHED_STATUSES:
        query = _status_condition(query, filters.status if filters.status not in (None, ALL) else "open")
        order_by = (Opinion.close_due_on.asc().nulls_last(), Opinion.created_at.asc(), Opinion.uuid.asc())
    else:
        order_by = (Opinion.created_at.desc(), Opinion.uuid.desc())
    cursor = _decode_cursor(after, filters.order)
    if cursor is not None:
        query = query.where(_after_condition(cursor, filters.order))
    query = query.options(
        load_only(*_ROW_COLUMNS),
        joinedload(Opinion.station).load_only(Station.name),
        joinedload(Opinion.category).load_only(Category.name),
    )
    rows = list(db.session.scalars(query.order_by(*order_by).limit(size + 1)))
    next_after = _encode_cursor(rows[size - 1], filters.order) if len(rows) > size else None
    return QueuePage(rows[:size], next_after, filters)


def status_counts(user: User, filters: QueueFilters) -> dict[str, int]:
    """How many opinions each status tab holds under ``filters`` (its own status aside).

    Keys: every status value, "all" and "open"; a status with none is 0.
    """
    query = filtered(user, replace(filters, status=None))
    grouped = query.with_only_columns(Opinion.status, func.count()).group_by(Opinion.status).order_by(None)
    counts = {s.value: 0 for s in OpinionStatus}
    counts.update({status: n for status, n in db.session.execute(grouped)})
    counts["all"] = sum(counts[s.value] for s in OpinionStatus)
    counts["open"] = sum(counts[s] for s in OPEN_STATUSES)
    return counts


def overdue_uuids(rows: list[Opinion], today: date) -> set[str]:
    """Which of a page's opinions are overdue: one query (the same condition as the filter)."""
    uuids = [row.uuid for row in rows]
    if not uuids:
        return set()
    query = select(Opinion.uuid).where(Opinion.uuid.in_(uuids), services.overdue_condition(today))
    return set(db.session.scalars(query))


def overdue_count(user: User, filters: QueueFilters, today: date | None = None) -> int:
    """Overdue opinions under ``filters``: the figure the clerk looks at first."""
    query = filtered(user, replace(filters, status=None, overdue=True), today)
    return db.session.scalar(query.with_only_columns(func.count()).order_by(None)) or 0


def extension_count(user: User, filters: QueueFilters) -> int:
    """Opinions under ``filters`` whose 延期 request awaits a decision (a chair's tab)."""
    query = filtered(user, replace(filters, status=None, extension_requested=True))
    return db.session.scalar(query.with_only_columns(func.count()).order_by(None)) or 0


def opinions_by_uuid(user: User, uuids: list[str]) -> list[Opinion]:
    """The opinions among ``uuids`` that ``user`` may see, in the order given."""
    wanted = [u for u in dict.fromkeys(uuids) if isinstance(u, str) and 0 < len(u) <= 36][:PAGE_SIZE * 4]
    if not wanted:
        return []
    found = {o.uuid: o for o in db.session.scalars(opinions_for(user).where(Opinion.uuid.in_(wanted)))}
    if missing := [u for u in wanted if u not in found]:
        # Another township's opinions are skipped like unknown ones, and noted.
        record_denied(user, db.session.scalars(select(Opinion).where(Opinion.uuid.in_(missing))).all())
    return [found[u] for u in wanted if u in found]


# --- bulk actions ----------------------------------------------------------------------------


@dataclass
class BulkDone:
    uuid: str
    receipt_number: str
    # The assignment a bulk 转办 made (for its slip); None for 受理.
    assignment_id: int | None = None


@dataclass
class BulkResult:
    done: int
    # (receipt number or "", why it was skipped), in the order ticked.
    skipped: list[tuple[str, str]]
    # What was done, in the order ticked.
    items: list[BulkDone] = field(default_factory=list)

    @property
    def assignment_ids(self) -> list[int]:
        return [item.assignment_id for item in self.items if item.assignment_id is not None]


def apply_bulk(user: User, uuids: list[str], action, not_found: str = "找不到这条意见，或无权处理。") -> BulkResult:
    """Apply ``action(opinion)`` to each ticked opinion ``user`` may see.

    Each opinion is its own transaction (the services commit), so one that
    is refused (its status moved on, say) leaves the others done; the
    refusals come back with their Chinese reasons.
    """
    opinions = opinions_by_uuid(user, uuids)
    skipped = [("", not_found)] * (len(set(uuids)) - len(opinions))
    items = []
    for opinion in opinions:
        try:
            made = action(opinion)
        except services.ActionRefused as refused:
            skipped.append((opinion.receipt_number, refused.message))
        else:
            assignment_id = made.id if isinstance(made, Assignment) else None
            items.append(BulkDone(opinion.uuid, opinion.receipt_number, assignment_id))
    log.info("bulk by %s: %d done, %d skipped", user.username, len(items), len(skipped))
    return BulkResult(len(items), skipped, items)


# --- finding a lost receipt ------------------------------------------------------------------

FIND_LIMIT = 50


def find_receipts(
    user: User, station_code: str | None, day: date | None, category: str | None, phone_digits: str | None
) -> list[Opinion]:
    """Opinions matching what a person remembers of a lost receipt, newest first.

    The phone number matches on its digits anywhere in the number held (so
    the last four or more digits are enough; it is held only when given
    with consent); the date is the local submission date.
    """
    filters = QueueFilters(station_code=station_code or None, category=category or None, date_from=day, date_to=day)
    query = filtered(user, filters)
    if phone_digits:
        query = query.where(Opinion.contact_phone.contains(phone_digits, autoescape=True))
    query = query.options(joinedload(Opinion.station), joinedload(Opinion.category))
    return list(db.session.scalars(query.order_by(Opinion.created_at.desc(), Opinion.uuid.desc()).limit(FIND_LIMIT)))


def record_find(
    user: User, station_code: str | None, day: date | None, category: str | None, phone_digits: str | None, found: int
) -> None:
    """The audit row of a 找回执 search: what was asked (the phone number masked) and how many were found."""
    asked = {
        "station": station_code or None,
        "day": day.isoformat() if day else None,
        "category": category or None,
        "phone": mask_phone(phone_digits) or None,
        "found": found,
    }
    audit.record("find", actor=user, after=asked, note="找回执查询")
    db.session.commit()
    log.info("find by %s: phone %s, %d found", user.username, asked["phone"] or "-", found)


# --- the opinion page: its history -----------------------------------------------------------

AUDIT_LABELS = {
    "accept": "受理",
    "forward": "转办",
    "return_assignment": "回退",
    "withdraw_assignment": "撤回转办",
    "request_extension": "申请延期",
    "decide_extension": "审批延期",
    "remind": "催办",
    "record_reply": "登记部门答复",
    "close": "办结",
    "decline": "不予受理",
    "merge": "合并",
    "set_key_supervision": "重点督办",
    "attach_topic": "归入专题",
    "replace_receipt": "补打回执",
    "record_rating": "满意度测评",
    "denied": "越权查看（已拒绝）",
    "slip": "打印",
    "find": "找回执查询",
}
FIELD_LABELS = {
    "status": "状态",
    "department_id": "承办部门",
    "due_on": "答复期限",
    "accepted_at": "受理时间",
    "closed_at": "办结时间",
    "public_reply": "公开答复",
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


def _shown(value, names: dict | None = None) -> str:
    if names and value in names:
        return names[value]
    if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
        try:  # a moment, stored in UTC: shown in local time
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            pass
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
            (FIELD_LABELS.get(name, name), _shown(before.get(name), names.get(name)),
             _shown(after.get(name), names.get(name)))  # fmt: skip
            for name in dict.fromkeys([*before, *after])
            if name not in HIDDEN_FIELDS and before.get(name) != after.get(name)
        ]
        who = people.get(row.user_id) or row.username
        entries.append(HistoryEntry(row.at, "audit", AUDIT_LABELS.get(row.action, row.action), who, row.note, changes))
    # Stable: an action's public step comes before its audit row.
    return sorted(entries, key=lambda e: e.at)
