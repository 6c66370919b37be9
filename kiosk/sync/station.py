"""One sync of a station with its hub: a push, then a pull.

A push sends every unacknowledged record, in batches; a pull brings
everything changed since the cursor. The station acts on an answer only
after the client has checked the hub's signature over it, and applies each
answer in one transaction: marking records acknowledged, or moving the
cursor together with the changes it covers. A crash at any point leaves
either the old state or the new one, and the next sync repeats harmlessly
(the hub acknowledges a repeat again). Names, phones and voice recordings
the hub holds are deleted after either, once the hub's newest backup holds them too; a hub
restored from a backup (a new generation) gets everything again and the
cursor starts over (``follow_generation``).

Only one sync runs at a time on a box: an exclusive lock on a file in the
instance folder, which holds across threads and processes (the loop in the
kiosk process, ``flask sync once``, the sync screen's button).
"""

import base64
import fcntl
import hashlib
import logging
import os
import time
import uuid as uuid_module
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from .. import release
from ..clock import now, parse_iso
from ..crash import crash_point
from ..database import checkpoint
from ..extensions import db
from ..intake.services import raise_counters
from ..models.opinions import EVENT_KIND_LABELS
from ..models import (
    BoxIdentity,
    Category,
    TOWNSHIP_LEVEL,
    Deputy,
    DeputyPhoto,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    RatingSource,
    ReceiptCounter,
    Satisfaction,
    SetAsideRecord,
    SyncState,
    VoiceMessage,
)
from ..receipts import printing
from ..receipts.numbers import DAY
from ..roster.services import apply_pulled_shifts
from . import client, voice, wire
from .enrolment import (
    SOFTWARE_VERSION,
    Enrolment,
    NotEnrolled,
    apply_station,
    enrolment,
    private_key,
    sync_state,
)
from .records import RECORD_TYPES, waiting_count

log = logging.getLogger(__name__)

LOCK_FILE = "sync.lock"
PULL_PAGE = 500
# A push commits within its request, a minute or two at most after the
# receipt time it is acknowledged with: a backup whose snapshot began this
# long after that time holds it.
BACKUP_MARGIN = timedelta(minutes=10)


class SyncBusy(Exception):
    """Another sync holds the lock."""


@dataclass
class SyncResult:
    ok: bool = False
    busy: bool = False
    pushed: int = 0
    acknowledged: int = 0
    refused: int = 0
    pulled: int = 0
    cursor: int = 0
    error: str | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    # Voice messages the hub confirmed in this sync.
    voices: int = 0
    # Seconds the hub's proxy asked this box to wait before trying again (busy).
    retry_after: float | None = None
    progress: list[str] = field(default_factory=list)


@contextmanager
def sync_lock(wait: float | None):
    """Hold the box's sync lock; wait up to ``wait`` seconds (None: forever, 0: not at all)."""
    path = Path(current_app.instance_path) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise SyncBusy("另一次同步正在进行")
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def make_client(transport: client.Transport | None = None) -> client.HubClient:
    link = enrolment()
    if link is None:
        raise NotEnrolled("本站还没有登记到镇人大办")
    config = current_app.config
    http = client.HttpTransport(link.hub_url, config["SYNC_TIMEOUT_SECONDS"], config["SYNC_CA_FILE"])
    # Tests put an in-process transport here to reach a hub without sockets.
    transport = transport or current_app.extensions.get("sync_transport")
    return client.HubClient(
        transport or http,
        link.station_code,
        private_key(),
        link.hub_public_key,
        clock=now,
        offset_ms=sync_state().clock_offset_ms,
        prefix=http.prefix,
    )


def sync_once(transport: client.Transport | None = None, wait: float | None = 0, progress=None) -> SyncResult:
    """One push and pull, under the lock. Never raises for a failed link:
    the result (and the sync state row) says what happened."""
    result = SyncResult()
    try:
        with sync_lock(wait):
            _sync_locked(transport, result, progress or (lambda message: None))
    except SyncBusy as busy:
        result.busy, result.error = True, str(busy)
    return result


def _sync_locked(transport, result: SyncResult, progress) -> None:
    state = sync_state()
    state.last_attempt_at = now()
    db.session.commit()
    hub = None
    try:
        hub = make_client(transport)
        restored = restored_mark()
        # Twice when the hub turns out restored from a backup (a new
        # generation): everything goes again and the pull starts over.
        for _round in range(2):
            generation = sync_state().hub_generation
            _push_all(hub, result, progress)
            # The recordings after their opinions' records: the hub stores a recording its record named.
            result.voices = voice.push_voices(hub, progress)
            _pull_all(hub, result, progress)
            if generation in (None, sync_state().hub_generation):
                break
        end_resend()
        if restored is not None:
            end_catch_up(restored)
        result.ok = True
    except (
        NotEnrolled, client.LinkDown, client.HubRefused, client.BadAnswer, AnswerMalformed, voice.AnswerMalformed
    ) as error:
        db.session.rollback()
        result.error = plain_error(error)
        if isinstance(error, client.HubBusy):
            result.retry_after = error.retry_after
        log.warning("sync failed: %s", error)
    except Exception:
        # A bug or a full disk: recorded like any failure (the loop backs off), with the traceback in the log.
        db.session.rollback()
        result.error = "同步时本机出错，稍后会自动重试；如一直出错请联系技术人员。"
        log.exception("sync failed unexpectedly")
    finally:
        state = sync_state()
        if hub is not None:
            if hub.observed_offset_ms is not None:
                state.clock_offset_ms = hub.observed_offset_ms
            result.bytes_sent, result.bytes_received = hub.bytes_sent, hub.bytes_received
        if result.ok:
            state.last_success_at, state.last_error, state.failures = now(), None, 0
        else:
            state.last_error, state.failures = result.error, state.failures + 1
        result.cursor = state.cursor
        db.session.commit()


class AnswerMalformed(Exception):
    """Signed by the hub, but not shaped as this station expects."""


def plain_error(error: Exception) -> str:
    """What went wrong, in words a station keeper understands."""
    if isinstance(error, NotEnrolled):
        return "本站还没有登记到镇人大办。"
    if isinstance(error, client.HubBusy):
        return "镇人大办正忙，稍后会自动重试，已保存的意见不会丢失。"
    if isinstance(error, client.LinkDown):
        return f"连不上镇人大办（网络不通或对方没有响应）：{error}"
    if isinstance(error, client.BadAnswer):
        return "收到的回复不是镇人大办签名的，已不予理会（可能被篡改）。"
    if isinstance(error, client.HubRefused):
        if error.code == "revoked":
            return "本站的密钥已被镇人大办吊销，请联系镇人大办重新登记。"
        if error.code in ("unknown_station", "bad_signature"):
            return "镇人大办不认识本站的密钥，请联系镇人大办重新登记。"
        if error.status >= 500:
            return "镇人大办的服务器出错了，稍后会自动重试。"
        return f"镇人大办拒绝了请求（{error.status} {error.code}）：{error.message}"
    return f"镇人大办的回复格式不对：{error}"


def _push_all(hub: client.HubClient, result: SyncResult, progress) -> None:
    """Push every unacknowledged record, in batches of at most SYNC_BATCH_SIZE.

    A hub that finds a batch too large (its count or its bytes: a backlog of
    long texts) gets the same records again in halves, down to one a batch;
    otherwise the box would send the refused batch at every try, for ever."""
    size = current_app.config["SYNC_BATCH_SIZE"]
    keys: dict = {}
    while True:
        try:
            return _push_batches(hub, result, progress, size, keys)
        except BatchTooLarge as refused:
            if refused.records == 1:
                raise refused.error
            size = refused.records // 2
            log.warning("the hub found a batch of %d records too large; sending %d a batch", refused.records, size)


class BatchTooLarge(Exception):
    """The hub refused a batch as too large; ``keys`` point at its start again."""

    def __init__(self, error: client.HubRefused, records: int):
        super().__init__(str(error))
        self.error, self.records = error, records


def _push_batches(hub: client.HubClient, result: SyncResult, progress, size: int, keys: dict) -> None:
    """Push the records after ``keys``, in batches of ``size``, one request at a time.

    While the hub stores one batch, this box reads and encodes the next and
    then records the answer to the previous one: the two machines work at
    once, the hub waits for nothing but the network, and it still sees one
    request after another."""
    start = dict(keys)
    records, sent = _next_batch(size, keys)
    if not records:
        return
    backlog = waiting_count()
    resend = sync_state().resending
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-push") as pool:
        flight = pool.submit(hub.call, "push", push_payload(records, backlog, resend))
        while True:
            upcoming_start = dict(keys)
            upcoming, upcoming_sent = _next_batch(size, keys)
            if upcoming:
                backlog = max(0, backlog - len(records))
                payload = push_payload(upcoming, backlog, resend)
                # Not holding the database while the hub works (a kiosk may be saving).
                db.session.commit()
                body = wire.encode(payload)
            try:
                answer = flight.result()
            except client.HubRefused as error:
                if error.code != "batch_too_large":
                    raise
                keys.clear()
                keys.update(start)
                raise BatchTooLarge(error, len(records)) from error
            crash_point("sync_after_push_answer")
            if upcoming:
                flight = pool.submit(hub.call, "push", payload, body)
            acked, refused = apply_push_answer(sent, answer)
            result.pushed += len(records)
            result.acknowledged += acked
            result.refused += refused
            progress(f"已送出 {result.pushed} 条，镇人大办已确认 {result.acknowledged} 条")
            if acked + refused == 0:
                raise AnswerMalformed("镇人大办没有确认这一批中的任何一条")
            if not upcoming:
                return
            records, sent, start = upcoming, upcoming_sent, upcoming_start


def push_payload(records: list[dict], backlog: int, resend: bool) -> dict:
    payload = {"records": records, "station": report(backlog)}
    if resend:
        payload["resend"] = True
    return payload


def _next_batch(size: int, keys: dict) -> tuple[list[dict], dict]:
    """The next batch of records after ``keys`` (one per type), which it moves on."""
    records, sent = [], {}
    for record_type in RECORD_TYPES.values():
        if len(records) >= size:
            break
        rows = record_type.pending(size - len(records), after=keys.get(record_type.name))
        for data in rows:
            records.append({"type": record_type.name, "data": data})
            sent[data["uuid"]] = record_type
        if rows:
            keys[record_type.name] = record_type.key_of(rows[-1])
    db.session.commit()  # end the read transaction; nothing was written
    return records, sent


def apply_push_answer(sent: dict, answer: dict) -> tuple[int, int]:
    """Mark acknowledged and set aside refused records, in one transaction.

    Only UUIDs this station sent in this batch count; anything else in the
    answer is ignored."""
    acks, refused = answer.get("acks"), answer.get("refused")
    if not isinstance(acks, dict) or not isinstance(refused, list):
        raise AnswerMalformed("push answer lacks acks or refused")
    follow_generation(answer)
    moment = now()
    by_type: dict = {}
    # A batch stored together shares one receipt time: read each once.
    times: dict[str, datetime] = {}
    for uuid, at in acks.items():
        if uuid in sent:
            received = times.get(at) if isinstance(at, str) else None
            if received is None:
                try:
                    received = times[at] = parse_iso(at)
                except (ValueError, TypeError):
                    raise AnswerMalformed(f"bad receipt time for {uuid}")
            by_type.setdefault(sent[uuid], {})[uuid] = received
    for record_type, items in by_type.items():
        record_type.mark_acknowledged(items, moment)
    aside = 0
    for item in refused:
        if isinstance(item, dict) and item.get("uuid") in sent and item.get("uuid") not in acks:
            db.session.merge(
                SetAsideRecord(
                    uuid=item["uuid"],
                    record_type=sent[item["uuid"]].name,
                    reason=str(item.get("reason"))[:40],
                    detail=str(item.get("detail")),
                    at=moment,
                )
            )
            aside += 1
    db.session.commit()
    forget_personal_data(answer)
    # Repeats of an acknowledgement change nothing here but count as confirmed.
    return sum(len(items) for items in by_type.values()), aside


def _pull_all(hub: client.HubClient, result: SyncResult, progress) -> None:
    since = serials_since() if restored_mark() is not None else None
    generation = sync_state().hub_generation
    while True:
        state = sync_state()
        payload = {"cursor": state.cursor, "limit": PULL_PAGE, "station": report(), "photos": held_photos()}
        if since is not None:
            payload["serials_since"] = since
        answer = hub.call("pull", payload)
        if since is not None:
            raise_counters_to_hub(answer.get("serials"))
            since = None
        result.pulled += apply_pull_answer(answer)
        progress(f"已收到镇人大办的 {result.pulled} 项更新")
        if not answer.get("more") or generation not in (None, sync_state().hub_generation):
            return


def restored_mark() -> datetime | None:
    """When ``backup restore`` put this database in place, until a sync has caught up."""
    return db.session.scalar(select(BoxIdentity.restored_at).where(BoxIdentity.id == 1))


def serials_since() -> str:
    """The first day (YYMMDD) whose receipts the backup may not know all of: its newest counter's."""
    newest = db.session.scalar(select(func.max(ReceiptCounter.day)))
    return newest or "000101"


def raise_counters_to_hub(serials) -> None:
    """Take the hub's highest serial per day as this station's counters, where higher."""
    if not isinstance(serials, dict) or not all(
        isinstance(day, str) and DAY.fullmatch(day) and type(n) is int and n >= 0 for day, n in serials.items()
    ):
        raise AnswerMalformed("pull answer lacks the highest receipt serials asked for")
    raise_counters(enrolment().station_code, serials)


def end_catch_up(mark: datetime) -> None:
    """A restored box has re-sent what the hub lacked and raised its counters: it takes submits again.

    Only the mark this sync began with: a restore made since needs a sync of its own.
    """
    db.session.execute(
        update(BoxIdentity).where(BoxIdentity.id == 1, BoxIdentity.restored_at == mark).values(restored_at=None)
    )
    db.session.commit()
    log.info("restored from a backup on %s: caught up with the hub, taking submits again", mark)


def apply_pull_answer(answer: dict, only_if_newer: bool = False) -> int:
    """Apply the hub's changes and move the cursor, in one transaction.

    ``only_if_newer``: an answer bundle carried by hand may be older than
    what the link already brought; then it must not move anything back."""
    cursor, opinions, reference = answer.get("cursor"), answer.get("opinions"), answer.get("reference")
    if type(cursor) is not int or cursor < 0 or not isinstance(opinions, list):
        raise AnswerMalformed("pull answer lacks cursor or opinions")
    if reference is not None and not isinstance(reference, dict):
        raise AnswerMalformed("reference must be an object")
    if follow_generation(answer):
        # Changes since a cursor into the hub's lost copy: pulled again from the start.
        db.session.commit()
        return 0
    state = sync_state()
    if only_if_newer and cursor <= state.cursor:
        return 0
    try:
        if reference is not None:
            _apply_reference(reference)
        applied = sum(_apply_opinion_state(item) for item in opinions)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        db.session.rollback()
        raise AnswerMalformed(f"pull answer: {error!r}")
    try:
        release.remember(answer.get("release"))
    except release.ReleaseRefused as error:
        # A bad announcement must not hold up the opinions' sync; the box stays on its release.
        log.warning("release announcement ignored: %s", error)
    state.cursor = cursor
    db.session.commit()
    forget_personal_data(answer)
    return applied + (1 if reference is not None else 0)


def follow_generation(answer: dict) -> bool:
    """Note the hub database's generation an answer names; True when it changed (in the caller's transaction).

    Another generation is the hub restored from a backup, which may lack
    records this station had sent and changes it had pulled: every record
    counts as unsent again (the restored hub acknowledges those it holds,
    ``resend``, and stores the others) and the cursor goes back to 0. An
    answer without one (an older hub) changes nothing.
    """
    info = answer.get("hub_database")
    if info is None:
        return False
    generation = info.get("generation") if isinstance(info, dict) else None
    if not isinstance(generation, str) or not 0 < len(generation) <= 32:
        raise AnswerMalformed("hub_database lacks its generation")
    state = sync_state()
    if state.hub_generation == generation:
        return False
    first = state.hub_generation is None
    state.hub_generation = generation
    if first:
        return False
    for record_type in RECORD_TYPES.values():
        model = record_type.model
        db.session.execute(
            update(model).where(model.acknowledged_at.is_not(None)).values(acknowledged_at=None)
        )
    # Recordings still kept here (no backup held them yet) go again too.
    db.session.execute(
        update(VoiceMessage)
        .where(VoiceMessage.confirmed_at.is_not(None), VoiceMessage.data.is_not(None))
        .values(confirmed_at=None)
    )
    state.cursor, state.resending = 0, True
    log.warning("the hub was restored from a backup: sending every record again and pulling from the start")
    return True


def end_resend() -> None:
    """Everything went to the restored hub again: pushes are plain ones from now on."""
    state = sync_state()
    if state.resending and waiting_count() == 0:
        state.resending = False
        db.session.commit()


def forget_personal_data(answer: dict) -> int:
    """Delete what the hub holds of a person, once a backup of the hub holds it too. Commits.

    The name and phone of acknowledged opinions, and recordings the hub has
    confirmed: a hub restored from a backup that lacks them gets them again
    from here (``follow_generation``). A hub that names no backup (it records
    none, or predates them) holds them and that is enough: deleted at once.
    Returns how many opinions' details and recordings were deleted.
    """
    info = answer.get("hub_database")
    backed_up = info.get("backed_up_at") if isinstance(info, dict) else None
    held = [
        Opinion.acknowledged_at.is_not(None),
        or_(Opinion.contact_name.is_not(None), Opinion.contact_phone.is_not(None)),
    ]
    recordings_held = [VoiceMessage.confirmed_at.is_not(None), VoiceMessage.data.is_not(None)]
    if backed_up is not None:
        try:
            cutoff = parse_iso(backed_up) - BACKUP_MARGIN
        except ValueError:
            raise AnswerMalformed("hub_database: backed_up_at is no UTC time")
        held.append(Opinion.hub_received_at < cutoff)
        recordings_held.append(VoiceMessage.confirmed_at < cutoff)
    erased = db.session.execute(
        update(Opinion).where(*held).values(contact_name=None, contact_phone=None).execution_options(
            synchronize_session=False
        )
    ).rowcount
    erased += db.session.execute(
        update(VoiceMessage).where(*recordings_held).values(data=None).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if erased:
        # The names, phones and voices just deleted must not linger in the WAL either.
        checkpoint(db.engine)
    return erased


STATUSES = {s.value for s in OpinionStatus}


SATISFACTIONS = {s.value for s in Satisfaction}


def _apply_opinion_state(item: dict) -> int:
    """Take the hub's word on an opinion's hub-owned fields.

    Status, public reply and history are the receipt's public progress (a
    merged duplicate's is its original's). A replacement receipt's secret
    makes the printed one stop working here too. A rating staff recorded
    from a follow-up call is kept here (``_keep_follow_up``). Keys a hub
    older than this station does not send leave the field as it was.
    """
    opinion = db.session.get(Opinion, item["uuid"])
    if opinion is None or item["status"] not in STATUSES:
        return 0
    replacement = item.get("replacement_secret", opinion.replacement_secret)
    satisfaction = item.get("satisfaction", opinion.satisfaction)
    reopen_count = item.get("reopen_count", opinion.reopen_count)
    if replacement is not None and (not isinstance(replacement, str) or not 4 <= len(replacement) <= 8):
        raise ValueError(f"replacement_secret of {opinion.uuid} is not a secret")
    if satisfaction is not None and satisfaction not in SATISFACTIONS:
        raise ValueError(f"satisfaction of {opinion.uuid} is {satisfaction!r}")
    if type(reopen_count) is not int or reopen_count < 0:
        raise ValueError(f"reopen_count of {opinion.uuid} is {reopen_count!r}")
    opinion.status = item["status"]
    opinion.public_reply = item["public_reply"]
    opinion.replacement_secret = replacement
    opinion.satisfaction = satisfaction
    opinion.reopen_count = reopen_count
    db.session.execute(delete(OpinionEvent).where(OpinionEvent.opinion_uuid == opinion.uuid))
    db.session.expire(opinion, ["events"])
    for event in item["events"]:
        if event["status"] in STATUSES:
            db.session.add(
                OpinionEvent(
                    opinion_uuid=opinion.uuid,
                    status=event["status"],
                    at=parse_iso(event["at"]),
                    note=event["note"],
                    kind=_event_kind(event.get("kind")),
                )
            )
    rating = item.get("rating")
    if rating is not None:
        _keep_follow_up(opinion, rating)
    return 1


def _event_kind(kind) -> str | None:
    """A step's kind this station knows (a deputy's answer); another is shown as its status."""
    return kind if kind in EVENT_KIND_LABELS else None


RATING_SOURCES = {s.value for s in RatingSource}


def _keep_follow_up(opinion: Opinion, rating: dict) -> None:
    """Keep the hub's counted rating here when staff recorded it from a follow-up call (回访).

    The look-up then says staff called, not "thanks for your rating". The
    copy is the hub's (hub-owned): marked acknowledged as it is stored, so it
    is never pushed back, and counted. One copy per receipt and hub rating
    (a UUID made from both: a merged duplicate and its original at this
    station each keep one). Ratings from elsewhere need no copy: the hub's
    ``satisfaction`` already stops the look-up asking again.
    """
    uuid, round_, value, source = rating["uuid"], rating["round"], rating["value"], rating["source"]
    created_at = parse_iso(rating["created_at"])
    if type(round_) is not int or round_ < 0:
        raise ValueError(f"rating round of {opinion.uuid} is {round_!r}")
    if value not in SATISFACTIONS or source not in RATING_SOURCES:
        raise ValueError(f"rating of {opinion.uuid} is {value!r} from {source!r}")
    if source != RatingSource.FOLLOW_UP:
        return
    copy = str(uuid_module.uuid5(uuid_module.UUID(uuid), opinion.uuid))
    if db.session.get(Rating, copy) is not None:
        return
    moment = now()
    db.session.add(
        Rating(
            uuid=copy,
            opinion_uuid=opinion.uuid,
            round=round_,
            value=value,
            source=source,
            station_code=None,  # as at the hub: given on the phone, at no station
            created_at=created_at,
            counted=True,
            hub_received_at=created_at,
            acknowledged_at=moment,
        )
    )
    db.session.flush()


def _apply_reference(reference: dict) -> None:
    station = apply_station(reference["station"])
    for c in reference["categories"]:
        db.session.merge(
            Category(
                code=c["code"],
                name=c["name"],
                icon=c["icon"],
                position=c["position"],
                active=c["active"],
                answer_days=c["answer_days"],
            )
        )
    keep_photos(reference.get("photos") or {})
    station.deputies = [apply_deputy(d, station.township_id) for d in reference["deputies"]]
    if reference.get("duty_shifts") is not None:
        db.session.flush()
        apply_pulled_shifts(station, reference.get("duty_from"), reference["duty_shifts"])


def held_photos() -> list[str]:
    """The deputies' photos this box holds, by SHA-256: the hub need not send them again."""
    return list(db.session.scalars(select(DeputyPhoto.sha256)))


def keep_photos(photos: dict) -> None:
    """Store the photos the hub sent, each checked against the SHA-256 that names it."""
    if not isinstance(photos, dict):
        raise TypeError("photos must be an object")
    for sha, encoded in photos.items():
        data = base64.b64decode(encoded, validate=True)
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValueError(f"photo {sha[:12]} does not match its digest")
        if db.session.get(DeputyPhoto, sha) is None:
            db.session.add(DeputyPhoto(sha256=sha, data=data))
    db.session.flush()


def apply_deputy(d: dict, township_id: int) -> Deputy:
    """Take the hub's word on one deputy's public fields (a hub that predates them sends ``phone`` only)."""
    photo = d.get("photo")
    if photo is not None and db.session.get(DeputyPhoto, photo) is None:
        photo = None  # not sent: shown with the name's first character
    deputy = db.session.get(Deputy, d["id"]) or Deputy(id=d["id"])
    deputy.name, deputy.occupation, deputy.township_id = d["name"], d["occupation"], township_id
    deputy.public_phone = d.get("public_phone", d.get("phone"))
    deputy.sex, deputy.photo = d.get("sex"), photo
    deputy.level = d.get("level") or deputy.level or TOWNSHIP_LEVEL
    deputy.pin_hash = d.get("pin_hash")
    if d.get("public_id"):
        deputy.public_id = d["public_id"]
    db.session.add(deputy)
    return deputy


def report(backlog: int | None = None) -> dict:
    """What the station tells the hub about itself on every request."""
    waiting = waiting_count() if backlog is None else backlog
    return {"backlog": waiting, "version": SOFTWARE_VERSION, "printer": printing.reported_state()}


@dataclass(frozen=True)
class Status:
    enrolled: Enrolment | None
    waiting: int
    set_aside: list
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    clock_offset_ms: int
    cursor: int
    failures: int
    # Set while a box restored from a backup has not caught up with the hub (it takes no submit).
    restored_at: datetime | None = None
    # Voice messages of submitted opinions this box still holds (the hub has not confirmed them).
    voices_waiting: int = 0


def status() -> Status:
    state = db.session.get(SyncState, 1) or SyncState(cursor=0, clock_offset_ms=0, failures=0)
    return Status(
        enrolled=enrolment(),
        waiting=waiting_count(),
        set_aside=list(db.session.scalars(select(SetAsideRecord).order_by(SetAsideRecord.at))),
        last_attempt_at=state.last_attempt_at,
        last_success_at=state.last_success_at,
        last_error=state.last_error,
        clock_offset_ms=state.clock_offset_ms,
        cursor=state.cursor,
        failures=state.failures,
        restored_at=restored_mark(),
        voices_waiting=voice.held_count(),
    )
