"""Sync benchmarks.

1. A 10,000-opinion backlog (about 100 Chinese characters each, half with
   contact details) pushed from a station to a hub server over loopback and
   acknowledged: at most 10 s, and at least 0.2 of the rate of a raw insert
   of the same rows into the same hub database (one transaction, the
   driver's executemany), measured in the same run. Bytes on the wire per
   opinion (both directions, signed and compressed): at most 600. Run
   against a SQLite hub, and a PostgreSQL hub when KIOSK_TEST_POSTGRES_URL
   is set.
2. 236 stations each syncing once (a push of a day's few opinions, then a
   pull), arriving spread over 10 seconds, into a PostgreSQL hub: p99 per
   request at most 500 ms, no errors.

Prints figures; exits non-zero only when the product errors.

Settings (environment): BENCH_SYNC_PARTS, a comma-separated choice of
``sqlite``, ``postgres`` and ``stations`` (default: all three);
BENCH_SYNC_ROUNDS, how many times each backlog push runs (default 1; with
more, each round's figures and their medians are printed: the machine may
be shared, and the ratio to the raw insert of the same round is the figure
to compare).
"""

import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
import uuid as uuidlib
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from common import median, ms, report  # noqa: E402
from kiosk.clock import iso  # noqa: E402
from kiosk.demo import data as demo_data  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Opinion, utcnow  # noqa: E402
from kiosk.sync import registry as hub_services  # noqa: E402
from kiosk.sync import signing  # noqa: E402
from kiosk.sync import station as station_sync  # noqa: E402
from kiosk.sync.client import HttpTransport, HubClient  # noqa: E402
from tests.support.boxes import (  # noqa: E402
    CONTENT_CHARS,
    bulk_opinions,
    enrolled_station,
    hub_box,
    new_postgres_database,
    read,
)

BACKLOG = 10_000
STATIONS = 236
SPREAD_SECONDS = 10.0
PARTS = set(os.environ.get("BENCH_SYNC_PARTS", "sqlite,postgres,stations").split(","))
ROUNDS = int(os.environ.get("BENCH_SYNC_ROUNDS", "1"))
failed = False


def raw_insert_seconds(hub, rows: list[dict]) -> float:
    """The floor: the same rows into the same hub database, one transaction, executemany."""
    columns = list(rows[0])
    url = hub.settings.get("DATABASE_URL")
    fresh = [dict(r, uuid=str(uuidlib.uuid4()), receipt_number="RAW" + r["receipt_number"][4:]) for r in rows]
    if url is None:
        conn = sqlite3.connect(hub.instance / "kiosk.sqlite3", isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        sql = f"INSERT INTO opinions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        values = [tuple(r[c] for c in columns) for r in fresh]
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, values)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.execute("DELETE FROM opinions WHERE receipt_number LIKE 'RAW%'")
        conn.close()
        return elapsed
    import psycopg

    conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        sql = f"INSERT INTO opinions ({', '.join(columns)}) VALUES ({', '.join('%s' for _ in columns)})"
        values = [tuple(r[c] for c in columns) for r in fresh]
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(sql, values)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DELETE FROM opinions WHERE receipt_number LIKE 'RAW%'")
        conn.commit()
    return elapsed


def hub_rows(hub) -> list[dict]:
    """The opinions as the hub stored them, in plain DB-API types."""
    def rows():
        out = []
        for o in db.session.scalars(sa.select(Opinion)):
            out.append({
                "uuid": o.uuid, "receipt_number": o.receipt_number, "secret": o.secret, "station_code": o.station_code,
                "category_code": o.category_code, "content": o.content, "deputy_id": o.deputy_id,
                "consent_version": o.consent_version, "contact_name": o.contact_name, "contact_phone": o.contact_phone,
                "created_at": o.created_at.replace(tzinfo=None), "status": o.status, "public_reply": None,
                "hub_received_at": o.hub_received_at.replace(tzinfo=None), "acknowledged_at": None,
                "sync_digest": o.sync_digest,
            })
        return out

    return read(hub.instance, rows, **hub.settings)


def backlog_push(folder: Path, database_url: str | None) -> tuple[float, float, float, float] | None:
    """One round: push and acknowledge the backlog, then the raw insert of the
    same rows; (push seconds, raw seconds, bytes sent and received per
    opinion), None on error."""
    global failed
    hub = hub_box(folder / "hub", database_url).start()
    try:
        station = folder / "station"
        enrolled_station(station, hub)
        bulk_opinions(station, BACKLOG, days=14)

        def push():
            started = time.perf_counter()
            result = station_sync.sync_once()
            return time.perf_counter() - started, result

        elapsed, result = read(station, push)
        if not result.ok or result.acknowledged != BACKLOG:
            print(f"  ERROR: {result.error} (acknowledged {result.acknowledged})")
            failed = True
            return None
        raw = raw_insert_seconds(hub, hub_rows(hub))
        if ROUNDS > 1:
            print(f"  round: push {elapsed:.2f} s, raw {raw:.3f} s, ratio {raw / elapsed:.2f}")
        return elapsed, raw, result.bytes_sent / BACKLOG, result.bytes_received / BACKLOG
    finally:
        hub.stop()


def backlog_rounds(label: str, folder: Path, database_url_maker) -> None:
    """``ROUNDS`` backlog pushes into fresh hubs of one kind; the medians."""
    print(f"-- {BACKLOG:,}-opinion backlog into a {label} hub" + (f", {ROUNDS} rounds" if ROUNDS > 1 else ""))
    figures = []
    for round_ in range(ROUNDS):
        url, drop = database_url_maker()
        try:
            got = backlog_push(folder / str(round_), url)
        finally:
            drop()
        if got is None:
            return
        figures.append(got)
    elapsed = median([f[0] for f in figures])
    raw = median([f[1] for f in figures])
    rate_ratio = median([f[1] / f[0] for f in figures])
    sent, received = median([f[2] for f in figures]), median([f[3] for f in figures])
    per_opinion = median([f[2] + f[3] for f in figures])
    report("push and acknowledge", f"{elapsed:.2f} s", "≤ 10 s", elapsed <= 10)
    report("raw executemany insert", f"{raw:.3f} s")
    report("push rate / raw insert rate", f"{rate_ratio:.2f}", "≥ 0.2", rate_ratio >= 0.2)
    report("bytes on the wire per opinion", f"{per_opinion:.0f} B", "≤ 600", per_opinion <= 600)
    report("  of which sent / received", f"{sent:.0f} / {received:.0f}")


def station_records(code: str, n: int, rng: random.Random) -> list[dict]:
    day = (utcnow() + timedelta(hours=8)).strftime("%y%m%d")
    records = []
    for i in range(n):
        contact = i % 2 == 0
        records.append({"type": "opinion", "data": {
            "uuid": str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
            "receipt_number": f"{code}-{day}-{i + 1:04d}",
            "secret": "".join(rng.choice("34679ACDEFGHJKMNPQRTWXY") for _ in range(6)),
            "station_code": code,
            "category": "road",
            "content": "".join(rng.choice(CONTENT_CHARS) for _ in range(100)),
            "deputy_id": None,
            "consent_version": "2026-11" if contact else None,
            "contact_name": "陈大文" if contact else None,
            "contact_phone": "13800000000" if contact else None,
            "created_at": iso(utcnow()),
        }})
    return records


def many_stations(folder: Path, database_url: str) -> None:
    global failed
    print(f"-- {STATIONS} stations syncing once, spread over {SPREAD_SECONDS:.0f} s, into a PostgreSQL hub")
    hub = hub_box(folder / "hub236", database_url, SYNC_CLOCK_WINDOW_SECONDS="600").start()
    try:
        codes = [s.code for s in demo_data.stations()][:STATIONS]
        hub_key = read(hub.instance, hub_services.hub_public_key, **hub.settings)
        clients = [(code, Ed25519PrivateKey.generate()) for code in codes]
        # Enrol every station (not timed).
        tokens = read(hub.instance, lambda: [hub_services.issue_token(c) for c in codes], **hub.settings)
        for (code, key), token in zip(clients, tokens):
            body = json.dumps({"token": token, "public_key": signing.public_key_text(key)}).encode()
            request = urllib.request.Request(hub.url + "/api/v1/sync/enrol", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        rng = random.Random(236)
        start_at = [rng.uniform(0, SPREAD_SECONDS) for _ in codes]
        batches = [station_records(code, rng.randint(1, 8), rng) for code in codes]
        t0 = time.perf_counter() + 0.5

        def one(i):
            code, key = clients[i]
            delay = t0 + start_at[i] - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            hub_client = HubClient(HttpTransport(hub.url, 30), code, key, hub_key, clock=utcnow)
            for endpoint, payload in (("push", {"records": batches[i]}), ("pull", {"cursor": 0})):
                started = time.perf_counter()
                try:
                    hub_client.call(endpoint, payload)
                except Exception as error:  # noqa: BLE001  (counted and reported)
                    with lock:
                        errors.append(f"{code} {endpoint}: {error}")
                    return
                with lock:
                    latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(codes))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("inf")
        report("requests", f"{len(latencies)}")
        report("median per request", ms(latencies[len(latencies) // 2]))
        report("p99 per request", ms(p99), "≤ 500 ms", p99 <= 0.5)
        report("errors", f"{len(errors)}", "0", not errors)
        if errors:
            failed = True
            for e in errors[:5]:
                print("   ", e)
    finally:
        hub.stop()


def main() -> int:
    admin_url = os.environ.get("KIOSK_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        folder = Path(tmp)

        def no_database():
            return None, lambda: None

        def postgres_database():
            url, _name, drop = new_postgres_database(admin_url, "kiosk_bench")
            return url, drop

        if "sqlite" in PARTS:
            backlog_rounds("SQLite", folder / "sqlite", no_database)
        if not admin_url:
            print("KIOSK_TEST_POSTGRES_URL not set: PostgreSQL benchmarks skipped")
            return 1 if failed else 0
        if "postgres" in PARTS:
            backlog_rounds("PostgreSQL", folder / "pg", postgres_database)
        if "stations" in PARTS:
            url, drop = postgres_database()
            try:
                many_stations(folder, url)
            finally:
                drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
