"""What a deputy does at their desk: read and answer what is addressed to them,
hand it to the office, submit 一键通 suggestions and rate their answers, keep the diary.

Every function takes the signed-in deputy's account first and starts from
their deputy, never from a township: a deputy sees the opinions addressed
to them (``Opinion.deputy_id``) and their own suggestions and diary, and
nothing else. Asking for anything else is a 404 with a "denied" audit row,
as for staff. Every write is one audit row, one log line, one commit.

A direct answer (代表答复) is a public step of its own kind: it shows on the
status page and at the kiosk (it travels in the pull like any step) and it
never changes the opinion's status; the township office still accepts,
forwards and closes.
"""

import logging
import uuid as uuid_module
from dataclasses import dataclass
from datetime import date, datetime, timezone

from flask import abort, g
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, load_only

from .. import audit
from ..clock import to_local, today
from ..extensions import db
from ..models import (
    DEPUTY_ANSWER,
    FINISHED_STATUSES,
    Category,
    Channel,
    Deputy,
    DeskNote,
    DiaryEntry,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Station,
    StationLevel,
    SuggestionAttachment,
    User,
    utcnow,
)
from ..ratings import GivenRating, awaiting_rating
from ..receipts.numbers import make_secret
from ..refusals import Refused
from ..staff import services as casework
from ..text import personal_data_in
from ..workdays import add_working_days
from . import attachments

log = logging.getLogger(__name__)

TEXT_MAX = 2000
NOTE_MAX = 500
TITLE_MAX = 60
DIARY_MAX = 500
PAGE_SIZE = 30
# Epoch for "new since the last visit" on a first visit: everything is new.
NEVER = datetime(2000, 1, 1, tzinfo=timezone.utc)


class DeskRefused(Refused):
    """Something a deputy asked for that is not done; ``message`` says why (Chinese)."""


def _deputy_id(user: User) -> int:
    if user is None or not user.active or user.deputy_id is None:
        raise DeskRefused("账号不可用，请重新登录。")
    return user.deputy_id


def _denied(user: User, opinion: Opinion | None = None, subject: str | None = None):
    if opinion is not None or subject is not None:
        audit.record("denied", actor=user, opinion=opinion, subject=subject, note="desk")
        db.session.commit()
    abort(404)


# --- opinions addressed to the deputy ------------------------------------------------


def addressed_to(user: User):
    """``select(Opinion)`` of the opinions addressed to ``user``'s deputy."""
    return select(Opinion).where(Opinion.deputy_id == _deputy_id(user))


@dataclass
class DeskPage:
    rows: list[Opinion]
    counts: dict[str, int]
    new_uuids: set[str]
    overdue_uuids: set[str]
    next_after: str | None
    tab: str


TABS = {"open": "办理中", "all": "全部"}


def desk_page(user: User, tab: str = "open", after: str | None = None, size: int = PAGE_SIZE) -> DeskPage:
    """One page of what is addressed to the deputy, newest first (keyset on created_at, uuid).

    Two statements: the counts (with the badge's, kept for the request),
    and the page's rows with their overdue flag.
    """
    tab = tab if tab in TABS else "open"
    deputy_id = _deputy_id(user)
    finished = [s.value for s in FINISHED_STATUSES]
    counts = {"open": 0, "all": 0}
    new_total = 0
    is_suggestion = Opinion.suggesting_deputy_id == deputy_id
    grouped = db.session.execute(
        select(Opinion.status, is_suggestion, func.count(), func.count().filter(_changed_since(user)))
        .where(or_(Opinion.deputy_id == deputy_id, is_suggestion))
        .group_by(Opinion.status, is_suggestion)
    ).all()
    for status, suggestion, n, changed in grouped:
        new_total += changed
        if not suggestion:
            counts["all"] += n
            counts["open"] += n if status not in finished else 0
    g.desk_new = new_total
    query = addressed_to(user).add_columns(casework.overdue_condition(today()).label("late"))
    if tab == "open":
        query = query.where(Opinion.status.not_in(finished))
    cursor = _cursor(after)
    if cursor is not None:
        moment, uuid = cursor
        query = query.where(
            or_(Opinion.created_at < moment, (Opinion.created_at == moment) & (Opinion.uuid < uuid))
        )
    query = query.options(
        load_only(
            Opinion.uuid, Opinion.receipt_number, Opinion.created_at, Opinion.status, Opinion.content,
            Opinion.close_due_on, Opinion.accept_due_on, Opinion.updated_at, Opinion.hub_received_at,
            Opinion.category_code, Opinion.station_code,
        ),
        joinedload(Opinion.category).load_only(Category.name),
        joinedload(Opinion.station).load_only(Station.name),
    )  # fmt: skip
    found = db.session.execute(query.order_by(Opinion.created_at.desc(), Opinion.uuid.desc()).limit(size + 1)).all()
    rows = [opinion for opinion, _late in found]
    next_after = f"{rows[size - 1].created_at.isoformat()}|{rows[size - 1].uuid}" if len(rows) > size else None
    rows = rows[:size]
    seen = user.desk_seen_at or NEVER
    new = {o.uuid for o in rows if _changed_at(o) > seen}
    late = {opinion.uuid for opinion, is_late in found[:size] if is_late}
    return DeskPage(rows, counts, new, late, next_after, tab)


def _cursor(after: str | None):
    if not after or "|" not in after or len(after) > 80:
        return None
    moment, _, uuid = after.partition("|")
    try:
        return datetime.fromisoformat(moment), uuid
    except ValueError:
        return None


def _changed_at(opinion: Opinion) -> datetime:
    return max(t for t in (opinion.updated_at, opinion.hub_received_at, opinion.created_at, NEVER) if t is not None)


def new_count(user: User) -> int:
    """The badge: opinions addressed to the deputy and their own suggestions that arrived or
    changed since the last visit to the desk (counted once per request)."""
    if "desk_new" not in g:
        g.desk_new = _new_count(user)
    return g.desk_new


def _new_count(user: User) -> int:
    deputy_id = _deputy_id(user)
    return db.session.scalar(
        select(func.count()).select_from(Opinion).where(
            or_(Opinion.deputy_id == deputy_id, Opinion.suggesting_deputy_id == deputy_id), _changed_since(user)
        )
    )


def _changed_since(user: User):
    seen = user.desk_seen_at or NEVER
    return or_(Opinion.hub_received_at > seen, Opinion.updated_at > seen)


def mark_visited(user: User) -> None:
    """The desk was looked at now: the badge counts from here.

    With nothing new since the last visit there is nothing to move past, and
    nothing is written: a reload of the desk costs no write.
    """
    if user.desk_seen_at is None or new_count(user):
        user.desk_seen_at = utcnow()
        db.session.commit()


def opinion_for(user: User, uuid: str) -> Opinion:
    """An opinion addressed to ``user``'s deputy; anything else is a 404 (with an audit row if it exists).

    For a POST the row stays locked until the write commits, as for staff.
    """
    deputy_id = _deputy_id(user)
    opinion = db.session.get(Opinion, uuid) if isinstance(uuid, str) and len(uuid) <= 36 else None
    if opinion is None:
        abort(404)
    if opinion.deputy_id != deputy_id:
        _denied(user, opinion)
    return opinion


def notes_of(opinion: Opinion) -> list[DeskNote]:
    return list(
        db.session.scalars(
            select(DeskNote).where(DeskNote.opinion_uuid == opinion.uuid).order_by(DeskNote.created_at, DeskNote.id)
        )
    )


def noted_uuids(uuids: list[str]) -> set[str]:
    """Which of these opinions a deputy asked the office to take up (the queue's mark)."""
    if not uuids:
        return set()
    return set(db.session.scalars(select(DeskNote.opinion_uuid).where(DeskNote.opinion_uuid.in_(uuids)).distinct()))


def _text(text: str | None, limit: int, missing: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DeskRefused(missing)
    if len(text) > limit:
        raise DeskRefused(f"{what}不能超过{limit}字。")
    return text


def answer(user: User, opinion: Opinion, text: str) -> OpinionEvent:
    """代表答复: the deputy answers the constituent in public; the status stays as it is.

    Refused for a merged duplicate (its page shows the original's progress)
    and for text holding a phone or ID-card number or the constituent's own
    name or phone: it goes on the internet.
    """
    deputy_id = _deputy_id(user)
    if opinion.deputy_id != deputy_id:
        raise DeskRefused("只能答复写给您的意见。")
    if opinion.status == OpinionStatus.MERGED:
        raise DeskRefused("这条意见已与同类意见合并办理，不能再答复。")
    text = _text(text, TEXT_MAX, "请填写答复内容。", "答复")
    found = personal_data_in(text, names=[v for v in (opinion.contact_name, opinion.contact_phone) if v])
    if found:
        raise DeskRefused(f"答复里有{found}。答复将在互联网上公开，请删去姓名、电话等个人信息后再提交。")
    moment = utcnow()
    deputy = db.session.get(Deputy, deputy_id)
    step = OpinionEvent(status=opinion.status, at=moment, note=f"{deputy.name}代表答复：{text}", kind=DEPUTY_ANSWER)
    opinion.events.append(step)
    audit.record("desk.answer", actor=user, opinion=opinion, subject=f"deputy:{deputy_id}", note=text)
    db.session.commit()
    log.info("deputy %s answered %s", deputy_id, opinion.receipt_number)
    return step


def ask_office(user: User, opinion: Opinion, text: str) -> DeskNote:
    """提请办理: a note to the township office, shown in its queue and on the opinion's page."""
    deputy_id = _deputy_id(user)
    if opinion.deputy_id != deputy_id:
        raise DeskRefused("只能就写给您的意见提请办理。")
    if opinion.is_finished:
        raise DeskRefused(f"意见已{opinion.status_label}，不需要再提请办理。")
    text = _text(text, NOTE_MAX, "请写明希望镇人大办怎样办理。", "说明")
    note = DeskNote(opinion_uuid=opinion.uuid, deputy_id=deputy_id, user_id=user.id, text=text, created_at=utcnow())
    db.session.add(note)
    audit.record("desk.note", actor=user, opinion=opinion, subject=f"deputy:{deputy_id}", note=text)
    db.session.commit()
    log.info("deputy %s asked the office to take up %s", deputy_id, opinion.receipt_number)
    return note


# --- 一键通 ---------------------------------------------------------------------------

SUGGESTION_PREFIX = "YJT"


def suggestion_number(township_id: int, day: str, serial: int) -> str:
    """``YJT-<township>-<YYMMDD>-<NNNN>``: three hyphens, so never a station's receipt number."""
    return f"{SUGGESTION_PREFIX}-{township_id:02d}-{day}-{serial:04d}"


def _station_for(deputy: Deputy) -> Station:
    """The station a suggestion is filed under: the township's central station, else any of its own
    (never its online one: the phones' figures are that station's)."""
    station = db.session.scalar(
        select(Station)
        .where(Station.township_id == deputy.township_id, Station.level != StationLevel.ONLINE)
        .order_by((Station.level != "center"), Station.code)
        .limit(1)
    )
    if station is None:
        raise DeskRefused("本镇街还没有登记联络站，暂时不能提交建议，请联系镇人大办。")
    return station


def submit_suggestion(
    user: User, category_code: str, title: str, content: str, attachment: tuple[str, bytes] | None = None
) -> Opinion:
    """一键通: the deputy's own suggestion enters the township queue as an opinion they made.

    It follows the same lifecycle (受理, 转办, 办结…), with due dates from its
    category as a constituent's opinion has; the deputy rates the answer. The
    attachment, if any, must decode (``attachments.check``). Nothing is
    written when anything is refused.
    """
    deputy_id = _deputy_id(user)
    deputy = db.session.get(Deputy, deputy_id)
    category = db.session.get(Category, category_code) if isinstance(category_code, str) else None
    if category is None or not category.active:
        raise DeskRefused("请选择类别。", "category")
    title = _text(title, TITLE_MAX, "请填写标题。", "标题")
    content = _text(content, TEXT_MAX, "请填写建议内容。", "内容")
    checked = attachments.check(*attachment) if attachment is not None else None
    station = _station_for(deputy)
    moment = utcnow()
    start = today()
    day = f"{to_local(moment):%y%m%d}"
    prefix = f"{SUGGESTION_PREFIX}-{deputy.township_id:02d}-{day}-"
    for _ in range(5):
        taken = db.session.scalar(
            select(func.count()).select_from(Opinion).where(Opinion.receipt_number.startswith(prefix, autoescape=True))
        )
        opinion = Opinion(
            uuid=str(uuid_module.uuid4()),
            receipt_number=suggestion_number(deputy.township_id, day, taken + 1),
            secret=make_secret(),
            station_code=station.code,
            category_code=category.code,
            title=title,
            content=content,
            suggesting_deputy_id=deputy_id,
            channel=Channel.DESK,
            created_at=moment,
            hub_received_at=moment,
            status=OpinionStatus.RECEIVED.value,
            township_id=deputy.township_id,
            accept_due_on=add_working_days(start, category.accept_days),
            close_due_on=add_working_days(start, category.answer_days),
        )
        opinion.events.append(OpinionEvent(status=OpinionStatus.RECEIVED.value, at=moment, note=f"{deputy.name}代表通过一键通提交。"))
        db.session.add(opinion)
        try:
            # The attachment's row points at the opinion's: the opinion goes first.
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            continue
        if checked is not None:
            db.session.add(
                SuggestionAttachment(
                    opinion_uuid=opinion.uuid, filename=checked.filename, media_type=checked.media_type,
                    size=len(checked.data), data=checked.data, created_at=moment,
                )
            )  # fmt: skip
        audit.record("desk.suggestion", actor=user, opinion=opinion, subject=f"deputy:{deputy_id}", note=title)
        try:
            db.session.commit()
        except IntegrityError:
            # Two suggestions of the township took the same number at once: count again.
            db.session.rollback()
            continue
        log.info("deputy %s submitted suggestion %s", deputy_id, opinion.receipt_number)
        return opinion
    raise DeskRefused("提交的人太多，请稍后再试。")


def suggestions_of(user: User) -> list[Opinion]:
    deputy_id = _deputy_id(user)
    return list(
        db.session.scalars(
            select(Opinion)
            .where(Opinion.suggesting_deputy_id == deputy_id)
            .options(joinedload(Opinion.category))
            .order_by(Opinion.created_at.desc(), Opinion.uuid.desc())
        )
    )


def suggestion_for(user: User, uuid: str) -> Opinion:
    """One of ``user``'s own suggestions; anything else is a 404 (with an audit row if it exists)."""
    deputy_id = _deputy_id(user)
    opinion = db.session.get(Opinion, uuid) if isinstance(uuid, str) and len(uuid) <= 36 else None
    if opinion is None:
        abort(404)
    if opinion.suggesting_deputy_id != deputy_id:
        _denied(user, opinion)
    return opinion


def attachment_of(opinion: Opinion) -> SuggestionAttachment | None:
    return db.session.get(SuggestionAttachment, opinion.uuid)


def may_rate(opinion: Opinion) -> bool:
    return opinion.status == OpinionStatus.CLOSED and awaiting_rating(opinion)


def rate(user: User, opinion: Opinion, value: str, comment: str | None = None) -> None:
    """满意度测评 of the answer to the deputy's own suggestion; 不满意 reopens it, as for constituents."""
    if opinion.suggesting_deputy_id != _deputy_id(user):
        raise DeskRefused("只能评价自己的建议。")
    if not may_rate(opinion):
        raise DeskRefused("建议办结后才能评价，每次办结评价一次。")
    try:
        casework.record_rating(opinion, GivenRating(value=value, comment=comment, source="deputy"), commit=False)
    except casework.ActionRefused as refused:
        db.session.rollback()
        raise DeskRefused(refused.message) from None
    db.session.commit()


# --- 履职日记 -------------------------------------------------------------------------


def diary_of(user: User) -> list[DiaryEntry]:
    return list(
        db.session.scalars(
            select(DiaryEntry)
            .where(DiaryEntry.deputy_id == _deputy_id(user))
            .order_by(DiaryEntry.day.desc(), DiaryEntry.id.desc())
        )
    )


def write_diary(user: User, day: date, text: str, publish: bool = False) -> DiaryEntry:
    """A dated entry, private unless ``publish``; not after today, not before the year before last."""
    deputy_id = _deputy_id(user)
    if not isinstance(day, date):
        raise DeskRefused("请填写日期。", "day")
    if day > today():
        raise DeskRefused("日期不能晚于今天。", "day")
    if day.year < today().year - 2:
        raise DeskRefused("日期太早了。", "day")
    text = _text(text, DIARY_MAX, "请写下做了什么。", "日记")
    moment = utcnow()
    entry = DiaryEntry(deputy_id=deputy_id, day=day, text=text, created_at=moment, published_at=moment if publish else None)
    db.session.add(entry)
    db.session.flush()
    audit.record("desk.diary", actor=user, subject=f"diary:{entry.id}", after={"published": bool(publish)})
    db.session.commit()
    return entry


def diary_entry_for(user: User, entry_id: int) -> DiaryEntry:
    entry = db.session.get(DiaryEntry, entry_id)
    if entry is None:
        abort(404)
    if entry.deputy_id != _deputy_id(user):
        _denied(user, subject=f"diary:{entry.id}")
    return entry


def publish_diary(user: User, entry: DiaryEntry, publish: bool) -> None:
    """Publish a private entry, or withdraw a published one (private again)."""
    if entry.deputy_id != _deputy_id(user):
        raise DeskRefused("只能管理自己的日记。")
    if entry.is_published == publish:
        raise DeskRefused("这篇日记已经公开。" if publish else "这篇日记没有公开。")
    moment = utcnow()
    entry.published_at = moment if publish else None
    if not publish:
        entry.withdrawn_at = moment
    audit.record("desk.diary_publish" if publish else "desk.diary_withdraw", actor=user, subject=f"diary:{entry.id}")
    db.session.commit()
