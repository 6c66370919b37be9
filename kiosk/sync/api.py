"""The hub's sync API under /api/v1/sync/: enrol, push, pull.

Every answer is JSON, signed by the hub over its status, the request's
nonce, the hub time and the body digest; refusals are 4xx with an
``error`` code and a ``message``. A view commits once at its end, so a
refused or failed request writes nothing.
"""

import json
import logging
import random
import re

from flask import Blueprint, Response, current_app, g, request, send_file
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ..clock import now, to_millis
from ..crash import crash_point
from .. import release
from ..extensions import csrf, db
from ..stats import rollup
from ..text import holds_control_characters
from . import hub, registry, signing, voice, wire

log = logging.getLogger(__name__)

bp = Blueprint("sync_api", __name__, url_prefix="/api/v1/sync")
csrf.exempt(bp)


voice_name = re.compile(r"^[0-9a-f]{64}$")

# An enrolment is a token, a key and a version: a few hundred bytes. Read no
# more before anyone is known (else 413).
ENROL_MAX_BODY = 4 * 1024


# Their commits leave the dashboard's figures stale, to be counted when it
# reads (kiosk.stats.rollup): a push's month recounted in every push made the
# stations' pushes wait on each other; a pull writes no opinions at all.
FIGURES_LATER = {"sync_api.push", "sync_api.pull"}


@bp.before_request
def _limits():
    enrolling = request.endpoint == "sync_api.enrol"
    request.max_content_length = ENROL_MAX_BODY if enrolling else current_app.config["SYNC_MAX_BODY"]
    g.sync_nonce = request.headers.get(signing.H_NONCE, "")[:40]
    if request.endpoint in FIGURES_LATER:
        db.session.info[rollup.LEAVE_STALE] = True


@bp.teardown_request
def _figures_as_usual(_error):
    # The session may outlive the request (a test's app context): later commits count again.
    db.session.info.pop(rollup.LEAVE_STALE, None)


@bp.post("/enrol")
def enrol():
    """Register this box's public key with a one-time token."""
    payload = _json_body()
    answer = registry.enrol(payload, current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/"))
    db.session.commit()
    return signed(answer)


@bp.post("/push")
def push():
    """Store a batch of the station's records; acknowledge or refuse each."""
    link = _authenticated()
    try:
        answer = hub.push(link, _wire_body(*hub.push_limits()))
        crash_point("hub_push_before_commit")
        db.session.commit()
    except IntegrityError:
        # Another request stored one of these records at the same moment;
        # nothing of this one was kept, and a retry will be acknowledged.
        raise registry.SyncError(409, "retry", "同一批记录正在另一请求中保存，请稍后重试 (concurrent write; retry)")
    crash_point("hub_push_after_commit")
    return signed(answer)


@bp.post("/pull")
def pull():
    """What changed for the station since its cursor."""
    link = _authenticated()
    answer = hub.pull(link, _wire_body(*hub.PULL_LIMITS))
    if random.random() < 0.01:
        hub.forget_old_nonces()
    db.session.commit()
    return signed(answer)


@bp.post("/voice/<sha256>/<int:offset>")
def receive_voice(sha256: str, offset: int):
    """A chunk of a voice message at ``offset`` (the body, raw bytes); say how far the hub has got."""
    link = _authenticated()
    if not voice_name.fullmatch(sha256):
        raise registry.SyncError(400, "bad_request", "a recording is named by its SHA-256, 64 lower-case hex digits")
    try:
        answer = voice.receive_chunk(link.station_code, sha256, offset, request.get_data(cache=True))
    except voice.VoiceBad as bad:
        # The bytes are discarded for good (committed): the station sends the file again.
        db.session.commit()
        return _error(409, bad.code, bad.message)
    db.session.commit()
    return signed({**answer, "hub_time": to_millis(now())})


@bp.get("/releases/<name>")
def release_file(name):
    """A published release, for a station's upgrade job.

    Unsigned and open: the file is the product's code, and the box checks
    the hub's signature over it before installing anything."""
    path = release.artifact(name)
    if path is None:
        raise registry.SyncError(404, "not_found", "没有这个版本 (no such release)")
    return send_file(path, mimetype="application/gzip", conditional=True, max_age=0)


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/", defaults={"anything": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(anything):
    """Anything else under the API gets a JSON answer too."""
    if anything in {"enrol", "push", "pull"} or anything.startswith("voice/"):
        raise registry.SyncError(405, "method_not_allowed", "use POST")
    raise registry.SyncError(404, "not_found", "no such sync endpoint")


def _authenticated():
    body = request.get_data(cache=True)
    path = request.script_root + request.path
    if request.query_string:
        path += "?" + request.query_string.decode("latin-1")
    return hub.authenticate(request.method, path, request.headers, body)


def _wire_body(max_bytes: int, max_tokens: int):
    if request.headers.get("Content-Encoding", "").lower() != wire.CONTENT_ENCODING:
        raise registry.SyncError(415, "not_gzip", "send the body as gzip-compressed JSON")
    try:
        return wire.decode(request.get_data(cache=True), max_bytes, max_tokens, hub.STRING_MAX_BYTES)
    except wire.TooLarge as error:
        raise registry.SyncError(413, "batch_too_large", f"{error}; send fewer records per batch")
    except wire.BadBody as error:
        raise registry.SyncError(400, "bad_body", str(error))


def _json_body():
    try:
        payload = json.loads(request.get_data(cache=True))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise registry.SyncError(400, "bad_body", "body is not JSON")
    except RecursionError:
        raise registry.SyncError(400, "bad_body", "body is nested too deeply")
    if holds_control_characters(payload):
        raise registry.SyncError(400, "bad_body", "body holds control characters")
    return payload


def signed(payload: dict, status: int = 200, compress: bool = True) -> Response:
    """A JSON answer signed by the hub, bound to the request's nonce."""
    body = wire.encode(payload) if compress else wire.dumps(payload)
    timestamp = str(to_millis(now()))
    digest = signing.body_digest(body)
    signature = signing.sign(registry.hub_key(), signing.response_message(status, g.get("sync_nonce", ""), timestamp, digest))
    response = Response(body, status, content_type="application/json; charset=utf-8")
    if compress:
        response.headers["Content-Encoding"] = wire.CONTENT_ENCODING
    response.headers[signing.H_HUB_TIME] = timestamp
    response.headers[signing.H_DIGEST] = digest
    response.headers[signing.H_SIGNATURE] = signature
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(registry.SyncError)
def _refused(error: registry.SyncError):
    db.session.rollback()
    log.info("sync request refused: %s %s", error.code, error.message)
    return _error(error.status, error.code, error.message)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    db.session.rollback()
    return _error(error.code or 400, error.name.lower().replace(" ", "_"), error.description or error.name)


@bp.errorhandler(Exception)
def _failed(error: Exception):
    db.session.rollback()
    log.exception("sync request failed")
    return _error(500, "internal", "镇人大办服务器出错，请稍后再试 (hub error; nothing was stored)")


def _error(status: int, code: str, message: str) -> Response:
    return signed({"error": code, "message": message, "hub_time": to_millis(now())}, status, compress=False)
