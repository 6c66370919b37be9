"""The hub as it is served in production: gunicorn workers behind nginx (TLS), on PostgreSQL.

The same files deploy/install-hub installs (deploy/hub/gunicorn.conf.py,
deploy/hub/nginx-site.conf), started here on private ports and sockets.

1. Floor: one client, one request after another: the bare route
   (/healthz) and a receipt's status page, medians.
2. 200 keep-alive connections, each fetching a status page every 2 s for
   BENCH_HUB_SECONDS (60): p99 under 1 s. Then the same with 100 more
   connections that send their headers a byte a second (and come back when
   nginx drops them): the p99 must not move.
3. The same readers with waitress (8 threads, one process) in place of
   gunicorn behind the same nginx: the measurement gunicorn was chosen by.
4. A province: BENCH_HUB_STATIONS (20,000) stations each syncing once (a
   push of a day's few opinions, then a pull from cursor 0) over TLS,
   spread over BENCH_HUB_SPREAD (300) seconds: p99 per request and errors.

Clients come from addresses of their own on 127/8, as phones and stations
do (nginx bounds connections per address). Prints figures; exits non-zero
only when the product errors. BENCH_HUB_PARTS picks parts: ``readers``,
``waitress``, ``stations`` (default: all).
"""

import asyncio
import os
import random
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid as uuidlib
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from common import median, ms, report  # noqa: E402
from kiosk.clock import iso, to_millis  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Station, SyncStation, Township, utcnow  # noqa: E402
from kiosk.sync import signing, wire  # noqa: E402
from tests.support.boxes import CONTENT_CHARS, hub_box, new_postgres_database, read  # noqa: E402
from tests.support.factories import receive_opinion  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

SECONDS = float(os.environ.get("BENCH_HUB_SECONDS", "60"))
READERS = 200
SLOW = 100
STATIONS = int(os.environ.get("BENCH_HUB_STATIONS", "20000"))
SPREAD = float(os.environ.get("BENCH_HUB_SPREAD", "300"))
PARTS = set(os.environ.get("BENCH_HUB_PARTS", "readers,waitress,stations").split(","))
SECRET_CHARS = "34679ACDEFGHJKMNPQRTWXY"
failed = False


# --- the stack ---------------------------------------------------------------------


class Stack:
    """nginx on a TLS port in front of an app server on a Unix socket, in ``folder``."""

    def __init__(self, folder: Path, hub_settings: dict):
        self.folder, self.settings = folder, hub_settings
        self.socket = folder / "app.sock"
        self.port = free_port()
        self.processes: list[subprocess.Popen] = []
        folder.mkdir(parents=True, exist_ok=True)
        self._certificate()
        self._nginx_conf()

    def _certificate(self) -> None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=localhost", "-keyout", str(self.folder / "hub.key"),
             "-out", str(self.folder / "hub.crt")],
            check=True, capture_output=True,
        )

    def _nginx_conf(self) -> None:
        site = (ROOT / "deploy/hub/nginx-site.conf").read_text()
        site = (
            site.replace("@NAME@", "localhost")
            .replace("@APP@", str(ROOT))
            .replace("unix:/run/kiosk-hub/gunicorn.sock", f"unix:{self.socket}")
            .replace("/etc/kiosk-hub/tls/", f"{self.folder}/")
            .replace("/var/lib/kiosk-hub/acme", str(self.folder))
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{self.port} ssl http2;")
            .replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
            .replace("listen [::]:443 ssl http2;", "")
            .replace("listen [::]:80;", "")
        )
        (self.folder / "site.conf").write_text(site)
        temp = self.folder / "nginx-temp"
        temp.mkdir(exist_ok=True)
        # Debian's nginx.conf, but private: its own pid, logs and temporary files, more connections a worker.
        (self.folder / "nginx.conf").write_text(f"""
user root;
worker_processes auto;
pid {self.folder}/nginx.pid;
error_log {self.folder}/nginx-error.log warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 16384; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.folder}/site.conf;
}}
""")

    def start(self, server: str) -> "Stack":
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        env.update({f"KIOSK_{k}": str(v) for k, v in self.settings.items()})
        env.update(KIOSK_HUB_BIND=f"unix:{self.socket}", KIOSK_TRUSTED_PROXIES="1", KIOSK_AUTO_MIGRATE="false",
                   KIOSK_SESSION_COOKIE_SECURE="true")
        if server == "gunicorn":
            command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy/hub/gunicorn.conf.py"), "wsgi:app"]
        else:
            command = [sys.executable, "-m", "waitress", f"--unix-socket={self.socket}", "--unix-socket-perms=660",
                       "--threads=8", "wsgi:app"]
        self.socket.unlink(missing_ok=True)
        log = (self.folder / f"{server}.log").open("ab")
        self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        self.processes.append(subprocess.Popen(
            ["nginx", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=log, stderr=subprocess.STDOUT,
        ))
        context = insecure_context()
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2, context=context).read()
                return self
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    self.stop()
                    raise RuntimeError(f"{server} behind nginx did not start: see {self.folder}")
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.processes = []


def insecure_context() -> ssl.SSLContext:
    """The bench's own self-signed certificate: encrypted like a phone's, not checked."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# One for every connection: making one reads the system's CA bundle, which
# would hold the client's event loop long enough for nginx to drop handshakes.
CLIENT_TLS = insecure_context()


# --- HTTP over one kept-alive TLS connection --------------------------------------------


class Connection:
    def __init__(self, port: int, source: str):
        self.port, self.source = port, source
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=CLIENT_TLS, server_hostname="localhost", local_addr=(self.source, 0)
        )

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        fields = {}
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                data += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
            return status, data
        return status, await self.reader.readexactly(int(fields.get("content-length", "0")))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def source_address(group: int, i: int) -> str:
    """A client address of its own on the loopback network: 127.group.x.y."""
    return f"127.{group}.{i // 250}.{i % 250 + 1}"


# --- 1. floor ---------------------------------------------------------------------------


async def floor(stack: Stack, status_path: str) -> tuple[float, float]:
    conn = Connection(stack.port, "127.0.0.1")
    await conn.open()
    figures = []
    for path in ("/healthz", status_path):
        samples = []
        for _ in range(100):
            started = time.perf_counter()
            status, _ = await conn.request("GET", path)
            samples.append(time.perf_counter() - started)
            assert status == 200, f"{path}: {status}"
        figures.append(median(samples))
    conn.close()
    return figures[0], figures[1]


# --- 2. readers, and slow headers ---------------------------------------------------------


async def reader(stack: Stack, i: int, status_path: str, until: float, latencies: list, errors: list) -> None:
    # Phones come one by one, not all in one millisecond: each connects at its first tick.
    tick = time.monotonic() + random.uniform(0, 2)
    await asyncio.sleep(max(0.0, tick - time.monotonic()))
    conn = Connection(stack.port, source_address(1, i))
    try:
        await conn.open()
    except OSError as error:
        errors.append(f"connect: {error!r}")
        return
    while True:
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        if time.monotonic() >= until:
            break
        started = time.perf_counter()
        try:
            status, _ = await conn.request("GET", status_path)
        except (OSError, asyncio.IncompleteReadError) as error:
            errors.append(f"reader {i}: {error!r}")
            conn.close()
            conn = Connection(stack.port, source_address(1, i))
            await conn.open()
            tick += 2
            continue
        latencies.append(time.perf_counter() - started)
        if status != 200:
            errors.append(f"reader {i}: status {status}")
        tick += 2
    conn.close()


async def slow_client(stack: Stack, i: int, status_path: str, until: float, dropped: list) -> None:
    """Sends a request's headers a byte a second, and starts again when nginx drops it."""
    await asyncio.sleep(random.uniform(0, 2))
    while time.monotonic() < until:
        conn = Connection(stack.port, source_address(2, i))
        try:
            await conn.open()
            conn.writer.write(f"GET {status_path} HTTP/1.1\r\nHost: localhost\r\n".encode())
            while time.monotonic() < until and not conn.reader.at_eof():
                conn.writer.write(b"X")
                await conn.writer.drain()
                await asyncio.sleep(1)
        except (OSError, ConnectionError):
            pass
        if time.monotonic() < until:
            dropped.append(1)
        conn.close()
        await asyncio.sleep(0.5)


async def readers_run(stack: Stack, status_path: str, slow: bool) -> tuple[list[float], list[str], int]:
    latencies: list[float] = []
    errors: list[str] = []
    dropped: list[int] = []
    until = time.monotonic() + SECONDS
    tasks = [reader(stack, i, status_path, until, latencies, errors) for i in range(READERS)]
    if slow:
        tasks += [slow_client(stack, i, status_path, until, dropped) for i in range(SLOW)]
    await asyncio.gather(*tasks)
    return latencies, errors, len(dropped)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else float("inf")


async def warm_up(stack: Stack, status_path: str) -> None:
    """Every worker has opened its database connections and compiled its templates."""
    async def one(i):
        conn = Connection(stack.port, source_address(3, i))
        await conn.open()
        for _ in range(10):
            await conn.request("GET", status_path)
        conn.close()

    await asyncio.gather(*[one(i) for i in range(20)])


def readers_part(stack: Stack, status_path: str, server: str) -> None:
    global failed
    asyncio.run(warm_up(stack, status_path))
    bare, page = asyncio.run(floor(stack, status_path))
    print(f"-- {server} behind nginx: floor, one client")
    report("bare route /healthz, median", ms(bare))
    report("status page, median", ms(page))
    results = {}
    for slow in (False, True):
        label = f"{READERS} readers" + (f" + {SLOW} slow-header" if slow else "")
        latencies, errors, dropped = asyncio.run(readers_run(stack, status_path, slow))
        results[slow] = p99(latencies)
        print(f"-- {server}: {label} connections, a status page every 2 s each, {SECONDS:.0f} s")
        report("requests", f"{len(latencies)}")
        report("median", ms(median(latencies)) if latencies else "-")
        report("p99", ms(results[slow]), "< 1 s", results[slow] < 1.0)
        report("errors", f"{len(errors)}", "0", not errors)
        if slow:
            report("slow connections nginx cut off", f"{dropped}")
        for error in errors[:3]:
            print("   ", error)
        failed = failed or bool(errors)
    report("p99 with slow / without", f"{results[True] / results[False]:.2f}×")


# --- 4. a province of stations ------------------------------------------------------------------


def add_stations(settings: dict, instance: Path, n: int) -> list[tuple[str, Ed25519PrivateKey]]:
    """``n`` stations registered and enrolled at the hub (straight into its tables: not timed)."""
    keys = [(f"Z{i:05d}", Ed25519PrivateKey.generate()) for i in range(n)]

    def insert_rows():
        townships = list(db.session.scalars(select(Township.id)))
        db.session.execute(insert(Station), [
            {"code": code, "name": f"压测站{i}", "level": "point", "township_id": townships[i % len(townships)]}
            for i, (code, _key) in enumerate(keys)
        ])
        now = utcnow()
        db.session.execute(insert(SyncStation), [
            {"station_code": code, "public_key": signing.public_key_text(key), "enrolled_at": now} for code, key in keys
        ])
        db.session.commit()

    read(instance, insert_rows, **settings)
    return keys


def signed(key, code: str, path: str, body: bytes) -> dict:
    timestamp = str(to_millis(utcnow()))
    nonce = secrets.token_urlsafe(18)
    digest = signing.body_digest(body)
    return {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        signing.H_STATION: code,
        signing.H_TIMESTAMP: timestamp,
        signing.H_NONCE: nonce,
        signing.H_DIGEST: digest,
        signing.H_SIGNATURE: signing.sign(key, signing.request_message("POST", path, timestamp, nonce, digest)),
    }


def day_records(code: str, rng: random.Random) -> list[dict]:
    day = (utcnow() + timedelta(hours=8)).strftime("%y%m%d")
    records = []
    for i in range(rng.randint(1, 3)):
        contact = i % 2 == 0
        records.append({"type": "opinion", "data": {
            "uuid": str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
            "receipt_number": f"{code}-{day}-{i + 1:04d}",
            "secret": "".join(rng.choice(SECRET_CHARS) for _ in range(6)),
            "station_code": code,
            "category": "road",
            "content": "".join(rng.choice(CONTENT_CHARS) for _ in range(60)),
            "deputy_id": None,
            "consent_version": "2026-12" if contact else None,
            "contact_name": "陈大文" if contact else None,
            "contact_phone": "13800000000" if contact else None,
            "created_at": iso(utcnow()),
        }})
    return records


async def one_station(stack, i, code, key, start_at, latencies, errors, rng) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    conn = Connection(stack.port, source_address(10 + i // 62500, i % 62500))
    try:
        await conn.open()
        records = day_records(code, rng)
        for path, payload in (("/api/v1/sync/push", {"records": records}), ("/api/v1/sync/pull", {"cursor": 0})):
            body = wire.encode(payload)
            started = time.perf_counter()
            status, answer = await conn.request("POST", path, signed(key, code, path, body), body)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"{code} {path}: {status} {answer[:200]!r}")
                return
            if path.endswith("push") and len(wire.decode(answer)["acks"]) != len(records):
                errors.append(f"{code}: not every record acknowledged")
    except (OSError, asyncio.IncompleteReadError) as error:
        errors.append(f"{code}: {error!r}")
    finally:
        conn.close()


async def stations_run(stack: Stack, keys) -> tuple[list[float], list[str], float]:
    rng = random.Random(20000)
    latencies: list[float] = []
    errors: list[str] = []
    t0 = time.monotonic() + 1
    started = time.perf_counter()
    await asyncio.gather(*[
        one_station(stack, i, code, key, t0 + rng.uniform(0, SPREAD), latencies, errors, random.Random(i))
        for i, (code, key) in enumerate(keys)
    ])
    return latencies, errors, time.perf_counter() - started


def stations_part(stack: Stack, keys) -> None:
    global failed
    print(f"-- {len(keys):,} stations syncing once (push, then pull), spread over {SPREAD:.0f} s, gunicorn behind nginx")
    latencies, errors, elapsed = asyncio.run(stations_run(stack, keys))
    report("requests", f"{len(latencies)}")
    report("over", f"{elapsed:.0f} s")
    report("median per request", ms(median(latencies)) if latencies else "-")
    report("p99 per request", ms(p99(latencies)))
    report("errors", f"{len(errors)}", "0", not errors)
    for error in errors[:5]:
        print("   ", error)
    failed = failed or bool(errors)


def main() -> int:
    admin_url = os.environ.get("KIOSK_TEST_POSTGRES_URL")
    if not admin_url:
        print("KIOSK_TEST_POSTGRES_URL not set: the hub benchmarks need PostgreSQL")
        return 0
    if shutil.which("nginx") is None:
        print("nginx is not installed (scripts/system-packages.txt): the hub benchmarks need it")
        return 1
    url, _name, drop = new_postgres_database(admin_url, "kiosk_bench_hub")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
            folder = Path(tmp)
            os.chmod(folder, 0o755)
            instance = folder / "hub"
            settings = {"ROLE": "hub", "DATABASE_URL": url, "INSTANCE_PATH": str(instance)}
            hub = hub_box(instance, url)
            number = read(instance, lambda: receive_opinion("LC00", secret="ABCDEF").receipt_number, **hub.settings)
            status_path = f"/r/{number}?k=ABCDEF"
            keys = add_stations(hub.settings, instance, STATIONS) if "stations" in PARTS else []
            servers = [s for s in ("gunicorn", "waitress") if s == "gunicorn" or "waitress" in PARTS]
            for server in servers:
                stack = Stack(folder / server, settings).start(server)
                try:
                    if "readers" in PARTS:
                        readers_part(stack, status_path, server)
                    if server == "gunicorn" and keys:
                        stations_part(stack, keys)
                finally:
                    stack.stop()
    finally:
        drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
