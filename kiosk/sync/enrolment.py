"""This box's enrolment with its township hub.

Enrolling makes the box's key pair, registers the public key with the hub
(a one-time token from ``stations add`` or ``stations token``), and takes
the hub's word on which station this is and where its receipt counters
stand. What it learnt (the hub's address and public key, the station code,
the public address for receipt QR codes) is kept in a file in the instance
folder, the private key beside it. The sync state row (cursor, clock
offset, failures) belongs to the enrolment: a new one starts it afresh.
"""

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..clock import now, to_millis
from ..extensions import db
from ..instance import write_private
from ..models import BoxIdentity, ReceiptCounter, Station, SyncState, Township
from . import client, signing
from .records import waiting_count

log = logging.getLogger(__name__)

ENROLMENT_FILE = "hub.json"
KEY_FILE = "station_key.pem"
# What the box tells the hub it runs (the fleet page shows it): the release
# it was installed from (deploy/build-release writes VERSION), else the code's name.
_RELEASE_VERSION = Path(__file__).resolve().parents[2] / "VERSION"
SOFTWARE_VERSION = (
    f"kiosk-{_RELEASE_VERSION.read_text().strip()}"[:40] if _RELEASE_VERSION.is_file() else "kiosk-0.3"
)


class NotEnrolled(Exception):
    """This box has no hub to talk to yet."""


class EnrolmentRefused(Exception):
    """Enrolment did not happen; the message says why in plain words."""


@dataclass(frozen=True)
class Enrolment:
    hub_url: str
    station_code: str
    hub_public_key: str
    public_base_url: str
    enrolled_at: str


def _instance() -> Path:
    return Path(current_app.instance_path)


def enrolment() -> Enrolment | None:
    try:
        data = json.loads((_instance() / ENROLMENT_FILE).read_text())
        return Enrolment(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as error:
        raise RuntimeError(f"{_instance() / ENROLMENT_FILE} is damaged: {error}")


def private_key():
    return signing.load_or_make_key(_instance() / KEY_FILE)


def enroll(hub_url: str, token: str, transport: client.Transport | None = None) -> Enrolment:
    """Make this box's key pair, register its public key with the hub, and
    take over the hub's word on which station this is and where receipt
    counters stand. The private key is written only to the instance folder."""
    instance = _instance()
    new_key_path = instance / (KEY_FILE + ".new")
    # A key left by an attempt whose answer was lost is used again: the hub
    # answers the same token and key again, so the retry can succeed.
    key = signing.load_or_make_key(new_key_path)
    config = current_app.config
    try:
        http = client.HttpTransport(hub_url, config["SYNC_TIMEOUT_SECONDS"], config["SYNC_CA_FILE"])
        answer = client.enrol_request(
            transport or http, http.prefix, token, signing.public_key_text(key), SOFTWARE_VERSION
        )
    except client.HubRefused as refusal:
        new_key_path.unlink(missing_ok=True)
        raise EnrolmentRefused(f"镇人大办拒绝登记: {refusal.message}")
    except (client.LinkDown, client.BadAnswer, ValueError) as error:
        raise EnrolmentRefused(f"连不上镇人大办，请再试一次: {error}")
    try:
        station_ref = answer["station"]
        code = station_ref["code"]
        floor = {str(day): int(serial) for day, serial in answer["counter_floor"].items()}
        hub_key, base_url, hub_time = answer["hub_public_key"], answer["public_base_url"], int(answer["hub_time"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise EnrolmentRefused(f"镇人大办的回复不完整: {error}")
    identity = db.session.get(BoxIdentity, 1)
    if identity is not None and identity.station_code != code:
        # Everything still waiting here (opinions, ratings) was made as the old station.
        waiting = waiting_count()
        if waiting:
            new_key_path.unlink(missing_ok=True)
            raise EnrolmentRefused(
                f"本机还有 {waiting} 条 {identity.station_code} 站的记录没有送到镇人大办，不能改登记为 {code}"
            )
    apply_station(station_ref)
    db.session.merge(BoxIdentity(id=1, station_code=code))
    _raise_counters(code, floor)
    state = sync_state()
    state.cursor = 0
    state.clock_offset_ms = hub_time - to_millis(now())
    state.last_error = None
    state.failures = 0
    db.session.commit()
    os.replace(new_key_path, instance / KEY_FILE)
    result = Enrolment(hub_url.rstrip("/"), code, hub_key, base_url.rstrip("/"), now().isoformat())
    _write_json(instance / ENROLMENT_FILE, asdict(result))
    current_app.extensions.pop("sync_enrolment_mtime", None)
    if current_app.extensions.get("sync_public_base_derived"):
        current_app.config["PUBLIC_BASE_URL"] = result.public_base_url
    log.info("enrolled as station %s with hub %s", code, hub_url)
    return result


def _write_json(path: Path, data: dict) -> None:
    write_private(path, json.dumps(data, ensure_ascii=False, indent=2))


def _raise_counters(code: str, floor: dict[str, int]) -> None:
    """Never below what the hub has seen: a replaced box never repeats a number."""
    existing = {
        c.day: c for c in db.session.scalars(select(ReceiptCounter).where(ReceiptCounter.station_code == code))
    }
    for day, serial in floor.items():
        counter = existing.get(day)
        if counter is None:
            db.session.add(ReceiptCounter(station_code=code, day=day, last_serial=serial))
        elif counter.last_serial < serial:
            counter.last_serial = serial


def sync_state() -> SyncState:
    """This box's one sync state row (cursor, clock offset, failures), made on first use."""
    state = db.session.get(SyncState, 1)
    if state is None:
        state = SyncState(id=1, cursor=0, clock_offset_ms=0, failures=0)
        db.session.add(state)
    return state


def apply_station(ref: dict) -> Station:
    """Take the hub's word on this station and its township (at enrolment and in the pull)."""
    township_ref = ref["township"]
    township = db.session.scalar(select(Township).where(Township.name == township_ref["name"]))
    if township is None:
        township = Township(name=township_ref["name"])
        db.session.add(township)
    township.kind = township_ref["kind"]
    township.office_phone = township_ref["office_phone"]
    db.session.flush()
    station = db.session.get(Station, ref["code"]) or Station(code=ref["code"])
    station.name, station.level, station.address = ref["name"], ref["level"], ref["address"]
    station.township_id = township.id
    db.session.add(station)
    db.session.flush()
    return station
