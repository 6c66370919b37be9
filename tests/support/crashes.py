"""Crash harness: a villager's browser over real HTTP, and what a crashed box must still be.

A ``Villager`` is what the kiosk's browser is to the server: a cookie jar
(the Flask session holds the draft id) and the CSRF token read from the page,
sent the way htmx sends it (``ClientVillager``: the same through Flask's test
client). ``crash_once`` and ``kill_during_stream`` kill a real server during
submissions and restart it on the same instance folder; a ``Zygote`` makes
those servers quickly. ``check_box`` opens a box's SQLite file and lists
every way it falls short of "each answered submission exactly once, no
receipt number twice, nothing half-written"; an empty list is a healthy box.

Used by ``tests/test_crash_safety.py``, ``tests/test_bad_input.py`` and
``bench/`` (1,000 crashes, the submit timing, the station's memory).
"""

import http.client
import http.cookiejar
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import escape

from tests.support.servers import ROOT, ServerProcess, _env, free_port

# Points on the submit path where KIOSK_CRASH_POINT makes the server die.
# "before_response" sits in the route, after submit returned and before the
# receipt screen is sent; the others are in intake.services.submit_draft.
CRASH_POINTS = ("after_counter", "before_commit", "after_commit", "before_response")

# Crash tests are about crashes, not about the per-minute limit.
UNLIMITED = {"SUBMIT_PER_MINUTE": 1_000_000}

_CSRF = re.compile(r'"X-CSRFToken":\s*"([^"]+)"|name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_RECEIPT = re.compile(r'data-testid="receipt-number"[^>]*>\s*([^<\s]+)\s*<')
_SECRET = re.compile(r'data-testid="receipt-secret"[^>]*>\s*([^<\s]+)\s*<')
RECEIPT_NUMBER = re.compile(r"^([0-9A-Z]{2,8})-(\d{6})-(\d{4,})$")


class ServerGone(Exception):
    """The connection ended without an answer: the server process died."""


@dataclass
class Page:
    status: int
    text: str
    headers: dict

    @property
    def receipt_number(self) -> str | None:
        match = _RECEIPT.search(self.text)
        return match.group(1) if match else None

    @property
    def receipt_secret(self) -> str | None:
        match = _SECRET.search(self.text)
        return match.group(1) if match else None


class Villager:
    """One person at the kiosk, as their browser talks to a real server."""

    def __init__(self, base_url: str, htmx: bool = True, timeout: float = 20):
        self.base_url = base_url
        self.htmx = htmx
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.csrf_token: str | None = None

    def get(self, path: str, headers: dict | None = None) -> Page:
        return self._page(self._send("GET", path, None, self._headers(headers)))

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, body: bytes | None = None,
             headers: dict | None = None) -> Page:
        """POST a form as the page would; ``csrf=False`` leaves the token out."""
        headers = self._headers(headers)
        if csrf and self.csrf_token:
            headers.setdefault("X-CSRFToken", self.csrf_token)
        if body is None:
            body = urllib.parse.urlencode(data or {}, doseq=True).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self._page(self._send("POST", path, body, headers))

    def _headers(self, extra: dict | None) -> dict:
        headers = {"HX-Request": "true"} if self.htmx else {}
        headers.update(extra or {})
        return headers

    def _page(self, page: Page) -> Page:
        if token := _find_csrf(page.text):
            self.csrf_token = token
        return page

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Page:
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Page(response.status, response.read().decode("utf-8", "replace"), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Page(error.code, error.read().decode("utf-8", "replace"), dict(error.headers))
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
            raise ServerGone(f"{method} {path}: {error!r}") from error

    # --- the walk ---------------------------------------------------------

    def open_home(self) -> Page:
        # The home screen is a full page: that is where the CSRF token comes from.
        page = self.get("/", headers={"HX-Request": "false"} if self.htmx else None)
        _expect(page, "home")
        return page

    def fill_in(self, content: str, category: str = "road", contact: dict | None = None, deputy_id: str = "") -> Page:
        """From the home screen to the review screen, anonymous unless ``contact`` says otherwise."""
        if self.csrf_token is None:
            self.open_home()
        _expect(self.post("/opinion/start"), "start")
        _expect(self.post("/opinion/category", {"category": category}), "category")
        _expect(self.post("/opinion/content", {"content": content}), "content")
        _expect(self.post("/opinion/contact", contact or {"anonymous": "1"}), "contact")
        _expect(self.post("/opinion/deputy", {"deputy_id": deputy_id}), "deputy")
        page = self.get("/opinion/review")
        _expect(page, "review")
        if str(escape(content)) not in page.text:
            raise AssertionError(f"the review screen does not show the opinion: {page.text[:500]}")
        return page

    def submit(self) -> Page:
        return self.post("/opinion/submit")


class ClientVillager(Villager):
    """The same person, through Flask's test client instead of a socket."""

    def __init__(self, client, htmx: bool = True):
        super().__init__("", htmx=htmx)
        self.client = client

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Page:
        response = self.client.open(path, method=method, data=body, headers=headers)
        return Page(response.status_code, response.get_data(as_text=True), dict(response.headers))


def _find_csrf(text: str) -> str | None:
    match = _CSRF.search(text)
    return next((g for g in match.groups() if g), None) if match else None


def _expect(page: Page, step: str) -> None:
    if page.status != 200:
        raise AssertionError(f"step {step}: status {page.status}: {page.text[:500]}")


def unique_content(label: str = "") -> str:
    """An opinion text that appears nowhere else, to find it again in the database."""
    return f"村口路灯坏了，晚上看不见路。{label} 编号{uuid.uuid4().hex[:12]}"


# --- boxes --------------------------------------------------------------------


_claimed_ports: set[int] = set()
_claim_lock = threading.Lock()


def claim_port() -> int:
    """A free port that no other box of this run holds.

    A box keeps its port for all its servers, crashed and restarted, as a
    kiosk's browser keeps its address; without claiming, a box running
    alongside could be handed the port in the moment between a crash and
    the restart, and the villagers would talk to the wrong box.
    """
    with _claim_lock:
        while (port := free_port()) in _claimed_ports:
            pass
        _claimed_ports.add(port)
        return port


def server(instance: Path, port: int | None = None, zygote: "Zygote | None" = None, **settings) -> ServerProcess:
    """A station server on ``instance``: ``python -m waitress``, or forked from ``zygote``."""
    box = (ForkedServer if zygote else ServerProcess)(instance, {**UNLIMITED, **settings}, port or claim_port())
    if zygote:
        box.zygote = zygote
    return box


class Zygote:
    """A process that imported the station's code once and forks servers from it.

    Starting ``python -m waitress wsgi:app`` is mostly imports (0.7 s here);
    a fork of a process that has done them is a new server in a tenth of
    that, so the suite can crash fifty servers and the bench a thousand. Each
    child is still its own process: it builds its app from ``KIOSK_*``
    settings, opens its own SQLite connections and serves with waitress,
    and ``os._exit`` or ``kill -9`` end it as they would end a box's server.
    The zygote itself never opens a database.
    """

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tests.support.crashes import zygote_loop; zygote_loop()"],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lock = threading.Lock()
        if json.loads(self.process.stdout.readline() or "{}").get("ready") is not True:
            raise RuntimeError("the zygote did not start")

    def call(self, **command) -> dict:
        with self.lock:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Forked:
    """The few ``Popen`` methods the harness uses, for a zygote's child."""

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.call(op="status", pid=self.pid)["code"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, signum) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass


class ForkedServer(ServerProcess):
    """A ``ServerProcess`` whose process is forked from a ``Zygote``."""

    zygote: Zygote | None = None

    def launch(self) -> _Forked:
        env = _env(self.instance, self.settings)
        pid = self.zygote.call(op="spawn", env=env, port=self.port, log=str(self.instance / "server.log"))["pid"]
        return _Forked(self.zygote, pid)


def zygote_loop() -> None:
    """The zygote's main loop: import once, then fork servers and report how they ended."""
    import importlib
    import pkgutil

    import kiosk

    # All of the station's code as it is now, so that every child of one run
    # serves the same code (others may be editing the checkout meanwhile).
    # Importing starts no threads and opens no database; building an app would.
    for module in ("waitress", "flask_migrate", "alembic.command"):
        importlib.import_module(module)
    for module in pkgutil.walk_packages(kiosk.__path__, "kiosk."):
        if not module.name.startswith("kiosk.migrations"):
            importlib.import_module(module.name)
    exits: dict[int, int] = {}

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            exits[pid] = os.waitstatus_to_exitcode(status)

    def reply(**answer):
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()

    reply(ready=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _serve_forked(command)
            # Process ids come round again (pid_max is 32768 here): forget how
            # an earlier child with this id ended.
            exits.pop(pid, None)
            reply(pid=pid)
        elif command["op"] == "status":
            reap()
            reply(code=exits.get(command["pid"]))


def _serve_forked(command: dict) -> None:
    """In the child: become a station server as ``python -m waitress wsgi:app`` would."""
    try:
        log = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.clear()
        os.environ.update(command["env"])
        import waitress

        import wsgi  # builds the app from this child's KIOSK_* settings

        waitress.serve(wsgi.app, listen=f"127.0.0.1:{command['port']}", threads=8)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(1)


@dataclass
class Ledger:
    """What the villagers were told, to hold the database to it afterwards."""

    # content -> every receipt number the screen showed for it
    answered: dict[str, set[str]] = field(default_factory=dict)
    # contents whose submit was sent at least once, answered or not
    attempted: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, content: str) -> None:
        with self.lock:
            self.attempted.add(content)

    def told(self, content: str, page: Page) -> str:
        number = page.receipt_number
        if page.status != 200 or not number:
            raise AssertionError(f"submit answered {page.status} without a receipt number: {page.text[:500]}")
        with self.lock:
            self.answered.setdefault(content, set()).add(number)
        return number


def crash_once(instance: Path, point: str, ledger: Ledger, villagers: int = 1, label: str = "",
               zygote: Zygote | None = None, port: int | None = None) -> None:
    """One crash and recovery.

    A server with the crash point set takes ``villagers`` walks to the review
    screen; they all tap submit at once and the process dies at ``point``.
    A server without the crash point is started on the same instance folder
    and port, and each villager taps submit again with the cookies they had.
    """
    box = server(instance, port, zygote=zygote, CRASH_POINT=point).start()
    try:
        people = [Villager(box.url) for _ in range(villagers)]
        contents = [unique_content(f"{label}-{i}") for i in range(villagers)]
        for person, content in zip(people, contents):
            person.fill_in(content)
        outcomes: list[Page | Exception] = [None] * villagers

        def tap(i):
            ledger.sent(contents[i])
            try:
                outcomes[i] = people[i].submit()
            except ServerGone as gone:
                outcomes[i] = gone

        together([lambda i=i: tap(i) for i in range(villagers)])
        code = box.wait_exit(20)
        if code != 70:
            raise AssertionError(f"server with crash point {point} exited with {code}: {box.log_text()[-1500:]}")
        for content, outcome in zip(contents, outcomes):
            if isinstance(outcome, Page):
                # Answered before another request reached the crash point.
                ledger.told(content, outcome)
    finally:
        box.stop()

    again = server(instance, port=box.port, zygote=zygote).start()
    try:
        for person, content in zip(people, contents):
            ledger.told(content, person.submit())
            # A second tap after the answer: still the same receipt.
            ledger.told(content, person.submit())
    finally:
        again.stop()


def kill_during_stream(instance: Path, ledger: Ledger, villagers: int = 4, rng: random.Random | None = None,
                       min_wait: float = 0.2, max_wait: float = 1.5, zygote: Zygote | None = None,
                       port: int | None = None) -> int:
    """Villagers submit one opinion after another; ``kill -9`` lands at a random moment.

    Each villager then repeats, on a restarted server, whatever step was cut
    off, and finishes the opinion it was on. Returns how many requests the
    kill cut off.
    """
    rng = rng or random.Random()
    box = server(instance, port, zygote=zygote).start()
    stop = threading.Event()
    cut_off: list[tuple[Villager, str, str]] = []  # (villager, content, step)
    lock = threading.Lock()

    def stream():
        person = Villager(box.url)
        while not stop.is_set():
            content = unique_content("stream")
            step = "fill_in"
            try:
                person.fill_in(content)
                step = "submit"
                ledger.sent(content)
                ledger.told(content, person.submit())
            except ServerGone:
                with lock:
                    cut_off.append((person, content, step))
                return

    def kill():
        time.sleep(rng.uniform(min_wait, max_wait))
        box.process.kill()
        box.process.wait()
        stop.set()

    together([stream] * villagers + [kill])

    again = server(instance, port=box.port, zygote=zygote).start()
    try:
        for person, content, step in cut_off:
            if step == "fill_in":
                # Cut off somewhere on the way: the villager starts over.
                person.fill_in(content)
                ledger.sent(content)
            ledger.told(content, person.submit())
    finally:
        again.stop()
    return len(cut_off)


def together(functions) -> None:
    """Run each function in its own thread; re-raise the first error any of them met."""
    errors = []

    def run(function):
        try:
            function()
        except BaseException as error:  # noqa: BLE001  (handed to the caller below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --- the checks ---------------------------------------------------------------


def check_box(database: Path, ledger: Ledger) -> list[str]:
    """Every way the box's database breaks its promises; empty when it keeps them all."""
    problems = []
    with sqlite3.connect(database) as conn:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {integrity[:5]}")
        if fk := conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign_key_check: {fk[:5]}")

        for number, n in conn.execute(
            "SELECT receipt_number, count(*) FROM opinions GROUP BY receipt_number HAVING count(*) > 1"
        ):
            problems.append(f"receipt number {number} issued {n} times")

        for content, told in ledger.answered.items():
            rows = [r[0] for r in conn.execute("SELECT receipt_number FROM opinions WHERE content = ?", (content,))]
            if len(rows) != 1:
                problems.append(f"answered opinion saved {len(rows)} times: {content!r}")
            elif told != {rows[0]}:
                problems.append(f"screen showed {sorted(told)} but the database holds {rows[0]} for {content!r}")
        for content in ledger.attempted - ledger.answered.keys():
            n = conn.execute("SELECT count(*) FROM opinions WHERE content = ?", (content,)).fetchone()[0]
            if n > 1:
                problems.append(f"unanswered opinion saved {n} times: {content!r}")

        # The opinion, its first event and the draft's removal are one transaction.
        for uuid_, n in conn.execute(
            "SELECT o.uuid, count(e.id) FROM opinions o LEFT JOIN opinion_events e"
            " ON e.opinion_uuid = o.uuid AND e.status = 'submitted' GROUP BY o.uuid HAVING count(e.id) != 1"
        ):
            problems.append(f"opinion {uuid_} has {n} 'submitted' events")
        for (uuid_,) in conn.execute("SELECT d.id FROM drafts d JOIN opinions o ON o.uuid = d.id"):
            problems.append(f"draft {uuid_} still there after it became an opinion")

        problems += _check_counters(conn)
    return problems


def _check_counters(conn: sqlite3.Connection) -> list[str]:
    """Counters move in the opinion's own transaction: each equals its day's opinions, no gaps."""
    problems = []
    serials: dict[tuple[str, str], list[int]] = {}
    for number, station in conn.execute("SELECT receipt_number, station_code FROM opinions"):
        match = RECEIPT_NUMBER.match(number)
        if not match or match.group(1) != station:
            problems.append(f"malformed receipt number {number!r} for station {station}")
            continue
        serials.setdefault((station, match.group(2)), []).append(int(match.group(3)))
    counters = {(s, d): last for s, d, last in conn.execute(
        "SELECT station_code, day, last_serial FROM receipt_counters")}
    for key in serials.keys() | counters.keys():
        issued = sorted(serials.get(key, []))
        last = counters.get(key)
        if last is None:
            problems.append(f"opinions numbered {key} without a counter")
        elif issued != list(range(1, last + 1)):
            problems.append(f"counter {key} at {last} but serials issued are {issued[:10]}…({len(issued)})")
    return problems


def last_traceback(instance: Path) -> str:
    """The last traceback in the box's server log, if any: why a request failed."""
    log = (instance / "server.log").read_text(errors="replace") if (instance / "server.log").exists() else ""
    start = log.rfind("Traceback")
    return log[start : start + 3000] if start >= 0 else ""
