"""The hub's side of sync: stations, enrolment, signed requests, push and pull.

Every function here runs inside the caller's transaction and commits
nothing itself, except the CLI helpers that say so; the API view commits
once at the end, so a request that fails writes nothing at all.
"""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import Row, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..clock import iso, now, to_millis, today
from ..extensions import db
from ..models import (
    Category,
    EnrolmentToken,
    Opinion,
    Rating,
    Station,
    StationLevel,
    SyncChange,
    SyncConflict,
    SyncNonce,
    SyncStation,
    Township,
)
from ..public.progress import progress
from ..ratings import followed
from ..receipts.numbers import STATION_CODE
from ..roster.services import shifts_for_pull
from . import signing, wire
from .records import RECORD_TYPES, BadRecord, digest

log = logging.getLogger(__name__)

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
ENROLMENT_TTL = timedelta(hours=24)
SILENT_AFTER = timedelta(days=1)
PULL_LIMIT = 500
CHANGED = "同一条记录的内容与镇人大办已收到的不同"


class SyncError(Exception):
    """A refusal the API turns into a JSON answer with this status."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def hub_key():
    """The hub's signing key, made in the instance folder on first use."""
    key = current_app.extensions.get("sync_hub_key")
    if key is None:
        key = signing.load_or_make_key(Path(current_app.instance_path) / "hub_signing_key.pem")
        current_app.extensions["sync_hub_key"] = key
    return key


def hub_public_key() -> str:
    return signing.public_key_text(hub_key())


# --- stations and enrolment (the `stations` commands) -------------------------


def register_station(code: str, name: str, township_name: str, level: str, address: str | None = None) -> str:
    """Register a station and return a one-time enrolment token. Commits."""
    if not STATION_CODE.match(code or ""):
        raise ValueError("站点代码须为 2 到 8 位大写字母或数字 (station code: 2 to 8 capital letters or digits)")
    if level not in {lv.value for lv in StationLevel}:
        raise ValueError(f"level must be one of {', '.join(lv.value for lv in StationLevel)}")
    township = db.session.scalar(select(Township).where(Township.name == township_name))
    if township is None:
        raise ValueError(f"没有这个镇街: {township_name}")
    if db.session.get(Station, code) is not None:
        raise ValueError(f"站点代码 {code} 已被使用 (use `stations token {code}` for a new token)")
    db.session.add(Station(code=code, name=name, level=level, township_id=township.id, address=address))
    db.session.flush()
    log.info("station %s registered", code)
    # The new station and its first token commit together.
    return issue_token(code)


def issue_token(code: str) -> str:
    """A fresh one-time enrolment token for a registered station. Commits."""
    if db.session.get(Station, code) is None:
        raise ValueError(f"没有站点代码为 {code} 的联络站")
    if db.session.get(SyncStation, code) is None:
        db.session.add(SyncStation(station_code=code))
        db.session.flush()
    token = _new_token(code)
    db.session.commit()
    log.info("enrolment token issued for station %s", code)
    return token


def _new_token(code: str) -> str:
    token = secrets.token_urlsafe(24)
    moment = now()
    db.session.add(
        EnrolmentToken(station_code=code, token_hash=_hash(token), created_at=moment, expires_at=moment + ENROLMENT_TTL)
    )
    return token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoke_station(code: str) -> None:
    """Refuse the station's key from now on. Its records already here stay. Commits."""
    link = db.session.get(SyncStation, code)
    if link is None or link.public_key is None:
        raise ValueError(f"联络站 {code} 没有登记过的密钥")
    link.revoked_at = now()
    db.session.execute(db.update(EnrolmentToken).where(EnrolmentToken.station_code == code, EnrolmentToken.used_at.is_(None)).values(used_at=link.revoked_at))
    db.session.commit()
    log.warning("station %s key revoked", code)


@dataclass(frozen=True)
class StationRow:
    code: str
    name: str
    township: str
    state: str
    last_contact_at: datetime | None
    silent: bool
    backlog: int | None
    version: str | None
    printer: str | None


def station_overview() -> list[StationRow]:
    moment = now()
    rows = db.session.execute(
        select(Station, Township.name, SyncStation)
        .join(Township, Station.township_id == Township.id)
        .outerjoin(SyncStation, SyncStation.station_code == Station.code)
        .order_by(Station.code)
    )
    result = []
    for station, township, link in rows:
        if link is None or link.public_key is None:
            state = "未登记"
        elif link.revoked_at is not None:
            state = "已吊销"
        else:
            state = "正常"
        last = link.last_contact_at if link else None
        silent = state == "正常" and (last is None or moment - last > SILENT_AFTER)
        result.append(
            StationRow(
                station.code,
                station.name,
                township,
                state,
                last,
                silent,
                link.reported_backlog if link else None,
                link.software_version if link else None,
                link.printer_state if link else None,
            )
        )
    return result


def enrol(payload, public_base_url: str) -> dict:
    """Exchange a one-time token for this box's public key being known here."""
    if not isinstance(payload, dict) or set(payload) - {"token", "public_key", "software_version"}:
        raise SyncError(400, "bad_request", "enrolment needs token, public_key and software_version")
    token, public_key = payload.get("token"), payload.get("public_key")
    if not isinstance(token, str) or not isinstance(public_key, str) or len(token) > 200:
        raise SyncError(400, "bad_request", "token and public_key must be text")
    try:
        signing.parse_public_key(public_key)
    except signing.BadSignature:
        raise SyncError(400, "bad_public_key", "public_key is not a raw Ed25519 key in base64")
    moment = now()
    row = db.session.scalar(select(EnrolmentToken).where(EnrolmentToken.token_hash == _hash(token)))
    if row is None:
        raise SyncError(403, "bad_token", "登记码不对 (unknown enrolment token)")
    if row.expires_at <= moment:
        raise SyncError(403, "token_expired", "登记码已过期 (enrolment token expired)")
    link = db.session.get(SyncStation, row.station_code)
    # The same box retrying after its answer was lost (same token, same key)
    # gets the same answer; anyone else finds the token spent.
    retry = row.used_at is not None and link.public_key == public_key and link.revoked_at is None
    if row.used_at is not None and not retry:
        raise SyncError(403, "token_used", "登记码已经用过 (enrolment token already used)")
    if not retry:
        # Conditional update: of two boxes racing with one token, one wins.
        claimed = db.session.execute(
            db.update(EnrolmentToken)
            .where(EnrolmentToken.id == row.id, EnrolmentToken.used_at.is_(None))
            .values(used_at=moment)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise SyncError(403, "token_used", "登记码已经用过 (enrolment token already used)")
    link.public_key = public_key
    link.enrolled_at = moment
    link.revoked_at = None
    link.last_contact_at = moment
    version = payload.get("software_version")
    link.software_version = version[:40] if isinstance(version, str) else None
    station = link.station
    log.info("station %s enrolled a new key", station.code)
    return {
        "station": reference_for(station)["station"],
        "hub_public_key": hub_public_key(),
        "public_base_url": public_base_url,
        "counter_floor": counter_floor(station.code),
        "hub_time": to_millis(moment),
    }


def counter_floor(station_code: str) -> dict[str, int]:
    """Highest receipt serial the hub has seen per local day for a station.

    A replaced box starts its counters here, so it never repeats a number.
    """
    floor: dict[str, int] = {}
    numbers = db.session.scalars(select(Opinion.receipt_number).where(Opinion.station_code == station_code))
    for number in numbers:
        _code, day, serial = number.rsplit("-", 2)
        floor[day] = max(floor.get(day, 0), int(serial))
    return floor


# --- signed requests --------------------------------------------------------


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
    link = db.session.get(SyncStation, code) if STATION_CODE.match(code) else None
    if link is None or link.public_key is None:
        raise SyncError(401, "unknown_station", "这个联络站没有在镇人大办登记 (unknown station)")
    if link.revoked_at is not None:
        raise SyncError(403, "revoked", "这个联络站的密钥已被吊销 (station key revoked)")
    if signing.body_digest(body) != claimed_digest:
        raise SyncError(401, "digest_mismatch", "body does not match its digest")
    try:
        signing.verify(link.public_key, signing.request_message(method, path, timestamp, nonce, claimed_digest), signature)
    except signing.BadSignature:
        raise SyncError(401, "bad_signature", "signature does not verify")
    window = current_app.config["SYNC_CLOCK_WINDOW_SECONDS"] * 1000
    if abs(to_millis(now()) - int(timestamp)) > window:
        raise SyncError(401, "stale_timestamp", "时间不对：请按镇人大办的时间校准后重试 (timestamp outside window)")
    if db.session.get(SyncNonce, (code, nonce)) is not None:
        raise SyncError(401, "replayed_nonce", "request nonce already used")
    try:
        with db.session.begin_nested():
            db.session.add(SyncNonce(station_code=code, nonce=nonce, seen_at=now()))
    except IntegrityError:
        raise SyncError(401, "replayed_nonce", "request nonce already used")
    return link


def forget_old_nonces() -> None:
    """Nonces older than twice the window can never be accepted again anyway."""
    horizon = now() - timedelta(seconds=2 * current_app.config["SYNC_CLOCK_WINDOW_SECONDS"])
    db.session.execute(db.delete(SyncNonce).where(SyncNonce.seen_at < horizon))


def note_contact(link: SyncStation, report) -> None:
    """Keep what the station says about itself (backlog, version, printer)."""
    link.last_contact_at = now()
    if isinstance(report, dict):
        backlog = report.get("backlog")
        if type(backlog) is int and backlog >= 0:
            link.reported_backlog = min(backlog, 2**31 - 1)
        for key, attr in (("version", "software_version"), ("printer", "printer_state")):
            value = report.get(key)
            if isinstance(value, str):
                setattr(link, attr, value[:40])


# --- push -------------------------------------------------------------------


def push(link: SyncStation, payload) -> dict:
    """Store a batch of records in the caller's transaction, keyed by UUID.

    A UUID the hub holds with the same digest is acknowledged again with
    its first receipt time; with another digest it is refused (409) and the
    station's version is kept in ``sync_conflicts``. A malformed batch
    raises SyncError before anything is written.
    """
    records = _parse_push(payload, link.station_code)
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
            if uuid in known:
                first_digest, first_at = known[uuid]
                if first_digest == record_digest:
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
    return {"acks": acks, "refused": refused, "hub_time": to_millis(moment)}


def _parse_push(payload, station_code: str) -> list[tuple]:
    if not isinstance(payload, dict) or set(payload) - {"records", "station"}:
        raise SyncError(400, "bad_request", "a push is an object with records and station")
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


# --- pull -------------------------------------------------------------------


def pull(link: SyncStation, payload) -> dict:
    """Everything changed for this station since its cursor, newest state.

    The cursor returned is safe to store: change numbers become visible in
    order (see SyncSequence), so nothing below it can still appear.
    """
    if not isinstance(payload, dict) or set(payload) - {"cursor", "limit", "station"}:
        raise SyncError(400, "bad_request", "a pull is an object with cursor, limit and station")
    cursor, limit = payload.get("cursor"), payload.get("limit", PULL_LIMIT)
    if type(cursor) is not int or cursor < 0 or type(limit) is not int or not 0 < limit <= 5000:
        raise SyncError(400, "bad_request", "cursor must be a whole number >= 0, limit 1 to 5000")
    note_contact(link, payload.get("station"))
    link.last_cursor = cursor
    answer = changes_since(link.station, cursor, limit)
    answer["hub_time"] = to_millis(now())
    return answer


def changes_since(station: Station, cursor: int, limit: int = PULL_LIMIT) -> dict:
    high = db.session.scalar(select(func.coalesce(func.max(SyncChange.id), 0)))
    if cursor > high:
        # A cursor from another hub database (a restored backup): start over.
        cursor = 0
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
    reference_changed = cursor == 0 or db.session.scalar(
        select(
            exists().where(
                SyncChange.kind == "reference",
                SyncChange.id > cursor,
                SyncChange.id <= new_cursor,
                (SyncChange.township_id.is_(None)) | (SyncChange.township_id == station.township_id),
            )
        )
    )
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
        "reference": reference_for(station) if reference_changed else None,
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
        "events": [{"status": step.status, "at": iso(step.at), "note": step.note} for step in shown.steps],
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


def reference_for(station: Station) -> dict:
    township = station.township
    # The duty roster from the hub's today on; stations that predate it ignore both keys.
    duty_from = today()
    return {
        "station": {
            "code": station.code,
            "name": station.name,
            "level": station.level,
            "address": station.address,
            "township": {"name": township.name, "kind": township.kind, "office_phone": township.office_phone},
        },
        "categories": [
            {
                "code": c.code,
                "name": c.name,
                "icon": c.icon,
                "position": c.position,
                "active": c.active,
                "answer_days": c.answer_days,
            }
            for c in db.session.scalars(select(Category).order_by(Category.position, Category.code))
        ],
        "deputies": [
            {"id": d.id, "name": d.name, "phone": d.phone, "occupation": d.occupation} for d in station.deputies
        ],
        "duty_from": duty_from.isoformat(),
        "duty_shifts": shifts_for_pull(station, duty_from),
    }

