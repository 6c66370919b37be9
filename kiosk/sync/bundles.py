"""Bundles: the same push and pull carried on a USB stick when there is no link.

A station bundle is what a push would send, signed by the station's key; the
hub ingests it under the same rules as a push and writes an answer bundle
(acknowledgements plus what a pull would return), signed by the hub's key
and bound to the station bundle's nonce. Both are replay-safe: importing a
station bundle again acknowledges the same records again; applying an
answer again marks nothing new and never moves the cursor back.

A bundle from a revoked station is refused, unless a person decides
otherwise with ``--accept-revoked``: that decision is recorded in
``sync_audit`` with who and why.
"""

import base64
import binascii
import json
import logging
import secrets
from pathlib import Path

from sqlalchemy import select

from ..clock import now, to_millis
from ..extensions import db
from ..models import BoxIdentity, SyncAudit, SyncStation
from . import hub, registry, signing, station, voice, wire
from .enrolment import enrolment, private_key, sync_state
from .records import RECORD_TYPES, waiting_count

log = logging.getLogger(__name__)

FORMAT = "kiosk-sync-bundle-1"


class BundleRefused(Exception):
    """The bundle is not acceptable; the message says why in plain words."""


def _write(path: str, kind: str, payload: dict, key) -> None:
    body = wire.encode(payload)
    envelope = {
        "format": FORMAT,
        "kind": kind,
        "payload": base64.b64encode(body).decode(),
        "signature": signing.sign(key, signing.bundle_message(kind, body)),
    }
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(envelope))
    tmp.replace(path)


def _read(path: str, kind: str) -> tuple[dict, bytes, str]:
    try:
        envelope = json.loads(Path(path).read_text())
        if envelope.get("format") != FORMAT or envelope.get("kind") != kind:
            raise BundleRefused(f"这不是{'联络站导出的同步文件' if kind == 'station' else '镇人大办的回执文件'}")
        body = base64.b64decode(envelope["payload"], validate=True)
        payload = wire.decode(body)
        if not isinstance(payload, dict):
            raise BundleRefused("文件内容损坏")
        return payload, body, envelope["signature"]
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, wire.BadBody, UnicodeDecodeError) as error:
        raise BundleRefused(f"文件损坏，无法读取: {error}")


# --- station ----------------------------------------------------------------


def export_bundle(path: str, progress=lambda n: None) -> int:
    """Write every unacknowledged record to a signed bundle; return how many."""
    link = enrolment()
    if link is None:
        raise BundleRefused("本站还没有登记到镇人大办")
    records = [
        {"type": t.name, "data": data} for t in RECORD_TYPES.values() for data in t.pending(10**9)
    ]
    state = sync_state()
    payload = {
        "station_code": link.station_code,
        "nonce": secrets.token_urlsafe(18),
        "created_at": to_millis(now()),
        "cursor": state.cursor,
        "records": records,
        "station": station.report(),
        "photos": station.held_photos(),
        # Whole recordings, of the opinions here or at the hub already, not confirmed yet.
        "voices": voice.bundle_voices({r["data"]["uuid"] for r in records if r["type"] == "opinion"}),
    }
    if state.resending:
        # The hub was restored from a backup: what it holds already it acknowledges as it is.
        payload["resend"] = True
    if station.restored_mark() is not None:
        # Restored from a backup: the answer must say which receipt numbers the hub holds.
        payload["serials_since"] = station.serials_since()
    _write(path, "station", payload, private_key())
    db.session.rollback()
    progress(1)
    log.info("exported %d records to %s", len(records), path)
    return len(records)


def import_answer(path: str) -> dict:
    """Apply the hub's answer bundle: acknowledgements, refusals, updates."""
    link = enrolment()
    if link is None:
        raise BundleRefused("本站还没有登记到镇人大办")
    payload, body, signature = _read(path, "answer")
    try:
        signing.verify(link.hub_public_key, signing.bundle_message("answer", body), signature)
    except signing.BadSignature:
        raise BundleRefused("回执文件的签名不对（不是镇人大办签发的，或已被改动），不予处理")
    identity = db.session.get(BoxIdentity, 1)
    if payload.get("station_code") != link.station_code or identity is None or identity.station_code != link.station_code:
        raise BundleRefused(f"这是发给 {payload.get('station_code')} 站的回执文件，不是本站的")
    push, pull = payload.get("push"), payload.get("pull")
    if not isinstance(push, dict) or not isinstance(pull, dict):
        raise BundleRefused("回执文件内容不完整")
    mentioned = list(push.get("acks") or {}) + [r.get("uuid") for r in push.get("refused") or [] if isinstance(r, dict)]
    with station.sync_lock(wait=None):
        sent = {}
        for record_type in RECORD_TYPES.values():
            for uuid in record_type.unacknowledged(mentioned):
                sent[uuid] = record_type
        try:
            generation = station.sync_state().hub_generation
            acknowledged, refused = station.apply_push_answer(sent, push)
            if generation not in (None, station.sync_state().hub_generation):
                # The hub was restored: its pull answered a cursor into its lost copy.
                # The next bundle sends everything again and asks from the start.
                return {"acknowledged": acknowledged, "refused": refused, "pulled": 0}
            if "serials" in pull:
                station.raise_counters_to_hub(pull["serials"])
                db.session.commit()  # on its own: an older answer's pull below may apply nothing
            pulled = station.apply_pull_answer(pull, only_if_newer=True)
            voices = voice.apply_bundled_answers(payload.get("voices"), payload.get("hub_time"))
            if voices:
                # The recordings just confirmed go by the same rule as the names and phones.
                station.forget_personal_data(pull)
        except (station.AnswerMalformed, voice.AnswerMalformed) as error:
            raise BundleRefused(f"回执文件内容不对: {error}")
        mark = station.restored_mark()
        if mark is not None and "serials" in pull and waiting_count() == 0:
            # Every record the backup held is at the hub, the counters past its numbers.
            station.end_catch_up(mark)
        station.end_resend()
    return {"acknowledged": acknowledged, "refused": refused, "pulled": pulled, "voices": voices}


# --- hub --------------------------------------------------------------------


def import_bundle(path: str, answer_path: str, decision: tuple[str, str] | None = None, progress=lambda n: None) -> dict:
    """Ingest a station bundle like a push, then write the signed answer.

    ``decision``: (who, why) when a person accepts a revoked station's bundle."""
    payload, body, signature = _read(path, "station")
    code = payload.get("station_code")
    link = db.session.get(SyncStation, code) if isinstance(code, str) else None
    if link is None or link.public_key is None:
        raise BundleRefused(f"镇人大办不认识这个联络站: {code}")
    try:
        signing.verify(link.public_key, signing.bundle_message("station", body), signature)
    except signing.BadSignature:
        raise BundleRefused("文件签名不对（不是该站导出的，或已被改动），不予导入")
    if link.revoked_at is not None:
        if decision is None:
            raise BundleRefused(
                f"{code} 站的密钥已被吊销。如确认要接收，请用 --accept-revoked --decided-by 姓名 --reason 原因（会记录在案）"
            )
        who, why = decision
        db.session.add(
            SyncAudit(
                action="accept_revoked_bundle",
                station_code=code,
                actor=who[:80],
                reason=why,
                detail=json.dumps({"nonce": payload.get("nonce"), "records": len(payload.get("records") or [])}),
            )
        )
        log.warning("bundle from revoked station %s accepted by %s: %s", code, who, why)
    cursor = payload.get("cursor")
    if type(cursor) is not int or cursor < 0:
        raise BundleRefused("文件内容不完整 (cursor)")
    # A restored station asks which of its receipt numbers the hub holds.
    since = payload.get("serials_since")
    try:
        if since is not None:
            hub.check_serials_since(since)
        push = hub.push(
            link,
            {"records": payload.get("records"), "station": payload.get("station"), "resend": payload.get("resend") is True},
        )
    except registry.SyncError as error:
        db.session.rollback()
        raise BundleRefused(f"文件内容不对: {error.message}")
    # The recordings after the records that name them; a station that predates them carries none.
    voices = voice.take_bundled(code, payload.get("voices"))
    # The deputies' photos the station holds are not carried back again (an older station says none).
    held = payload.get("photos")
    held = {sha for sha in held if isinstance(sha, str)} if isinstance(held, list) else set()
    pull = hub.changes_since(link.station, cursor, limit=10**9, held_photos=held)
    if since is not None:
        pull["serials"] = hub.highest_serials(code, since)
    db.session.commit()
    answer = {
        "station_code": code,
        "bundle_nonce": payload.get("nonce"),
        "push": push,
        "pull": pull,
        "voices": voices,
        "hub_time": to_millis(now()),
    }
    _write(answer_path, "answer", answer, registry.hub_key())
    progress(1)
    confirmed = sum(1 for said in voices.values() if said.get("confirmed"))
    return {"station": code, "acknowledged": len(push["acks"]), "refused": len(push["refused"]), "voices": confirmed}


def audit_trail(code: str) -> list[SyncAudit]:
    return list(db.session.scalars(select(SyncAudit).where(SyncAudit.station_code == code).order_by(SyncAudit.at)))
