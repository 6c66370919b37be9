"""What one request may cost a hub in memory, measured on a hub in its own process.

The hub's resident set is read from /proc before a request, its peak
(VmHWM, reset through clear_refs) after: no request may grow it by more
than four times its body once inflated, plus 32 MB.
"""

import gzip
import json
import threading
import urllib.error
import urllib.request
import uuid as uuids
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.clock import iso
from kiosk.demo import data as demo_data
from kiosk.models import utcnow
from kiosk.sync import signing, wire
from tests.support.apps import copy_database
from tests.support.boxes import hub_token
from tests.support.servers import ServerProcess
from tests.support.signed import signed_headers

MB = 1024 * 1024
PUSH = "/api/v1/sync/push"
ENROL = "/api/v1/sync/enrol"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, hub_database):
    """A hub server on SQLite, and the key of station LC00 enrolled with it."""
    instance = copy_database(hub_database, tmp_path_factory.mktemp("memory") / "hub")
    box = ServerProcess(instance, {"ROLE": "hub"}).start()
    key = Ed25519PrivateKey.generate()
    enrolment = {"token": hub_token(box, "LC00"), "public_key": signing.public_key_text(key), "software_version": "t"}
    assert post(box, ENROL, json.dumps(enrolment).encode())[0] == 200
    box.key = key
    yield box
    box.stop()


def post(hub, path, body, headers=None):
    request = urllib.request.Request(hub.url + path, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refusal:
        return refusal.code, refusal.read()


def push(hub, raw: bytes):
    """``raw`` JSON, gzipped and signed by the station as a push."""
    body = gzip.compress(raw, compresslevel=1)
    headers = signed_headers(hub.key, PUSH, body)
    status, answer = post(hub, PUSH, body, headers)
    return status, json.loads(gzip.decompress(answer) if answer[:2] == b"\x1f\x8b" else answer)


def memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def growth(hub, send) -> int:
    """How far the hub's resident set rose above where it stood while ``send()`` ran."""
    pid = hub.process.pid
    before = memory(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current size
    send()
    return memory(pid, "VmHWM") - before


def empty_objects(size: int) -> bytes:
    """A push of nothing but empty objects, ``size`` bytes long."""
    return b'{"records":[' + b"{}," * ((size - 20) // 3) + b'{}]}'


def opinions(n: int, day: str, content: str) -> bytes:
    """A push of ``n`` well-formed opinions of station LC00 made on ``day`` (YYMMDD)."""
    category = demo_data.CATEGORIES[0][0]
    records = [
        {
            "type": "opinion",
            "data": {
                "uuid": str(uuids.uuid4()),
                "receipt_number": f"LC00-{day}-{i + 1:04d}",
                "secret": "ACDEFG",
                "station_code": "LC00",
                "category": category,
                "content": content,
                "deputy_id": None,
                "consent_version": "2026-11",
                "contact_name": "陈大文",
                "contact_phone": "13800000000",
                "created_at": iso(utcnow()),
            },
        }
        for i in range(n)
    ]
    return wire.dumps({"records": records, "station": {"backlog": 0, "version": "t", "printer": "idle"}})


# The largest body the sync API takes at all (SYNC_MAX_BODY), of empty objects.
ENROLMENT = b"[" + b"{}," * ((16 * MB - 3) // 3) + b"{}]"


def check(hub, raw_size: int, send) -> None:
    assert growth(hub, send) <= 4 * raw_size + 32 * MB


def test_a_large_enrolment_is_refused_before_it_is_read(hub):
    body = ENROLMENT
    outcome = []
    check(hub, len(body), lambda: outcome.append(post(hub, ENROL, body, {"Content-Type": "application/json"})))
    assert outcome[0][0] == 413


def test_four_large_enrolments_at_once_are_refused(hub):
    body = ENROLMENT
    outcome = []

    def four():
        def enrol():
            outcome.append(post(hub, ENROL, body, {"Content-Type": "application/json"}))

        threads = [threading.Thread(target=enrol) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    growth_of_four = growth(hub, four)
    assert [status for status, _ in outcome] == [413] * 4
    assert growth_of_four <= 4 * len(body) + 32 * MB


@pytest.mark.parametrize(
    "size", [63 * MB, 30 * MB], ids=["past-the-inflation-cap", "within-the-cap-refused-while-counted"]
)
def test_a_gzip_bomb_of_empty_objects_is_refused(hub, size):
    raw = empty_objects(size)
    outcome = []
    check(hub, len(raw), lambda: outcome.append(push(hub, raw)))
    status, answer = outcome[0]
    assert (status, answer["error"]) == (413, "batch_too_large")


@pytest.mark.parametrize("filler", ["x", "村"])
@pytest.mark.parametrize("size, status", [(5 * MB, 200), (30 * MB, 413)])
def test_long_strings_with_characters_beyond_the_bmp_stay_bounded(hub, filler, size, status):
    # One emoji makes Python hold the whole text, and each string, at four bytes a character.
    text = filler * 10_000 + "😀"
    strings = size // len(text.encode())
    raw = json.dumps({"records": [], "station": {f"k{i}": text for i in range(strings)}}, ensure_ascii=False).encode()
    outcome = []
    check(hub, len(raw), lambda: outcome.append(push(hub, raw)))
    assert outcome[0][0] == status


@pytest.mark.parametrize(
    "day, content",
    [("261201", "村口的路灯坏了三个月，晚上很黑。" * 125), ("261202", "村口的路灯坏了三个月，晚上很黑。👍" * 17)],
    ids=["longest", "with-emoji"],
)
def test_a_full_batch_of_long_opinions_is_taken(hub, day, content):
    raw = opinions(2000, day, content)
    outcome = []
    check(hub, len(raw), lambda: outcome.append(push(hub, raw)))
    status, answer = outcome[0]
    assert status == 200 and len(answer["acks"]) == 2000 and not answer["refused"]
