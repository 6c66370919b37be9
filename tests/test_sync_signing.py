"""Signed requests and answers: every refusal, and nothing written by a refused request."""

import gzip
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Opinion, SyncNonce, utcnow
from kiosk.sync import registry as hub_services
from kiosk.sync import signing, wire
from kiosk.sync import station as station_sync
from kiosk.sync.client import Reply
from kiosk.clock import to_millis
from tests.support.factories import make_opinion
from tests.support.inprocess import sync
from tests.support.signed import signed_headers


def station_key(station_app):
    with station_app.app_context():
        return station_sync.private_key()


def opinion_push_body(station_app):
    with station_app.app_context():
        make_opinion("LC00")
        from kiosk.sync.records import RECORD_TYPES

        records = [{"type": "opinion", "data": d} for d in RECORD_TYPES["opinion"].pending(10)]
    return wire.encode({"records": records})


def post(hub_app, path, headers, body):
    response = hub_app.test_client().post(path, headers=headers, data=body)
    assert response.is_json or response.headers.get("Content-Encoding") == "gzip"
    return response


def error_of(response):
    return json.loads(response.get_data())["error"]


def hub_count(hub_app, model=Opinion):
    with hub_app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


PUSH = "/api/v1/sync/push"


def test_a_replayed_request_is_refused(station_app, hub_app):
    body = opinion_push_body(station_app)
    headers = signed_headers(station_key(station_app), PUSH, body)
    assert post(hub_app, PUSH, headers, body).status_code == 200
    again = post(hub_app, PUSH, headers, body)
    assert (again.status_code, error_of(again)) == (401, "replayed_nonce")
    assert hub_count(hub_app) == 1


def test_a_tampered_body_is_refused_and_nothing_written(station_app, hub_app):
    body = opinion_push_body(station_app)
    headers = signed_headers(station_key(station_app), PUSH, body)
    other = wire.encode({"records": []})
    response = post(hub_app, PUSH, headers, other)
    assert (response.status_code, error_of(response)) == (401, "digest_mismatch")
    headers[signing.H_DIGEST] = signing.body_digest(other)
    response = post(hub_app, PUSH, headers, other)
    assert (response.status_code, error_of(response)) == (401, "bad_signature")
    assert hub_count(hub_app) == 0 and hub_count(hub_app, SyncNonce) == 0


def test_a_stale_timestamp_is_refused_with_the_hub_time(station_app, hub_app):
    body = opinion_push_body(station_app)
    stale = to_millis(utcnow() - timedelta(days=3))
    response = post(hub_app, PUSH, signed_headers(station_key(station_app), PUSH, body, timestamp=stale), body)
    assert (response.status_code, error_of(response)) == (401, "stale_timestamp")
    assert abs(json.loads(response.get_data())["hub_time"] - to_millis(utcnow())) < 5000
    assert hub_count(hub_app) == 0


def test_a_station_whose_clock_drifted_corrects_it_and_gets_in(station_app, hub_app, transport):
    with station_app.app_context():
        make_opinion("LC00")
    station_app.config["SYNC_CLOCK"] = lambda: utcnow() - timedelta(days=4)
    result = sync(station_app, transport)
    assert result.ok, result.error
    with station_app.app_context():
        offset = station_sync.status().clock_offset_ms
    assert abs(offset - 4 * 86400 * 1000) < 10_000
    assert hub_count(hub_app) == 1


def test_a_revoked_station_is_refused_and_told_in_plain_words(station_app, hub_app, transport):
    with station_app.app_context():
        make_opinion("LC00")
    with hub_app.app_context():
        hub_services.revoke_station("LC00")
    result = sync(station_app, transport)
    assert not result.ok and "吊销" in result.error
    assert hub_count(hub_app) == 0
    with station_app.app_context():
        assert station_sync.status().waiting == 1


def test_an_unknown_key_or_another_stations_key_is_refused(station_app, hub_app, transport):
    body = opinion_push_body(station_app)
    stranger = Ed25519PrivateKey.generate()
    response = post(hub_app, PUSH, signed_headers(stranger, PUSH, body), body)
    assert (response.status_code, error_of(response)) == (401, "bad_signature")
    # LC01 is enrolled too; its key does not speak for LC00.
    with hub_app.app_context():
        token = hub_services.issue_token("LC01")
    other_key = Ed25519PrivateKey.generate()
    enrol = hub_app.test_client().post(
        "/api/v1/sync/enrol", json={"token": token, "public_key": signing.public_key_text(other_key)}
    )
    assert enrol.status_code == 200
    response = post(hub_app, PUSH, signed_headers(other_key, PUSH, body), body)
    assert (response.status_code, error_of(response)) == (401, "bad_signature")
    response = post(hub_app, PUSH, signed_headers(other_key, PUSH, body, station="LC01"), body)
    assert (response.status_code, error_of(response)) == (400, "bad_record")  # LC00's opinion, sent by LC01
    response = post(hub_app, PUSH, signed_headers(other_key, PUSH, body, station="ZZ99"), body)
    assert (response.status_code, error_of(response)) == (401, "unknown_station")
    assert hub_count(hub_app) == 0


def test_unsigned_requests_are_refused(hub_app):
    response = hub_app.test_client().post(PUSH, data=gzip.compress(b"{}"))
    assert (response.status_code, error_of(response)) == (401, "unsigned")


def test_an_enrolment_token_works_once_and_expires(hub_app):
    with hub_app.app_context():
        token = hub_services.issue_token("LC02")
        old = hub_services.issue_token("LC03")
    key = signing.public_key_text(Ed25519PrivateKey.generate())
    client = hub_app.test_client()
    assert client.post("/api/v1/sync/enrol", json={"token": token, "public_key": key}).status_code == 200
    # The same box retrying after a lost answer gets in; another key does not.
    assert client.post("/api/v1/sync/enrol", json={"token": token, "public_key": key}).status_code == 200
    other = signing.public_key_text(Ed25519PrivateKey.generate())
    again = client.post("/api/v1/sync/enrol", json={"token": token, "public_key": other})
    assert (again.status_code, again.get_json()["error"]) == (403, "token_used")
    hub_app.config["SYNC_CLOCK"] = lambda: utcnow() + timedelta(hours=25)
    late = client.post("/api/v1/sync/enrol", json={"token": old, "public_key": key})
    assert (late.status_code, late.get_json()["error"]) == (403, "token_expired")
    wrong = client.post("/api/v1/sync/enrol", json={"token": "guess", "public_key": key})
    assert (wrong.status_code, wrong.get_json()["error"]) == (403, "bad_token")


def test_a_forged_acknowledgement_marks_nothing_and_deletes_nothing(station_app, hub_app, transport):
    with station_app.app_context():
        uuid = make_opinion("LC00", anonymous=False, name="陈大文", phone="13800000000", consent_version="2026-11").uuid
    forger = Ed25519PrivateKey.generate()

    def forge(reply):
        body = wire.encode({"acks": {uuid: "2026-11-27T00:00:00.000000Z"}, "refused": [], "hub_time": to_millis(utcnow())})
        headers = dict(reply.headers, **{"x-kiosk-signature": signing.sign(forger, b"whatever")})
        return Reply(200, headers, body)

    transport.after = forge
    result = sync(station_app, transport)
    assert not result.ok and "签名" in result.error
    with station_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert opinion.acknowledged_at is None and opinion.contact_phone == "13800000000"
    # The hub did commit it; the next honest sync reconciles both sides.
    transport.after = None
    assert sync(station_app, transport).ok
    with station_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert opinion.acknowledged_at is not None and opinion.contact_phone is None
    assert hub_count(hub_app) == 1


def test_an_old_genuine_answer_replayed_to_a_new_request_is_refused(station_app, hub_app, transport):
    with station_app.app_context():
        make_opinion("LC00")
    answers = []
    transport.after = lambda reply: answers.append(reply)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        uuid = make_opinion("LC00").uuid
    old_push_answer = answers[0]
    transport.after = lambda reply: old_push_answer
    result = sync(station_app, transport)
    assert not result.ok
    with station_app.app_context():
        assert db.session.get(Opinion, uuid).acknowledged_at is None


@pytest.mark.parametrize(
    "payload, encoding, status, code",
    # mtime=0: the same bytes, and so the same test ids, at every collection
    # (pytest-xdist's workers must collect the same ids).
    [
        (b"not gzip at all", "gzip", 400, "bad_body"),
        (gzip.compress(b"{not json", mtime=0), "gzip", 400, "bad_body"),
        (gzip.compress(b"[1, 2]", mtime=0), "gzip", 400, "bad_request"),
        (gzip.compress(b'{"records": "many"}', mtime=0), "gzip", 400, "bad_request"),
        (gzip.compress(b'{"records": [], "extra": 1}', mtime=0), "gzip", 400, "bad_request"),
        (gzip.compress(b'{"records": [{"type": "opinion"}]}', mtime=0), "gzip", 400, "bad_record"),
        (gzip.compress(b'{"records": [{"type": "rating", "data": {}}]}', mtime=0), "gzip", 400, "bad_record"),
        (gzip.compress(b'{"records": [{"type": "opinion", "data": {"uuid": 5}}]}', mtime=0), "gzip", 400, "bad_record"),
        (b'{"records": []}', "identity", 415, "not_gzip"),
        (gzip.compress(b"0" * 70_000_000, mtime=0), "gzip", 413, "batch_too_large"),
        (gzip.compress(b'{"records": [' + b"[]," * 200_000 + b"[]]}", mtime=0), "gzip", 413, "batch_too_large"),
        (gzip.compress(b'{"records": ["' + b"x" * 40_000 + b'"]}', mtime=0), "gzip", 413, "batch_too_large"),
        (gzip.compress(b'{"records": [' + b"1" * 5000 + b"]}", mtime=0), "gzip", 400, "bad_body"),
    ],
)
def test_bad_push_bodies_get_a_clear_4xx_and_write_nothing(station_app, hub_app, payload, encoding, status, code):
    headers = signed_headers(station_key(station_app), PUSH, payload)
    headers["Content-Encoding"] = encoding
    response = post(hub_app, PUSH, headers, payload)
    assert (response.status_code, error_of(response)) == (status, code)
    assert hub_count(hub_app) == 0 and hub_count(hub_app, SyncNonce) == 0


def test_wrong_field_types_in_an_opinion_refuse_the_whole_batch(station_app, hub_app):
    with station_app.app_context():
        make_opinion("LC00")
        make_opinion("LC00")
        from kiosk.sync.records import RECORD_TYPES

        good, bad = RECORD_TYPES["opinion"].pending(10)
    for field, value in [("deputy_id", "7"), ("deputy_id", True), ("content", 123), ("created_at", "yesterday"),
                         ("receipt_number", "LC01-261127-0001"), ("contact_phone", "1" * 30), ("unknown", 1)]:
        broken = dict(bad, **{field: value})
        body = wire.encode({"records": [{"type": "opinion", "data": good}, {"type": "opinion", "data": broken}]})
        response = post(hub_app, PUSH, signed_headers(station_key(station_app), PUSH, body), body)
        assert (response.status_code, error_of(response)) == (400, "bad_record"), field
    assert hub_count(hub_app) == 0


def test_a_huge_batch_is_refused(station_app, hub_app):
    hub_app.config["SYNC_MAX_BATCH"] = 3
    body = wire.encode({"records": [{"type": "opinion", "data": {}}] * 4})
    response = post(hub_app, PUSH, signed_headers(station_key(station_app), PUSH, body), body)
    assert (response.status_code, error_of(response)) == (413, "batch_too_large")


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'{"token": 1, "public_key": 2}', b'{"token": "x", "public_key": "short"}', b'{"token": "x", "public_key": "x", "z": 1}'])
def test_bad_enrolment_bodies_get_a_clear_4xx(hub_app, body):
    response = hub_app.test_client().post("/api/v1/sync/enrol", data=body)
    assert 400 <= response.status_code < 500 and "error" in response.get_json()


@pytest.mark.parametrize("method, path", [("GET", PUSH), ("POST", "/api/v1/sync/nothing"), ("GET", "/api/v1/sync/")])
def test_unknown_endpoints_and_methods_answer_json(hub_app, method, path):
    response = hub_app.test_client().open(path, method=method)
    assert response.status_code in (404, 405) and "error" in response.get_json()


def test_bad_pull_bodies_get_a_clear_4xx(station_app, hub_app):
    for payload in [{"cursor": -1}, {"cursor": "0"}, {"cursor": 0, "limit": 0}, {"cursor": 0, "more": 1}, {}]:
        body = wire.encode(payload)
        path = "/api/v1/sync/pull"
        response = post(hub_app, path, signed_headers(station_key(station_app), path, body), body)
        assert (response.status_code, error_of(response)) == (400, "bad_request"), payload


def test_every_answer_is_signed_by_the_hub(station_app, hub_app):
    response = hub_app.test_client().post(PUSH, data=b"")
    with hub_app.app_context():
        key = hub_services.hub_public_key()
    message = signing.response_message(
        response.status_code, "", response.headers[signing.H_HUB_TIME], signing.body_digest(response.get_data())
    )
    signing.verify(key, message, response.headers[signing.H_SIGNATURE])
