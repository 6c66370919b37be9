"""The hub as it is served in production: gunicorn workers behind nginx (TLS), on PostgreSQL.

The same files deploy/install-hub installs (deploy/hub/gunicorn.conf.py,
deploy/hub/nginx-site.conf), started here on private ports and sockets.

1. Floor: one client, one request after another: the bare route
   (/healthz) and a receipt's status page, medians.
2. 200 keep-alive connections, each fetching a status page every 2 s:
   p99 under 1 s; 100 more connections that send their headers a byte a
   second (and come back when nginx drops them) must not move it. The
   readers run for twice BENCH_HUB_SECONDS (60), the slow connections on in
   every other quarter of it, so the requests with and without them share
   the machine's load of the same minutes; the windows without them, against
   each other, show that load's own noise. First the 100 slow connections
   alone, for what they cost the client and the server.
3. The same readers with waitress (8 threads, one process) in place of
   gunicorn behind the same nginx: the measurement gunicorn was chosen by.
4. A province: BENCH_HUB_STATIONS (20,000) stations each syncing once (a
   push of a day's few opinions, then a pull from the cursor its previous
   sync left it) over TLS, spread over BENCH_HUB_SPREAD (300) seconds: p99
   per request and errors. The requests are made and signed before the run
   (for the moment each station is due), so the clients only send bytes. A
   station turned away busy (503) comes back after the Retry-After given, as
   a box does, up to BENCH_HUB_COMEBACKS (1) times. BENCH_HUB_PULL_FROM=0
   makes every pull a first one, reference data and all.

Clients come from addresses of their own on 127/8, as phones and stations
do: nginx bounds connections per address (64), which is right for a village's
phones behind one NAT and must not count a province's stations as one client.
The load comes from BENCH_HUB_CLIENTS (4) processes, each with its own event
loop, so no one Python process starves under 20,000 TLS connections; their
CPU, the worst event-loop lag, the server's CPU (gunicorn and nginx, from
/proc) and the load average are printed with each part, so a loaded machine
reads as such. Failed requests are counted by kind: refused, timed out,
closed with no answer, or an HTTP status. Prints figures; exits non-zero
only when the product errors. BENCH_HUB_PARTS picks parts: ``readers``,
``waitress``, ``stations`` (default: all).
"""

import asyncio
import multiprocessing
import os
import random
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid as uuidlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from common import median, ms, report  # noqa: E402
from kiosk.clock import iso, to_millis  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Station, SyncChange, SyncStation, Township, utcnow  # noqa: E402
from kiosk.sync import signing, wire  # noqa: E402
from tests.support.boxes import CONTENT_CHARS, hub_box, new_postgres_database, read  # noqa: E402
from tests.support.factories import receive_opinion  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

SECONDS = float(os.environ.get("BENCH_HUB_SECONDS", "60"))
READERS = 200
SLOW = 100
STATIONS = int(os.environ.get("BENCH_HUB_STATIONS", "20000"))
SPREAD = float(os.environ.get("BENCH_HUB_SPREAD", "300"))
CLIENTS = int(os.environ.get("BENCH_HUB_CLIENTS", "4"))
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
        self.fields: dict = {}  # the last answer's header fields, lower-case names

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=CLIENT_TLS, server_hostname="localhost", local_addr=(self.source, 0)
        )

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> tuple[int, bytes]:
        return await self.send(request_bytes(method, path, headers, body))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """One whole request, as ``request_bytes`` made it; the answer's status and body."""
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        fields = {}
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        self.fields = fields
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


def request_bytes(method: str, path: str, headers: dict | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


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


# --- the load, from several client processes -----------------------------------------------


def error_kind(error: BaseException) -> str:
    """What went wrong, as a station or phone would tell it apart."""
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ssl.SSLError):
        return "TLS failed"
    if isinstance(error, (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError)):
        return "closed with no answer"
    if isinstance(error, OSError) and error.errno == 24:
        return "client out of file descriptors"
    return type(error).__name__


async def _lag_watch(until: float, worst: list) -> None:
    """The worst delay of this client's event loop: a starved client shows here, not as server time."""
    while time.monotonic() < until:
        started = time.monotonic()
        await asyncio.sleep(0.1)
        worst[0] = max(worst[0], time.monotonic() - started - 0.1)


# What the client processes run: set before they are forked, read in each.
_JOB: dict = {}


def _client_process(share: int) -> dict:
    """Client process ``share`` of CLIENTS: every CLIENTS-th connection of the job, on its own event loop."""
    job = _JOB
    result = {"latencies": [], "starts": [], "errors": [], "dropped": [], "lag": [0.0]}
    cpu = time.process_time()

    async def run():
        tasks = [job["one"](i, result) for i in range(job["count"]) if job["share_of"](i) == share]
        tasks.append(_lag_watch(job["until"], result["lag"]))
        await asyncio.gather(*tasks)

    asyncio.run(run())
    result["cpu"] = time.process_time() - cpu
    return result


def in_clients(one, count: int, until: float, share_of=None) -> dict:
    """``one(i, result)`` for i in range(count), spread over CLIENTS forked processes (by
    ``share_of(i)``, else in turn); their results merged."""
    _JOB.update(one=one, count=count, until=until, share_of=share_of or (lambda i: i % CLIENTS))
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        parts = pool.map(_client_process, range(CLIENTS))
    merged = {key: [x for part in parts for x in part[key]] for key in ("latencies", "starts", "errors", "dropped")}
    merged["cpu"] = sum(part["cpu"] for part in parts)
    merged["lag"] = max(part["lag"][0] for part in parts)
    return merged


def server_cpu(stack: Stack) -> float:
    """CPU seconds the app server and nginx have used, workers included (also those replaced: the
    master's reaped children's time)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for process in stack.processes:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / tick


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report_machine(result: dict, requests: int, wall: float, server: float, load_before: str) -> None:
    """What the client and the server spent, and how loaded the machine was: to read the times by."""
    def each(cpu: float) -> str:
        return f", {ms(cpu / requests)} a request" if requests else ""

    report("client CPU", f"{result['cpu']:.1f} s in {CLIENTS} processes over {wall:.0f} s "
           f"({result['cpu'] / wall:.2f} cores{each(result['cpu'])})")
    report("client event loop, worst lag", ms(result["lag"]), "< 100 ms", result["lag"] < 0.1)
    report("server CPU (app server + nginx)", f"{server:.1f} s ({server / wall:.2f} cores{each(server)})")
    report("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after, on {os.cpu_count()} cores")


def report_errors(errors: list[tuple[str, str]]) -> None:
    report("errors", f"{len(errors)}", "0", not errors)
    for kind, count in Counter(kind for kind, _detail in errors).most_common():
        example = next(detail for k, detail in errors if k == kind)
        print(f"    {count:6d}  {kind}   e.g. {example[:160]}")


def nginx_complaints(stack: Stack, since: int) -> None:
    """What nginx logged meanwhile, by kind: limits, upstream failures, timeouts."""
    log = stack.folder / "nginx-error.log"
    if not log.exists():
        return
    with log.open("rb") as f:
        f.seek(since)
        lines = f.read().decode("utf-8", "replace").splitlines()
    kinds = Counter()
    for line in lines:
        # "2026/12/06 03:20:00 [error] 12#12: *2117 connect() to unix:/…/app.sock failed (11: …) while …, client: …"
        message = re.sub(r"^\*\d+ ", "", line.split("] ", 1)[-1].split(": ", 1)[-1]).split(", client:")[0]
        kinds[re.sub(r"unix:\S+", "unix:app.sock", message)[:140]] += 1
    for message, count in kinds.most_common(6):
        print(f"    nginx: {count:6d}  {message}")


def log_size(stack: Stack) -> int:
    log = stack.folder / "nginx-error.log"
    return log.stat().st_size if log.exists() else 0


# --- 2. readers, and slow headers ---------------------------------------------------------


async def reader(port: int, i: int, status_path: str, until: float, result: dict) -> None:
    # Phones come one by one, not all in one millisecond: each connects at its first tick.
    tick = time.monotonic() + random.uniform(0, 2)
    await asyncio.sleep(max(0.0, tick - time.monotonic()))
    conn = Connection(port, source_address(1, i))
    try:
        await asyncio.wait_for(conn.open(), 30)
    except (OSError, asyncio.TimeoutError) as error:
        result["errors"].append((f"connect: {error_kind(error)}", repr(error)))
        return
    while True:
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        if time.monotonic() >= until:
            break
        started, at = time.perf_counter(), time.monotonic()
        try:
            status, _ = await asyncio.wait_for(conn.request("GET", status_path), 90)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
            result["errors"].append((f"status page: {error_kind(error)}", f"reader {i}: {error!r}"))
            conn.close()
            conn = Connection(port, source_address(1, i))
            try:
                await asyncio.wait_for(conn.open(), 30)
            except (OSError, asyncio.TimeoutError) as error:
                result["errors"].append((f"connect: {error_kind(error)}", repr(error)))
                return
            tick += 2
            continue
        result["latencies"].append(time.perf_counter() - started)
        result["starts"].append(at)
        if status != 200:
            result["errors"].append((f"status page: HTTP {status}", f"reader {i}"))
        tick += 2
    conn.close()


async def slow_client(port: int, i: int, status_path: str, until: float, result: dict, on=None) -> None:
    """Sends a request's headers a byte a second, and starts again when nginx drops it;
    only while ``on(now)`` (if given) says so, else it waits, connected to nothing."""
    await asyncio.sleep(random.uniform(0, 2))
    waiting = False
    while time.monotonic() < until:
        if on is not None and not on(time.monotonic()):
            waiting = True
            await asyncio.sleep(0.2)
            continue
        if waiting:
            # Each comes when it comes, as the phones do: not a hundred handshakes in one moment.
            waiting = False
            await asyncio.sleep(random.uniform(0, 2))
        conn = Connection(port, source_address(2, i))
        try:
            await conn.open()
            conn.writer.write(f"GET {status_path} HTTP/1.1\r\nHost: localhost\r\n".encode())
            while time.monotonic() < until and not conn.reader.at_eof() and (on is None or on(time.monotonic())):
                conn.writer.write(b"X")
                await conn.writer.drain()
                await asyncio.sleep(1)
        except (OSError, ConnectionError):
            pass
        if conn.reader is not None and conn.reader.at_eof():
            result["dropped"].append(1)
        conn.close()
        # Cut off together (they came within 2 s), they come back spread over 2 s again.
        await asyncio.sleep(random.uniform(0.5, 2.5))


def readers_run(stack: Stack, status_path: str, readers: int, slow: int, seconds: float = SECONDS, on=None) -> dict:
    until = time.monotonic() + seconds
    port = stack.port

    async def one(i, result):
        if i < readers:
            await reader(port, i, status_path, until, result)
        else:
            await slow_client(port, i - readers, status_path, until, result, on)

    def share_of(i: int) -> int:
        # The slow connections' handshakes in a client process of their own: a reader's
        # time is then the hub's, not also its own event loop's, busy handshaking.
        if not readers or not slow or CLIENTS < 2:
            return i % CLIENTS
        return i % (CLIENTS - 1) if i < readers else CLIENTS - 1

    return in_clients(one, readers + slow, until, share_of)


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
    """The readers for twice BENCH_HUB_SECONDS, the slow connections on in every other
    quarter of it: the p99 of the readers' requests begun in windows with and without
    them, and how far the windows without differ among themselves (the shared
    machine's own noise), by which "did not move" is judged."""
    global failed
    asyncio.run(warm_up(stack, status_path))
    bare, page = asyncio.run(floor(stack, status_path))
    print(f"-- {server} behind nginx: floor, one client")
    report("bare route /healthz, median", ms(bare))
    report("status page, median", ms(page))
    if server == "gunicorn":
        # What the slow clients cost by themselves, the client's event loops and the server alike.
        seconds = SECONDS / 4
        load_before, cpu_before, wall = load_average(), server_cpu(stack), time.perf_counter()
        result = readers_run(stack, status_path, 0, SLOW, seconds)
        wall = time.perf_counter() - wall
        print(f"-- {server}: {SLOW} slow-header connections alone, {seconds:.0f} s")
        report("slow connections nginx cut off", f"{len(result['dropped'])}")
        report_machine(result, 0, wall, server_cpu(stack) - cpu_before, load_before)
    # Readers throughout; the slow connections on in every other window, so both sets of
    # samples come from the same minutes of a shared machine's load, not from two runs.
    window = SECONDS / 4
    windows = 8
    start = time.monotonic() + 4  # the readers connected (their first ticks are in the first 2 s)

    def slow_on(moment: float) -> bool:
        return moment >= start and int((moment - start) // window) % 2 == 1

    load_before, cpu_before, wall = load_average(), server_cpu(stack), time.perf_counter()
    result = readers_run(stack, status_path, READERS, SLOW, 4 + windows * window, slow_on)
    wall = time.perf_counter() - wall
    by_window: dict[int, list[float]] = {}
    for at, latency in zip(result["starts"], result["latencies"]):
        if at >= start:
            by_window.setdefault(int((at - start) // window), []).append(latency)
    alone = [x for k, xs in by_window.items() if k % 2 == 0 for x in xs]
    with_slow = [x for k, xs in by_window.items() if k % 2 == 1 for x in xs]
    halves = [[x for k, xs in by_window.items() if k % 4 == j for x in xs] for j in (0, 2)]
    print(f"-- {server}: {READERS} readers, a status page every 2 s each, {windows * window:.0f} s; "
          f"{SLOW} slow-header connections in every other {window:.0f} s")
    report("requests alone / with slow", f"{len(alone)} / {len(with_slow)}")
    for name, samples in (("alone", alone), ("with slow", with_slow)):
        report(f"median, {name}", ms(median(samples)) if samples else "-")
        report(f"p99, {name}", ms(p99(samples)), "< 1 s", p99(samples) < 1.0)
    spread = max(p99(h) for h in halves) / min(p99(h) for h in halves)
    ratio = p99(with_slow) / p99(alone)
    # Window by window, to see the machine's load come and go (+: the slow connections on).
    print("  p99 by window:  " + "  ".join(
        f"{k + 1}{'+' if k % 2 else ' '}{p99(by_window.get(k, [])) * 1000:.0f}" for k in range(windows)) + "  ms")
    report("p99 alone, windows 1,5 / 3,7", f"{ms(p99(halves[0]))} / {ms(p99(halves[1]))}")
    report("readers alone, window to window", f"{spread:.2f}×")
    # Moved: further from the readers alone than their own windows are from each other.
    report("p99 with slow / alone", f"{ratio:.2f}×", f"within {spread:.2f}×", ratio <= spread)
    report_errors(result["errors"])
    report("slow connections nginx cut off", f"{len(result['dropped'])}")
    report_machine(result, len(result["latencies"]), wall, server_cpu(stack) - cpu_before, load_before)
    failed = failed or bool(result["errors"])


# --- 4. a province of stations ------------------------------------------------------------------


def add_stations(settings: dict, instance: Path, n: int) -> tuple[list[tuple[str, Ed25519PrivateKey]], int]:
    """``n`` stations registered and enrolled at the hub (straight into its tables: not timed),
    each as after an earlier sync: its cursor is the hub's newest change, returned."""
    keys = [(f"Z{i:05d}", Ed25519PrivateKey.generate()) for i in range(n)]

    def insert_rows():
        townships = list(db.session.scalars(select(Township.id)))
        db.session.execute(insert(Station), [
            {"code": code, "name": f"压测站{i}", "level": "point", "township_id": townships[i % len(townships)]}
            for i, (code, _key) in enumerate(keys)
        ])
        db.session.flush()
        # The stations' own rows are reference changes too: the cursor is read after them.
        cursor = db.session.scalar(select(func.coalesce(func.max(SyncChange.id), 0)))
        now = utcnow()
        db.session.execute(insert(SyncStation), [
            {"station_code": code, "public_key": signing.public_key_text(key), "enrolled_at": now,
             "last_contact_at": now - timedelta(days=1), "last_cursor": cursor}
            for code, key in keys
        ])
        db.session.commit()
        return cursor

    return keys, read(instance, insert_rows, **settings)


def signed(key, code: str, path: str, body: bytes, timestamp: int | None = None) -> dict:
    timestamp = str(to_millis(utcnow()) if timestamp is None else timestamp)
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


PUSH, PULL = "/api/v1/sync/push", "/api/v1/sync/pull"
# BENCH_HUB_PULL_FROM=0: every station pulls from the start, as a box does once, after enrolling.
PULL_FROM = os.environ.get("BENCH_HUB_PULL_FROM")
# How often a station turned away (503, Retry-After) comes back within the run.
COMEBACKS = int(os.environ.get("BENCH_HUB_COMEBACKS", "1"))


def station_sync(code: str, key, start_at: float, cursor: int, rng: random.Random) -> tuple:
    """A station's push and pull as the bytes it sends, made before the timed run: the
    client is not what is measured. Signed for the moment each station is due (its
    timestamp is then as fresh as a box's), each with a nonce of its own: the hub
    checks them exactly as any other."""
    due = to_millis(utcnow()) + round((start_at - time.monotonic()) * 1000)
    records = day_records(code, rng)
    push = wire.encode({"records": records})
    pull = wire.encode({"cursor": cursor})
    return (
        len(records),
        (push, pull),
        request_bytes("POST", PUSH, signed(key, code, PUSH, push, due), push),
        request_bytes("POST", PULL, signed(key, code, PULL, pull, due), pull),
    )


async def one_station(port, i, code, key, start_at, sync, result) -> None:
    """One station's sync; turned away busy (503), it comes back after the Retry-After
    given, plus up to half again, as kiosk.sync.loop does, and sends the same records
    again, freshly signed."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    records, (push_body, pull_body), push, pull = sync
    for attempt in range(COMEBACKS + 1):
        if attempt:
            push = request_bytes("POST", PUSH, signed(key, code, PUSH, push_body), push_body)
            pull = request_bytes("POST", PULL, signed(key, code, PULL, pull_body), pull_body)
        wait = await sync_once(port, i, code, records, push, pull, result, final=attempt == COMEBACKS)
        if wait is None:
            return
        await asyncio.sleep(wait * (1 + 0.5 * random.random()))


async def sync_once(port, i, code, records, push, pull, result, final: bool) -> float | None:
    """A push and a pull on one connection; the seconds to wait when turned away busy, else None."""
    conn = Connection(port, source_address(10 + i // 62500, i % 62500))
    stage = "connect"
    try:
        await asyncio.wait_for(conn.open(), 30)
        for stage, request in (("push", push), ("pull", pull)):
            started = time.perf_counter()
            # Longer than nginx waits for gunicorn (60 s), so its answer shows before the client gives up.
            status, answer = await asyncio.wait_for(conn.send(request), 90)
            result["latencies"].append(time.perf_counter() - started)
            if status == 503 and not final and conn.fields.get("retry-after", "").isdigit():
                result["errors"].append((f"{stage}: HTTP 503, came back later", f"{code}: {answer[:160]!r}"))
                return float(conn.fields["retry-after"])
            if status != 200:
                result["errors"].append((f"{stage}: HTTP {status}", f"{code}: {answer[:160]!r}"))
                return None
            if stage == "push" and len(wire.decode(answer)["acks"]) != records:
                result["errors"].append(("push: not every record acknowledged", code))
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
        result["errors"].append((f"{stage}: {error_kind(error)}", f"{code}: {error!r}"))
    finally:
        conn.close()
    return None


def stations_part(stack: Stack, keys, cursor: int) -> None:
    global failed
    cursor = int(PULL_FROM) if PULL_FROM else cursor
    print(f"-- {len(keys):,} stations syncing once (push, then pull from cursor {cursor}), "
          f"spread over {SPREAD:.0f} s, gunicorn behind nginx")
    rng = random.Random(20000)
    offsets = [rng.uniform(0, SPREAD) for _ in keys]
    # Signed for when each is due, from a guess at when making them all ends; if it
    # ends later, every station starts that much later (its timestamp a little older).
    guess = time.monotonic() + 2 + len(keys) / 1000
    syncs = [station_sync(code, key, guess + offsets[i], cursor, random.Random(i)) for i, (code, key) in enumerate(keys)]
    t0 = max(guess, time.monotonic() + 1)
    report("requests made beforehand", f"{2 * len(keys):,}, signed for {t0 - guess:.1f} s before they go")
    starts = [t0 + offset for offset in offsets]
    port = stack.port

    async def one(i, result):
        await one_station(port, i, keys[i][0], keys[i][1], starts[i], syncs[i], result)

    load_before, cpu_before, since, wall = load_average(), server_cpu(stack), log_size(stack), time.perf_counter()
    result = in_clients(one, len(keys), t0 + SPREAD)
    wall = time.perf_counter() - wall
    latencies = result["latencies"]
    final = [(kind, detail) for kind, detail in result["errors"] if "came back" not in kind]
    failed_codes = {detail.split(":", 1)[0] for _kind, detail in final}
    came_back = {detail.split(":", 1)[0] for kind, detail in result["errors"] if "came back" in kind}
    synced = len(keys) - len(failed_codes)
    report("stations synced whole", f"{synced:,} of {len(keys):,}", f"{len(keys):,}", synced == len(keys))
    report("  at once", f"{len(keys) - len(came_back | failed_codes):,}")
    report(f"  on coming back (up to {COMEBACKS}×)", f"{len(came_back - failed_codes):,}")
    report("  not within the run", f"{len(failed_codes):,}")
    report("requests answered", f"{len(latencies)}")
    report("over", f"{wall:.0f} s")
    report("median per request", ms(median(latencies)) if latencies else "-")
    report("p99 per request", ms(p99(latencies)))
    report_errors(result["errors"])
    nginx_complaints(stack, since)
    report_machine(result, len(latencies), wall, server_cpu(stack) - cpu_before, load_before)
    failed = failed or bool(final)


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
            keys, cursor = add_stations(hub.settings, instance, STATIONS) if "stations" in PARTS else ([], 0)
            servers = [s for s in ("gunicorn", "waitress") if s == "gunicorn" or "waitress" in PARTS]
            for server in servers:
                stack = Stack(folder / server, settings).start(server)
                try:
                    if "readers" in PARTS:
                        readers_part(stack, status_path, server)
                    if server == "gunicorn" and keys:
                        stations_part(stack, keys, cursor)
                finally:
                    stack.stop()
    finally:
        drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
