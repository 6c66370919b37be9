"""The `stations` commands at the hub, back-off, pull paging and HTTPS verification."""

import datetime as dt
import ipaddress
import random
import re
import ssl
from pathlib import Path

import pytest
from sqlalchemy import select
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.extensions import db
from kiosk.models import Opinion, OpinionEvent, utcnow
from kiosk.sync import hub as hub_services
from kiosk.sync import loop
from kiosk.sync import station as station_sync
from kiosk.sync import client
from kiosk.sync.client import HttpTransport, LinkDown, Reply
from tests.support.boxes import enrolled_station, run
from tests.support.factories import make_opinion
from tests.support.inprocess import sync
from tests.support.proxy import FaultyProxy
from tests.support.servers import ServerProcess


def hub_cli(hub_app, *args):
    return hub_app.test_cli_runner().invoke(args=list(args))


def test_token_revoke_and_list(station_app, hub_app, transport):
    result = hub_cli(hub_app, "stations", "token", "LC01")
    assert result.exit_code == 0 and re.fullmatch(r"[A-Za-z0-9_-]{24,}", result.output.splitlines()[-1])
    assert hub_cli(hub_app, "stations", "token", "NOPE").exit_code != 0
    assert sync(station_app, transport).ok
    listing = hub_cli(hub_app, "stations", "list").output
    assert re.search(r"^LC00\s+正常", listing, re.M) and "超过一天" not in listing
    hub_app.config["SYNC_CLOCK"] = lambda: utcnow() + dt.timedelta(days=2)
    listing = hub_cli(hub_app, "stations", "list").output
    assert re.search(r"^! LC00 .*超过一天没有联系", listing, re.M)
    assert "1 stations, 1 silent" in listing
    result = hub_cli(hub_app, "stations", "revoke", "LC00")
    assert result.exit_code == 0 and "已吊销" in result.output
    assert re.search(r"^LC00\s+已吊销", hub_cli(hub_app, "stations", "list").output, re.M)
    assert hub_cli(hub_app, "stations", "revoke", "LC02").exit_code != 0  # never enrolled
    assert "LC02" in hub_cli(hub_app, "stations", "list", "--all").output


def test_back_off_doubles_up_to_thirty_minutes():
    rng = random.Random(1)
    delays = [loop.backoff_seconds(n, 15, 1800, rng) for n in range(0, 12)]
    assert delays[0] == 0
    assert 12 <= delays[1] <= 15 and 24 <= delays[2] <= 30 and 48 <= delays[3] <= 60
    assert all(1440 <= d <= 1800 for d in delays[9:])


def test_a_busy_hubs_proxy_makes_the_station_wait_as_long_and_send_again(station_app, hub_app, transport):
    """nginx answers 503 with Retry-After, unsigned, when gunicorn's queue is full or its
    answer is late: the station takes it for "busy" (not a forged answer), waits at
    least that long, and its next sync has every record kept once."""
    with station_app.app_context():
        uuids = [make_opinion("LC00").uuid for _ in range(3)]
    busy = Reply(503, {"retry-after": "120", "content-type": "application/json"}, b'{"error":"busy"}')
    # The hub stored the push, but the station hears only the proxy (its answer overdue: 504 made 503).
    transport.after = lambda reply: busy
    result = sync(station_app, transport)
    assert not result.ok and result.retry_after == 120 and "正忙" in result.error
    delays = [loop.delay_after(result, 1, 15, 1800, random.Random(seed)) for seed in range(20)]
    assert all(120 <= d <= 180 for d in delays) and len(set(delays)) > 1
    # Without Retry-After, the station's own back-off; a value past its longest wait is not believed.
    assert 12 <= loop.delay_after(station_sync.SyncResult(), 1, 15, 1800) <= 15
    assert loop.delay_after(station_sync.SyncResult(retry_after=client.retry_after("999999")), 1, 15, 1800) <= 1800
    assert client.retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None
    transport.after = None
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        assert sorted(db.session.scalars(select(Opinion.uuid))) == sorted(uuids)
    with station_app.app_context():
        assert all(db.session.get(Opinion, uuid).acknowledged_at is not None for uuid in uuids)


def test_pull_pages_through_many_changes(station_app, hub_app, transport, monkeypatch):
    with station_app.app_context():
        uuids = [make_opinion("LC00").uuid for _ in range(5)]
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        for uuid in uuids:
            db.session.get(Opinion, uuid).status = "accepted"
            db.session.add(OpinionEvent(opinion_uuid=uuid, status="accepted"))
            db.session.commit()
        station = db.session.get(Opinion, uuids[0]).station
        cursor = 0
        pages = []
        while True:
            page = hub_services.changes_since(station, cursor, limit=2)
            pages.append(len(page["opinions"]))
            assert page["cursor"] > cursor or not page["more"]
            cursor = page["cursor"]
            if not page["more"]:
                break
        assert sum(pages) == 5 and max(pages) <= 2
    monkeypatch.setattr(station_sync, "PULL_PAGE", 2)
    result = sync(station_app, transport)
    assert result.ok and result.pulled == 5
    with station_app.app_context():
        assert {db.session.get(Opinion, u).status for u in uuids} == {"accepted"}


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "hub.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "hub.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "hub.crt", folder / "hub.key"


@pytest.mark.slow
@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
def test_https_hub_certificate_is_verified_against_the_configured_ca(tmp_path, hub_app, demo_database):
    cert, key = self_signed(tmp_path)
    hub = ServerProcess(Path(hub_app.instance_path), {"ROLE": "hub"}).start()
    try:
        with FaultyProxy(hub.url) as proxy:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            proxy.server.socket = context.wrap_socket(proxy.server.socket, server_side=True)
            https_url = proxy.url.replace("http://", "https://")
            with pytest.raises(LinkDown, match="证书验证失败"):
                HttpTransport(https_url).send("POST", "/api/v1/sync/pull", {}, b"")
            station = tmp_path / "station"
            enrolled_station(station, hub, hub_url=https_url, seed=demo_database, SYNC_CA_FILE=str(cert))
            result = run(station, "sync", "once", env={"SYNC_CA_FILE": str(cert)})
            assert "pushed 0" in result.stdout
            refused = run(station, "sync", "once", ok=False)
            assert refused.returncode == 1 and "证书验证失败" in refused.stderr
    finally:
        hub.stop()
