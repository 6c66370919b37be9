"""The hub's register of its stations.

Which stations exist and their one-time enrolment tokens (the ``stations``
commands and the set-up pages), the key each enrolled box signs with, the
hub's own signing key the boxes trust, what each station last reported of
itself, and what a station is told of itself and its reference data
(categories, deputies, duty roster) at enrolment and in every pull.

Every function here runs inside the caller's transaction and commits
nothing itself, except the CLI helpers that say so. ``SyncError`` is the
refusal the sync API turns into a JSON answer: enrolment here raises it,
and so do the push and pull in ``hub``.
"""

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..clock import now, to_millis
from ..extensions import db
from ..models import Category, Deputy, DeputyPhoto, EnrolmentToken, Opinion, Station, StationLevel, SyncStation, Township
from ..receipts.numbers import NUMBER, STATION_CODE
from ..roster.services import local_today, shifts_for_pull
from . import signing

log = logging.getLogger(__name__)

ENROLMENT_TTL = timedelta(hours=24)
SILENT_AFTER = timedelta(days=1)


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


def register_station(code: str, name: str, township_name: str, level: str, address: str | None = None) -> str:
    """Register a station and return a one-time enrolment token. Commits."""
    if not STATION_CODE.fullmatch(code or ""):
        raise ValueError("站点代码须为 2 到 8 位大写字母或数字 (station code: 2 to 8 capital letters or digits)")
    if level not in {lv.value for lv in StationLevel.with_box()}:
        raise ValueError(f"level must be one of {', '.join(lv.value for lv in StationLevel.with_box())}")
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
    station = db.session.get(Station, code)
    if station is None:
        raise ValueError(f"没有站点代码为 {code} 的联络站")
    if station.is_online:
        raise ValueError(f"{code} 是网上联络站，没有机器要登记")
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
        # The township's online station has no box to enrol or watch.
        .where(Station.level != StationLevel.ONLINE)
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
        if match := NUMBER.fullmatch(number):  # every stored number does: the push checks it
            _code, day, serial = match.groups()
            floor[day] = max(floor.get(day, 0), int(serial))
    return floor


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


def reference_for(station: Station, held_photos: set[str] | None = None) -> dict:
    """The station's reference data: itself, the categories, its serving deputies and their roster.

    Deputies go with their public fields only (never the private mobile);
    their photos are named by SHA-256 and sent only when the station does
    not hold them already (``held_photos``, as it said in its pull; None:
    send them all). A retired deputy is not sent, so the station drops them.
    """
    township = station.township
    deputies = station.serving_deputies
    # The duty roster from the hub's today on; stations that predate it ignore both keys.
    duty_from = local_today()
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
        "deputies": [public_deputy(d) for d in deputies],
        "photos": photos_for(deputies, held_photos or set()),
        "duty_from": duty_from.isoformat(),
        "duty_shifts": shifts_for_pull(station, duty_from),
    }


def public_deputy(deputy: Deputy) -> dict:
    """What a station may know of a deputy. ``phone`` is the public phone, for stations that predate the rest."""
    return {
        "id": deputy.id,
        "public_id": deputy.public_id,
        "name": deputy.name,
        "sex": deputy.sex,
        "level": deputy.level,
        "occupation": deputy.occupation,
        "public_phone": deputy.public_phone,
        "phone": deputy.public_phone,
        "photo": deputy.photo,
        # The duty PIN's hash only, to check a check-in offline; never the PIN.
        "pin_hash": deputy.pin_hash,
    }


def photos_for(deputies: list[Deputy], held: set[str]) -> dict[str, str]:
    """The deputies' photos the station lacks, base64 by SHA-256."""
    wanted = {d.photo for d in deputies if d.photo} - held
    if not wanted:
        return {}
    rows = db.session.execute(select(DeputyPhoto.sha256, DeputyPhoto.data).where(DeputyPhoto.sha256.in_(wanted)))
    return {sha: base64.b64encode(data).decode() for sha, data in rows}
