"""Drafts, submission and receipt numbers.

A draft lives on the server only; the browser holds nothing but its id in
the session cookie. Submitting turns the draft into an opinion in one
transaction: the receipt counter moves, the opinion and its first status
event are written and the draft is deleted together, or not at all. The
draft's id becomes the opinion's UUID, which makes submission idempotent: a
second tap, or a retry after a crash, finds the opinion the first made.
"""

import json
import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g, has_request_context
from sqlalchemy.orm import joinedload
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import to_local
from .. import voice
from ..crash import crash_point
from ..extensions import db
from ..models import (
    AssistedEntry,
    BoxIdentity,
    Category,
    Channel,
    Deputy,
    Draft,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    PrintJob,
    ReceiptCounter,
    Station,
    VoiceMessage,
    utcnow,
)
from ..receipts import printing
from ..receipts.numbers import format_receipt_number, make_secret

log = logging.getLogger(__name__)

CONTENT_MIN = 5


class DraftMissing(Exception):
    """The draft is gone (wiped by the idle timer, or never existed)."""


class TooManySubmissions(Exception):
    """The station took its ``SUBMIT_PER_MINUTE`` already; nothing was saved."""


class CatchingUp(Exception):
    """Restored from a backup: no submit until a sync has caught up with the hub."""


class DraftIncomplete(Exception):
    """The draft lacks an answer that submission needs."""

    def __init__(self, step: str):
        super().__init__(step)
        self.step = step


def this_station() -> Station:
    """The station this box is, as set by ``demo load`` or enrolment.

    Read once per request: a kiosk screen asks several times, and which
    station the box is does not change while one request is served.
    """
    if has_request_context() and "this_station" in g:
        return g.this_station
    row = db.session.execute(
        # The restore mark comes along: the submit that reads the station needs it too.
        select(Station, BoxIdentity.restored_at)
        .join(BoxIdentity, BoxIdentity.station_code == Station.code)
        .where(BoxIdentity.id == 1)
        # The screens name the township's office (镇人大办 / 街道人大工委).
        .options(joinedload(Station.township))
    ).first()
    if row is None:
        raise RuntimeError("this box is not set up as a station yet (run: flask --app wsgi demo load)")
    station, restored_at = row
    if has_request_context():
        g.this_station, g.restored_at = station, restored_at
    return station


def catching_up() -> bool:
    """Whether this box was restored from a backup and has not caught up with the hub yet.

    Receipts it issued after the backup was taken are known to the hub
    alone: until a sync has raised the counters past the hub's numbers
    (``raise_counters``), a new receipt could repeat one.
    """
    if has_request_context() and "restored_at" in g:
        return g.restored_at is not None
    return db.session.scalar(select(BoxIdentity.restored_at).where(BoxIdentity.id == 1)) is not None


# --- drafts -----------------------------------------------------------------


# A kiosk has one screen: a draft untouched this long was left by a power cut
# or a crashed browser, and its contact details must not stay behind.
STALE_DRAFT_AGE = timedelta(hours=1)


def start_draft(station_code: str) -> Draft:
    """A new empty draft; drafts abandoned long ago are wiped on the way."""
    purge_stale_drafts(STALE_DRAFT_AGE)
    draft = Draft(id=str(uuid.uuid4()), station_code=station_code, data="{}")
    db.session.add(draft)
    db.session.commit()
    return draft


def get_draft(draft_id: str | None) -> Draft:
    draft = db.session.get(Draft, draft_id) if draft_id else None
    if draft is None:
        raise DraftMissing(draft_id)
    return draft


def draft_answers(draft: Draft) -> dict:
    return json.loads(draft.data)


def save_answers(draft: Draft, **answers) -> dict:
    """Merge answers into the draft; ``None`` removes an answer."""
    data = draft_answers(draft)
    for key, value in answers.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    draft.data = json.dumps(data, ensure_ascii=False)
    draft.touched_at = utcnow()
    db.session.commit()
    return data


def keep_typed(draft: Draft, step: str, typed: dict) -> dict:
    """Keep what a step holds as typed, unchecked, when the person leaves it by 上一步.

    Kept apart from the step's answer (``typed_<step>``): only 下一步 checks
    and saves an answer, and a submission never reads what is kept here.
    The step shows it again next time; saving the answer drops it.
    """
    return save_answers(draft, **{f"typed_{step}": typed})


def keep_voice(draft: Draft, recording: "voice.Recording") -> dict:
    """Keep a checked recording with the draft, and note its length among the answers.

    The text then becomes optional (the minimum length holds only without a recording)."""
    voice.keep(draft.id, recording)
    return save_answers(draft, voice=recording.duration_ms)


def drop_voice(draft: Draft) -> dict:
    """重录: the draft's recording goes; the text is needed again."""
    voice.drop(draft.id, commit=False)
    return save_answers(draft, voice=None)


def typed_or_answers(answers: dict, step: str, **saved) -> dict:
    """What a step shows again: what was typed when it was left, else its saved answers."""
    return answers.get(f"typed_{step}") or saved


def discard_draft(draft_id: str | None) -> None:
    """Wipe a draft (start over, idle timeout). Missing is fine."""
    if draft_id:
        # ORM-enabled: a draft this session holds goes from it too.
        wiped = db.session.execute(db.delete(Draft).where(Draft.id == draft_id)).rowcount
        if wiped:
            # Its recording too; a submitted opinion's (no draft left) stays.
            voice.drop(draft_id, commit=False)
        db.session.commit()


def purge_stale_drafts(max_age: timedelta) -> int:
    """Delete drafts untouched for ``max_age`` (a browser that vanished)."""
    stale = Draft.touched_at < utcnow() - max_age
    db.session.execute(delete(VoiceMessage).where(VoiceMessage.opinion_uuid.in_(select(Draft.id).where(stale))))
    result = db.session.execute(db.delete(Draft).where(stale))
    db.session.commit()
    return result.rowcount


# --- submission -------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    opinion: Opinion
    # False when this request found an opinion an earlier one had made.
    created: bool
    # The receipt's first print job, saved with the opinion and not started
    # yet (only when asked for, and only when this request made the opinion).
    print_job: PrintJob | None = None
    # 附语音留言（N 秒）: the recording's length when one was kept, in milliseconds.
    voice_ms: int | None = None


def submit_draft(
    draft_id: str | None,
    now: datetime | None = None,
    *,
    per_minute: int | None = None,
    with_print_job: bool = False,
) -> Submitted:
    """Turn the draft into an opinion, exactly once.

    Idempotent on the draft id: when the opinion already exists (double tap,
    retry after a crash or a lost response) it is returned as it is, and
    neither the rate limit nor the draft's answers are looked at again.
    ``per_minute`` refuses a new opinion (``TooManySubmissions``) when the
    station already took that many in the last minute, inside the saving
    transaction. ``with_print_job`` writes the receipt's first print job
    in the same transaction, so that saving costs one commit; nothing
    prints until the caller starts the job after the commit (save first,
    print second). After the commit the objects keep what was written: the
    receipt screen needs no second read of what this transaction wrote.
    """
    draft = db.session.get(Draft, draft_id) if draft_id else None
    if draft is None:
        # The draft is deleted in the transaction that saves its opinion:
        # without a draft, the opinion exists already or the draft was wiped.
        if draft_id and (existing := db.session.get(Opinion, draft_id)) is not None:
            return _found(existing)
        raise DraftMissing(draft_id)
    if catching_up():
        raise CatchingUp()
    now = now or utcnow()
    station_code = draft.station_code
    if per_minute is not None and submissions_in_last_minute(station_code, now) >= per_minute:
        raise TooManySubmissions(station_code)
    answers = draft_answers(draft)
    category = _check_complete(answers)
    job = None
    try:
        opinion = Opinion(
            uuid=draft.id,
            receipt_number=next_receipt_number(station_code, now),
            secret=make_secret(),
            station_code=station_code,
            # The object, not only its code: the receipt screen shows its answer days.
            category=category,
            # Spoken only (说话留言): the recording kept with the draft is the opinion.
            content=answers.get("content") or "",
            deputy_id=answers.get("deputy_id"),
            channel=Channel.ASSISTED if answers.get("assisted_by") else Channel.KIOSK,
            consent_version=answers.get("consent_version"),
            contact_name=answers.get("name"),
            contact_phone=answers.get("phone"),
            created_at=now,
            status=OpinionStatus.SUBMITTED,
        )
        db.session.add(opinion)
        db.session.add(OpinionEvent(opinion_uuid=opinion.uuid, status=OpinionStatus.SUBMITTED, at=now))
        if with_print_job:
            job = _add_print_job(opinion)
        # The opinion's row before the draft's removal: a second request for
        # the same draft then stops at the primary key (handled below).
        db.session.flush()
        if answers.get("assisted_by"):
            # 代为录入: typed by the deputy on duty whose check-in this is; after
            # the opinion's row, which it names.
            db.session.add(AssistedEntry(checkin_uuid=answers["assisted_by"], opinion_uuid=opinion.uuid, created_at=now))
        _remove_draft(draft)
        crash_point("before_commit")
        with objects_kept_after_commit():
            db.session.commit()
    except IntegrityError:
        _forget_print_job(job)
        # Another request for the same draft won the race; use its opinion.
        db.session.rollback()
        existing = db.session.get(Opinion, draft_id)
        if existing is None:
            raise
        return _found(existing)
    except BaseException:
        _forget_print_job(job)
        raise
    crash_point("after_commit")
    log.info("opinion %s saved as %s", opinion.uuid, opinion.receipt_number)
    return Submitted(opinion, created=True, print_job=job, voice_ms=answers.get("voice"))


def _found(existing: Opinion) -> Submitted:
    """An opinion an earlier request made from the same draft."""
    kept = voice.of(existing.uuid)
    return Submitted(existing, created=False, voice_ms=kept.duration_ms if kept else None)


def _remove_draft(draft: Draft) -> None:
    """Delete the submitted draft in this transaction, with one statement.

    Not through the session's unit of work: a second flush at commit
    would cost more than the statement itself. On the session's
    connection, so no autoflush: the opinion was flushed just before.
    """
    drafts = Draft.__table__
    db.session.connection().execute(delete(drafts).where(drafts.c.id == draft.id))
    db.session.expunge(draft)


def _add_print_job(opinion: Opinion) -> PrintJob:
    return printing.add_job(opinion)


def _forget_print_job(job: PrintJob | None) -> None:
    if job is not None:
        printing.forget_job(job)


@contextmanager
def objects_kept_after_commit():
    """Commit without expiring the session's objects.

    They hold exactly what the transaction wrote or read, so reading them
    back (a new transaction, on SQLite one that waits for the write lock)
    would only repeat it.
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = expire


def missing_step(answers: dict) -> str | None:
    """The first step whose answer submission still lacks, or None."""
    try:
        _check_complete(answers)
    except DraftIncomplete as error:
        return error.step
    return None


def active_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.active).order_by(Category.position)))


def _check_complete(answers: dict) -> Category:
    """The chosen category, once every answer submission needs is there."""
    category = db.session.get(Category, answers["category"]) if answers.get("category") else None
    if category is None:
        raise DraftIncomplete("category")
    if not answers.get("content") and not answers.get("voice"):
        raise DraftIncomplete("content")
    if "anonymous" not in answers:
        raise DraftIncomplete("contact")
    if answers.get("deputy_id") is not None and db.session.get(Deputy, answers["deputy_id"]) is None:
        raise DraftIncomplete("deputy")
    return category


def next_receipt_number(station_code: str, now: datetime) -> str:
    """``<STATION>-<YYMMDD>-<NNNN>``, the counter moved in this transaction.

    A station numbers its kiosk's opinions so; a hub its township's phone
    opinions, under the township's online station (``kiosk.phone``).
    """
    day = to_local(now).strftime("%y%m%d")
    # Core statements on the session's connection: the ORM's bulk-update
    # machinery would only add work to a one-row counter. (No autoflush
    # there: nothing is pending yet when the number is taken.)
    counters = ReceiptCounter.__table__
    connection = db.session.connection()
    serial = connection.scalar(
        update(counters)
        .where(counters.c.station_code == station_code, counters.c.day == day)
        .values(last_serial=counters.c.last_serial + 1)
        .returning(counters.c.last_serial)
    )
    if serial is None:
        # The day's first receipt (a unique constraint keeps it the only one).
        serial = 1
        connection.execute(insert(counters).values(station_code=station_code, day=day, last_serial=serial))
    crash_point("after_counter")
    return format_receipt_number(station_code, day, serial)


def raise_counters(station_code: str, serials: dict[str, int]) -> None:
    """Make each day's counter at least ``serials[day]`` (YYMMDD: highest serial issued); never lower one.

    In the caller's transaction. After a restore the hub's numbers are the
    only record of receipts issued since the backup was taken.
    """
    counters = ReceiptCounter.__table__
    connection = db.session.connection()
    known = dict(
        connection.execute(
            select(counters.c.day, counters.c.last_serial).where(
                counters.c.station_code == station_code, counters.c.day.in_(list(serials))
            )
        ).all()
    )
    for day, serial in serials.items():
        if day not in known:
            connection.execute(insert(counters).values(station_code=station_code, day=day, last_serial=serial))
        elif known[day] < serial:
            connection.execute(
                update(counters)
                .where(counters.c.station_code == station_code, counters.c.day == day)
                .values(last_serial=serial)
            )


def submissions_in_last_minute(station_code: str, now: datetime | None = None) -> int:
    """Opinions this station took in the minute up to ``now``.

    The minute picks the rows, not the station: counted per station over
    the index on ``created_at``, the check costs the same on a box with
    years of opinions as on a new one (by station, it would walk them all).
    """
    now = now or utcnow()
    per_station = db.session.connection().execute(
        select(Opinion.station_code, func.count())
        .where(
            Opinion.created_at > now - timedelta(minutes=1),
            # After the clock jumps back, opinions "from the future" must not
            # hold the kiosk on the wait screen until the clock catches up.
            Opinion.created_at <= now,
        )
        .group_by(Opinion.station_code)
    )
    return dict(per_station.all()).get(station_code, 0)
