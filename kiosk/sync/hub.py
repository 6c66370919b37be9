"""The hub's side of sync: signed requests, push and pull.

Every function here runs inside the caller's transaction and commits
nothing itself; the API view commits once at the end, so a request that
fails writes nothing at all. The stations themselves, their keys and
enrolment are in ``registry``.
"""

import logging
import re
import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Row, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from .. import release
from ..clock import iso, local_midnight_utc, now, to_millis
from ..extensions import db
from ..models import HubDatabase, Opinion, Rating, Station, SyncChange, SyncConflict, SyncNonce, SyncStation
from ..public.progress import progress
from ..ratings import followed
from . import signing, wire
from .records import RECORD_TYPES, BadRecord, digest
from ..receipts.numbers import DAY, NUMBER, STATION_CODE
from ..text import NUL, holds_control_characters
from .registry import SyncError, note_contact, reference_for

log = logging.getLogger(__name__)

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
PULL_LIMIT = 500
CHANGED = "同一条记录的内容与镇人大办已收到的不同"
HOLDS_NUL = "记录里有空字符（NUL），镇人大办不能保存"

# What a request may unfold into before it is parsed, in proportion to the
# batch limit. A record is at most some 9 KB on the wire (2,000 characters
# of content or comment, four bytes each at most) and some 50 tokens
# (wire._count_tokens); the envelope (the station's report) is small.
RECORD_MAX_BYTES = 12 * 1024
RECORD_MAX_TOKENS = 128
ENVELOPE_MAX_BYTES = 64 * 1024
ENVELOPE_MAX_TOKENS = 512
# No string on the wire is longer than a record's text: 2,000 characters,
# 12 KB even if every one were written as a JSON escape.
STRING_MAX_BYTES = 32 * 1024
PULL_LIMITS = (ENVELOPE_MAX_BYTES, ENVELOPE_MAX_TOKENS)


def push_limits() -> tuple[int, int]:
    """Bytes once inflated and JSON tokens a push may hold at most."""
    batch = current_app.config["SYNC_MAX_BATCH"]
    return ENVELOPE_MAX_BYTES + batch * RECORD_MAX_BYTES, ENVELOPE_MAX_TOKENS + batch * RECORD_MAX_TOKENS


def authenticate(method: str, path: str, headers, body: bytes) -> SyncStation:
    """The station that signed this request, or SyncError. Records the nonce."""
    code = headers.get(signing.H_STATION, "")
    timestamp = headers.get(signing.H_TIMESTAMP, "")
    nonce = headers.get(signing.H_NONCE, "")
    claimed_digest = headers.get(signing.H_DIGEST, "")
    signature = headers.get(signing.H_SIGNATURE, "")
    if not (code and timestamp and nonce and claimed_digest and signature):
        raise SyncError(401, "unsigned", "request is not signed")
    if not NONCE_RE.match(nonce) or not timestamp.isdigit() or len(timestamp) > 15:
        raise SyncError(401, "bad_signature", "nonce or timestamp is malformed")
    link = _station_link(code) if STATION_CODE.fullmatch(code) else None
    if link is None or link.public_key is None:
        raise SyncError(401, "unknown_station", "这个联络站没有在镇人大办登记 (unknown station)")
    if link.revoked_at is not None:
        raise SyncError(403, "revoked", "这个联络站的密钥已被吊销 (station key revoked)")
    if signing.body_digest(body) != claimed_digest:
        raise SyncError(401, "digest_mismatch", "body does not match its digest")
    try:
        signing.verify(
            signing.public_key(link.public_key),
            signing.request_message(method, path, timestamp, nonce, claimed_digest),
            signature,
        )
    except signing.BadSignature:
        raise SyncError(401, "bad_signature", "signature does not verify")
    window = current_app.config["SYNC_CLOCK_WINDOW_SECONDS"] * 1000
    if abs(to_millis(now()) - int(timestamp)) > window:
        raise SyncError(401, "stale_timestamp", "时间不对：请按镇人大办的时间校准后重试 (timestamp outside window)")
    if not _claim_nonce(code, nonce):
        raise SyncError(401, "replayed_nonce", "request nonce already used")
    return link


HUB_DATABASE_ROW = "sync_hub_database"


def _station_link(code: str) -> SyncStation | None:
    """The station's sync row, read with its station and the hub database's row in one statement.

    Every push and pull needs all three (the key, the township, the
    generation its answer carries); read here, the later ``get``s of the
    station and of ``HubDatabase`` find them in the session and send nothing.
    """
    row = db.session.execute(
        select(SyncStation, HubDatabase)
        .outerjoin(HubDatabase, HubDatabase.id == 1)
        .where(SyncStation.station_code == code)
        .options(joinedload(SyncStation.station))
    ).first()
    if row is None:
        return None
    # Held: the session keeps only weak references to what it loaded. Expired
    # at commit like any loaded row, so it is never read stale.
    db.session.info[HUB_DATABASE_ROW] = row[1]
    return row[0]


def _claim_nonce(code: str, nonce: str) -> bool:
    """Note the nonce as used; False when it was already (a replay). One statement: the
    row goes in unless it is there, and a request racing with the same nonce waits
    for the other to end and then finds it taken."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    claimed = db.session.execute(
        insert(SyncNonce)
        .values(station_code=code, nonce=nonce, seen_at=now())
        .on_conflict_do_nothing()
        .returning(SyncNonce.nonce)
    ).first()
    return claimed is not None


def forget_old_nonces() -> None:
    """Nonces older than twice the window can never be accepted again anyway."""
    horizon = now() - timedelta(seconds=2 * current_app.config["SYNC_CLOCK_WINDOW_SECONDS"])
    db.session.execute(db.delete(SyncNonce).where(SyncNonce.seen_at < horizon))


def push(link: SyncStation, payload) -> dict:
    """Store a batch of records in the caller's transaction, keyed by UUID.

    A UUID the hub holds with the same digest is acknowledged again with
    its first receipt time; with another digest it is refused (409) and the
    station's version is kept in ``sync_conflicts``. A malformed batch
    raises SyncError before anything is written.
    """
    records = _parse_push(payload, link.station_code)
    # Sent again to a hub restored from a backup: a record this copy holds is
    # acknowledged whatever its station did since (deleted its name and phone).
    resend = payload.get("resend") is True
    moment = now()
    received = iso(moment)
    acks: dict[str, str] = {}
    refused: list[dict] = []
    conflicts: list[dict] = []
    for record_type in RECORD_TYPES.values():
        batch = [(data, d, raw) for t, data, d, raw in records if t is record_type]
        if not batch:
            continue
        known = record_type.existing([data["uuid"] for data, _d, _raw in batch])
        fresh: dict[str, tuple[dict, str, dict]] = {}
        repeats: list[tuple[str, str, dict]] = []
        for data, record_digest, raw in batch:
            uuid = data["uuid"]
            if holds_control_characters(raw, NUL):
                # PostgreSQL refuses a NUL, and the kiosk's cleaning removes it: this one
                # record is set aside and the rest of the batch is taken. (The other
                # control characters are cleaned away with the record's text.)
                conflicts.append(_conflict(link, record_type.name, uuid, record_digest, "nul", raw))
                refused.append(_refusal(record_type.name, uuid, "nul", HOLDS_NUL))
                continue
            if uuid in known:
                first_digest, first_at = known[uuid]
                if first_digest == record_digest or resend:
                    acks[uuid] = iso(first_at)
                    continue
                conflicts.append(_conflict(link, record_type.name, uuid, record_digest, "changed", raw))
                refused.append(_refusal(record_type.name, uuid, "changed", CHANGED))
            elif uuid in fresh:
                repeats.append((uuid, record_digest, raw))
            else:
                fresh[uuid] = (data, record_digest, raw)
        refusals = record_type.store([(d, dg) for d, dg, _raw in fresh.values()], link.station_code, moment)
        for uuid, (_data, record_digest, raw) in fresh.items():
            if uuid in refusals:
                conflicts.append(_conflict(link, record_type.name, uuid, record_digest, refusals[uuid].reason, raw))
                refused.append(_refusal(record_type.name, uuid, refusals[uuid].reason, refusals[uuid].detail))
            else:
                acks[uuid] = received
        # The same UUID twice in one batch: the first decides, as if sent earlier.
        for uuid, record_digest, raw in repeats:
            if uuid in acks and fresh[uuid][1] != record_digest:
                conflicts.append(_conflict(link, record_type.name, uuid, record_digest, "changed", raw))
                refused.append(_refusal(record_type.name, uuid, "changed", CHANGED))
    _keep_conflicts(conflicts)
    note_contact(link, payload.get("station"))
    if refused:
        log.warning("station %s: %d records refused", link.station_code, len(refused))
    return {"acks": acks, "refused": refused, "hub_time": to_millis(moment), "hub_database": database_state()}


def _parse_push(payload, station_code: str) -> list[tuple]:
    if not isinstance(payload, dict) or set(payload) - {"records", "station", "resend"}:
        raise SyncError(400, "bad_request", "a push is an object with records, station and resend")
    if payload.get("resend", False) not in (True, False):
        raise SyncError(400, "bad_request", "resend must be true or false")
    records = payload.get("records")
    if not isinstance(records, list):
        raise SyncError(400, "bad_request", "records must be a list")
    limit = current_app.config["SYNC_MAX_BATCH"]
    if len(records) > limit:
        raise SyncError(413, "batch_too_large", f"at most {limit} records per batch")
    parsed = []
    for index, item in enumerate(records):
        if not isinstance(item, dict) or set(item) != {"type", "data"}:
            raise SyncError(400, "bad_record", f"record {index}: needs exactly type and data")
        record_type = RECORD_TYPES.get(item["type"]) if isinstance(item["type"], str) else None
        if record_type is None:
            raise SyncError(400, "bad_record", f"record {index}: unknown type {item['type']!r}")
        try:
            clean = record_type.clean(item["data"], station_code)
        except BadRecord as error:
            raise SyncError(400, "bad_record", f"record {index}: {error}")
        parsed.append((record_type, clean, digest(item["data"]), item["data"]))
    return parsed


def _refusal(record_type: str, uuid: str, reason: str, detail: str) -> dict:
    return {"type": record_type, "uuid": uuid, "status": 409, "reason": reason, "detail": detail}


def _conflict(link, record_type, uuid, record_digest, reason, raw) -> dict:
    return {
        "station_code": link.station_code,
        "record_type": record_type,
        "uuid": uuid,
        "digest": record_digest,
        "reason": reason,
        "payload": wire.dumps(raw).decode(),
        "received_at": now(),
    }


def _keep_conflicts(conflicts: list[dict]) -> None:
    if not conflicts:
        return
    seen = set(
        db.session.execute(
            select(SyncConflict.uuid, SyncConflict.digest).where(SyncConflict.uuid.in_({c["uuid"] for c in conflicts}))
        ).all()
    )
    new = []
    for c in conflicts:
        if (c["uuid"], c["digest"]) not in seen:
            seen.add((c["uuid"], c["digest"]))
            new.append(c)
    if new:
        db.session.execute(db.insert(SyncConflict), new)


def pull(link: SyncStation, payload) -> dict:
    """Everything changed for this station since its cursor, newest state.

    The cursor returned is safe to store: change numbers become visible in
    order (see SyncSequence), so nothing below it can still appear.
    """
    if not isinstance(payload, dict) or set(payload) - {"cursor", "limit", "station", "photos", "serials_since"}:
        raise SyncError(400, "bad_request", "a pull is an object with cursor, limit, station, photos and serials_since")
    # The deputies' photos the station holds already (by SHA-256): not sent again.
    held = payload.get("photos", [])
    if not isinstance(held, list) or len(held) > 10_000 or not all(isinstance(sha, str) for sha in held):
        raise SyncError(400, "bad_request", "photos must be a list of SHA-256 digests")
    cursor, limit = payload.get("cursor"), payload.get("limit", PULL_LIMIT)
    if type(cursor) is not int or cursor < 0 or type(limit) is not int or not 0 < limit <= 5000:
        raise SyncError(400, "bad_request", "cursor must be a whole number >= 0, limit 1 to 5000")
    since = payload.get("serials_since")
    if since is not None:
        check_serials_since(since)
    note_contact(link, payload.get("station"))
    link.last_cursor = cursor
    answer = changes_since(link.station, cursor, limit, set(held))
    if since is not None:
        answer["serials"] = highest_serials(link.station_code, since)
    answer["hub_time"] = to_millis(now())
    # Every pull says which release the stations should run: the hub never calls them.
    answer["release"] = release.current()
    answer["hub_database"] = database_state()
    return answer


def database_state() -> dict:
    """Which copy of the hub database answers, and the snapshot time of its newest backup.

    Every push and pull answer carries it (``HubDatabase``): a station
    that sees another generation sends again and pulls from the start; it
    deletes an acknowledged name and phone only once ``backed_up_at`` is
    past their receipt by ``BACKUP_MARGIN`` (or at once, from a hub that
    has recorded no backup).
    """
    row = db.session.get(HubDatabase, 1)
    return {"generation": row.generation, "backed_up_at": iso(row.backed_up_at) if row.backed_up_at else None}


def _day(text) -> date | None:
    """The date a receipt number's YYMMDD names, or None."""
    if not isinstance(text, str) or not DAY.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        return None


def check_serials_since(since) -> None:
    """A restored station's first day to ask about (a pull's or a bundle's ``serials_since``), or SyncError."""
    if _day(since) is None:
        raise SyncError(400, "bad_request", "serials_since must be a local date YYMMDD")


def highest_serials(station_code: str, since: str) -> dict[str, int]:
    """The highest daily serial of this station's receipts the hub holds, per day from ``since`` (YYMMDD).

    Asked for by a station restored from a backup: it must never issue a
    number again that a receipt it gave out after the backup already bears.
    Read by creation time (indexed), from a day before ``since`` began: a
    number's day is the station's local date when it was made.
    """
    start = local_midnight_utc(_day(since)) - timedelta(days=1)
    numbers = db.session.scalars(
        select(Opinion.receipt_number).where(Opinion.station_code == station_code, Opinion.created_at >= start)
    )
    highest: dict[str, int] = {}
    for number in numbers:
        match = NUMBER.fullmatch(number)
        if match and match[1] == station_code and match[2] >= since:
            day, serial = match[2], int(match[3])
            highest[day] = max(highest.get(day, 0), serial)
    return highest


def changes_since(station: Station, cursor: int, limit: int = PULL_LIMIT, held_photos: set[str] | None = None) -> dict:
    # One read for the newest change number and the first reference change past the
    # cursor that concerns this station (the same snapshot: never past ``high``);
    # a second for the station's opinions only when anything at all is newer.
    first_reference = (
        select(func.min(SyncChange.id))
        .where(
            SyncChange.kind == "reference",
            SyncChange.id > cursor,
            or_(SyncChange.township_id.is_(None), SyncChange.township_id == station.township_id),
        )
        .scalar_subquery()
    )
    high, reference_at = db.session.execute(
        select(select(func.coalesce(func.max(SyncChange.id), 0)).scalar_subquery(), first_reference)
    ).one()
    if cursor > high:
        # A cursor from another hub database (a restored backup): start over.
        cursor = 0
    rows = []
    if high > cursor:
        rows = db.session.execute(
            select(SyncChange.id, SyncChange.opinion_uuid)
            .where(
                SyncChange.station_code == station.code,
                SyncChange.kind == "opinion",
                SyncChange.id > cursor,
                SyncChange.id <= high,
            )
            .order_by(SyncChange.id)
            .limit(limit + 1)
        ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    new_cursor = rows[-1][0] if more else high
    reference_changed = cursor == 0 or (reference_at is not None and reference_at <= new_cursor)
    uuids = list(dict.fromkeys(uuid for _id, uuid in rows))
    opinions = (
        db.session.scalars(select(Opinion).where(Opinion.uuid.in_(uuids)).options(selectinload(Opinion.events))).all()
        if uuids
        else []
    )
    ratings = counted_ratings(list({followed(o).uuid for o in opinions}))
    return {
        "cursor": new_cursor,
        "more": more,
        "opinions": [opinion_state(o, ratings) for o in opinions],
        "reference": reference_for(station, held_photos) if reference_changed else None,
    }


def counted_ratings(uuids: list[str]) -> dict[str, Row]:
    """The latest counted rating of each of these opinions (highest round), if any.

    A row of (opinion_uuid, round, uuid, value, source, created_at): never
    the comment, which is the constituent's own words.
    """
    if not uuids:
        return {}
    rows = db.session.execute(
        select(Rating.opinion_uuid, Rating.round, Rating.uuid, Rating.value, Rating.source, Rating.created_at).where(
            Rating.opinion_uuid.in_(uuids), Rating.counted.is_(True)
        )
    )
    latest: dict[str, Row] = {}
    for row in rows:
        if row.opinion_uuid not in latest or row.round > latest[row.opinion_uuid].round:
            latest[row.opinion_uuid] = row
    return latest


def opinion_state(opinion: Opinion, ratings: dict[str, Row] | None = None) -> dict:
    """What a station may know of an opinion's progress: public fields only.

    Status, public reply and history are the receipt's public progress
    (kiosk.public.progress): for a merged duplicate, its original's,
    sent under the duplicate's own UUID, so the station needs nothing else.
    The rating round and ``satisfaction`` are those of the followed opinion
    too (a rating on a duplicate's receipt rates its original);
    ``satisfaction`` goes only once the current round is rated, which is how
    the station knows not to ask again. ``rating`` is the latest counted
    rating of any round (``counted_ratings``: its uuid, round, value,
    ``source`` and time, never its comment), so the station can say where it
    came from: a follow-up call (回访) is not a rating the holder gave on a
    page. The replacement secret is the receipt's own. Stations that predate
    the newer keys ignore them.
    """
    shown = progress(opinion)
    target = followed(opinion)
    ratings = counted_ratings([target.uuid]) if ratings is None else ratings
    rating = ratings.get(target.uuid)
    rated = rating is not None and rating.round == target.reopen_count
    return {
        "uuid": opinion.uuid,
        "status": shown.status,
        "public_reply": shown.public_reply,
        # ``kind`` only on a step that has one (a deputy's answer): older stations read the rest.
        "events": [
            {"status": step.status, "at": iso(step.at), "note": step.note, **({"kind": step.kind} if step.kind else {})}
            for step in shown.steps
        ],
        "replacement_secret": opinion.replacement_secret,
        "satisfaction": target.satisfaction if rated else None,
        "reopen_count": target.reopen_count,
        "rating": None
        if rating is None
        else {
            "uuid": rating.uuid,
            "round": rating.round,
            "value": rating.value,
            "source": rating.source,
            "created_at": iso(rating.created_at),
        },
    }


def record_backup(snapshot_at: datetime) -> bool:
    """Note a backup that succeeded, whose snapshot began at ``snapshot_at``. Commits.

    Only ever moves forward: a backup of an older snapshot finishing late
    changes nothing. True when it moved.
    """
    row = db.session.get(HubDatabase, 1, with_for_update=True)
    moved = row.backed_up_at is None or snapshot_at > row.backed_up_at
    if moved:
        row.backed_up_at = snapshot_at
    db.session.commit()
    log.info("backup of %s recorded", iso(snapshot_at))
    return moved


def mark_restored() -> str:
    """This database was just restored from a backup: a new generation. Commits; returns it.

    Stations see it on their next sync, send everything again (the hub keeps
    what it holds and stores what it lacks) and pull from the start.
    """
    row = db.session.get(HubDatabase, 1, with_for_update=True)
    row.generation = secrets.token_hex(16)
    row.restored_at = now()
    db.session.commit()
    log.warning("hub database restored from a backup: generation %s", row.generation)
    return row.generation
