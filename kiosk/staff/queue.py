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

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Select, and_, exists, false, func, or_, select, tuple_
from sqlalchemy.orm import joinedload, load_only

from ..auth.scope import may_see_contacts, opinions_for
from ..clock import local_midnight_utc, today as local_today
from ..extensions import db
from ..models import (
    FINISHED_STATUSES,
    Assignment,
    AssignmentState,
    Category,
    Deputy,
    ExtensionState,
    Opinion,
    OpinionStatus,
    Station,
    User,
    VoiceMessage,
)
from ..parsing import bounded_int, parse_day
from ..receipts.numbers import STATION_CODE
from . import services

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
    deputy_id: int | None = None  # the deputy the constituent chose
    text: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    order: str = "newest"
    # The text came in a POST body: its phone-like words may match phone
    # numbers (for those who see contacts), and never go back into a URL.
    by_post: bool = False

    @classmethod
    def from_args(cls, args, by_post: bool = False) -> "QueueFilters":
        """Read the query string (or a POST body); a value that makes no sense is ignored, never an error."""
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
            station_code=station if STATION_CODE.fullmatch(station) else None,
            category=category if _CATEGORY_CODE.match(category) else None,
            status=status if status in STATUS_CHOICES or status == ALL else None,
            overdue=_flag(args.get("overdue")),
            extension_requested=_flag(args.get("extension")),
            key_supervision=_flag(args.get("key_supervision")),
            topic_id=bounded_int(args.get("topic")),
            deputy_id=bounded_int(args.get("deputy")),
            text=text or None,
            date_from=date_from,
            date_to=date_to,
            order=order if order in ORDERS else "newest",
            by_post=by_post,
        )

    def to_args(self, **changes) -> dict[str, str]:
        """The query string for these filters (only what is set), with ``changes`` applied."""
        names = {"township_id": "township", "station_code": "station", "topic_id": "topic", "deputy_id": "deputy",
                 "extension_requested": "extension"}  # fmt: skip
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "by_post"}
        if self.by_post:
            values["text"] = " ".join(word for word in self.words if not is_phone_word(word))
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

    @property
    def phone_digits(self) -> list[str]:
        """The digits of the words that may be part of a phone number (4 digits or more)."""
        return [re.sub(r"\D", "", word) for word in self.words if is_phone_word(word)]


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
    if filters.deputy_id is not None:
        query = query.where(Opinion.deputy_id == filters.deputy_id)
    if filters.extension_requested:
        query = query.where(Opinion.status.in_(OPEN_STATUSES), extension_requested_condition())
    for word in filters.words:
        query = query.where(_word_condition(word, user if filters.by_post else None))
    if filters.date_from:
        query = query.where(Opinion.created_at >= local_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(Opinion.created_at < local_midnight_utc(filters.date_to + timedelta(days=1)))
    return query


_PHONE_WORD = re.compile(r"^[\d+()-]+$")
# Fewest digits a phone number's part must have to be looked for.
PHONE_MIN_DIGITS = 4


def is_phone_word(word: str) -> bool:
    """Whether a search word may be part of a phone number: digits (4 or more), + ( ) - only."""
    return bool(_PHONE_WORD.match(word)) and len(re.sub(r"\D", "", word)) >= PHONE_MIN_DIGITS


def phone_condition(user: User, digits: str):
    """The phone number holds ``digits``; never true for those who may not see contacts.

    The same policy as the opinion page (``may_see_contacts``): whoever may
    not read a phone number may not rebuild it by searching either.
    """
    if not may_see_contacts(user):
        return false()
    return Opinion.contact_phone.contains(digits, autoescape=True)


def _word_condition(word: str, searcher: User | None = None):
    """One search word: in the content or a voice message's transcript, in the receipt number,
    or (4+ digits) in the phone number.

    The phone number is searched only for a ``searcher`` (a search sent by
    POST), under ``phone_condition``.

    Every word is a ``contains`` (LIKE '%…%'): no index narrows it, so the
    other filters (township, status) do the narrowing; text search is
    reported beside the queue's figures, not held to them.
    """
    conditions = [
        Opinion.content.contains(word, autoescape=True),
        Opinion.receipt_number.contains(word.upper(), autoescape=True),
        # A spoken opinion is found by what its transcript (转写) says.
        exists().where(VoiceMessage.opinion_uuid == Opinion.uuid, VoiceMessage.transcript.contains(word, autoescape=True)),
    ]
    if searcher is not None and is_phone_word(word):
        conditions.append(phone_condition(searcher, re.sub(r"\D", "", word)))
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
    Opinion.suggesting_deputy_id,
    Opinion.title,
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
    Opinion.deputy_id,
    Opinion.channel,
    Opinion.addressed_station_code,
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
        joinedload(Opinion.deputy).load_only(Deputy.name),
        joinedload(Opinion.suggesting_deputy).load_only(Deputy.name),
        joinedload(Opinion.addressed_station).load_only(Station.name),
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
