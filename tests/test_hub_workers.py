"""The hub on two gunicorn workers over one PostgreSQL database: every limit holds across them and restarts.

Two worker processes (each its own gunicorn, with the production
``deploy/hub/gunicorn.conf.py``) share the hub's instance folder and
database, as the workers of one box do; the test picks which one each
request reaches, which a shared socket would not let it. Behind nginx the
client's address comes from ``X-Forwarded-For`` (``KIOSK_TRUSTED_PROXIES=1``),
sent here as nginx sends it.
"""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.extensions import db
from kiosk.sync import registry as hub_registry
from kiosk.sync import signing, wire
from tests.support.apps import make_app
from tests.support.boxes import new_postgres_database
from tests.support.factories import make_user, receive_opinion
from tests.support.servers import free_port
from tests.support.signed import signed_headers

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse 9"


class Worker:
    """One gunicorn worker of the hub on its own port."""

    def __init__(self, env: dict, log: Path):
        self.port, self.env, self.log = free_port(), env, log
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> "Worker":
        env = {**self.env, "KIOSK_HUB_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "1"}
        command = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy/hub/gunicorn.conf.py"), "wsgi:app"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> "Worker":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the worker did not start: " + self.log.read_text()[-3000:])

    def stop(self) -> None:
        """Gone at once (gunicorn's quick shutdown), as a crash or a reboot would leave it."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(30)


def start(workers) -> None:
    for worker in workers:
        worker.launch()
    for worker in workers:
        worker.wait_ready()


@pytest.fixture(scope="module")
def hub_workers(tmp_path_factory, postgres_admin_url, hub_seed_postgres):
    """Two workers of one hub, its database copied from the demo seed, with an account, a receipt and a station."""
    url, _name, drop = new_postgres_database(postgres_admin_url, "kiosk_workers", hub_seed_postgres)
    instance = tmp_path_factory.mktemp("hub-workers")
    app = make_app(instance, ROLE="hub", DATABASE_URL=url, AUTO_MIGRATE=False)
    with app.app_context():
        make_user(username="zhangmin", password=PASSWORD)
        opinion = receive_opinion("LC00", secret="ABCDEF")
        number = opinion.receipt_number
        tokens = [hub_registry.issue_token(code) for code in ("LC00", "LC01")]
        db.session.remove()
        db.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(
        KIOSK_ROLE="hub",
        KIOSK_INSTANCE_PATH=str(instance),
        KIOSK_DATABASE_URL=url,
        KIOSK_AUTO_MIGRATE="false",
        KIOSK_TRUSTED_PROXIES="1",
        KIOSK_SECRET_KEY="two workers share one key",
        KIOSK_LOGIN_FAILURES_PER_ACCOUNT="3",
        KIOSK_LOOKUP_FAILURES_PER_10_MINUTES="4",
    )
    workers = [Worker(env, instance / f"worker-{i}.log") for i in (1, 2)]
    start(workers)
    yield workers, number, tokens
    for worker in workers:
        worker.stop()
    drop()


def restart(workers) -> None:
    for worker in workers:
        worker.stop()
    start(workers)


class Browser:
    """A person's browser: one cookie jar, whichever worker answers."""

    def __init__(self, address: str):
        self.address = address
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, url: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"X-Forwarded-For": self.address})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def sign_in(self, worker: Worker, password: str) -> tuple[int, str]:
        status, page = self.open(worker.url + "/staff/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return self.open(worker.url + "/staff/login", {"csrf_token": token, "username": "zhangmin", "password": password})


def test_sign_in_and_look_up_failures_count_across_workers_and_a_restart(hub_workers):
    workers, number, _tokens = hub_workers
    desk = Browser("203.0.113.7")
    for worker in (workers[0], workers[1], workers[0]):
        status, page = desk.sign_in(worker, "wrong password")
        assert status == 200 and "用户名或密码不正确" in page
    # The fourth try, on the other worker, with the right password: the account waits.
    status, page = desk.sign_in(workers[1], PASSWORD)
    assert status == 429 and "登录失败次数过多" in page
    # Four wrong 验证码 from four phones, two on each worker: the receipt waits, from anywhere.
    phones = [Browser(f"198.51.100.{i}") for i in range(1, 6)]
    for phone, worker in zip(phones, (workers[0], workers[1], workers[0], workers[1])):
        assert phone.open(f"{worker.url}/r/{number}?k=WRONGG")[0] == 404
    assert phones[4].open(f"{workers[0].url}/r/{number}?k=ABCDEF")[0] == 429

    restart(workers)
    status, page = desk.sign_in(workers[0], PASSWORD)
    assert status == 429 and "登录失败次数过多" in page
    assert phones[4].open(f"{workers[1].url}/r/{number}?k=ABCDEF")[0] == 429
    # Another receipt number from a fresh address is not held by that receipt's lock.
    assert Browser("192.0.2.9").open(f"{workers[1].url}/r/LC00-000101-9999?k=ABCDEF")[0] == 404


def test_a_nonce_and_an_enrolment_token_are_good_once_across_workers(hub_workers):
    workers, _number, tokens = hub_workers
    key = Ed25519PrivateKey.generate()
    # The same token sent to both workers at once: exactly one box enrols with it.
    body = json.dumps({"token": tokens[0], "public_key": signing.public_key_text(key)}).encode()
    answers = []

    def enrol(worker):
        request = urllib.request.Request(worker.url + "/api/v1/sync/enrol", data=body, headers={"Content-Type": "application/json"})
        try:
            answers.append(urllib.request.urlopen(request, timeout=30).status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)

    threads = [threading.Thread(target=enrol, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers)[0] == 200 and sorted(answers)[1] >= 400, answers
    # One signed pull, replayed on the other worker: refused there.
    pull = wire.encode({"cursor": 0})
    headers = signed_headers(key, "/api/v1/sync/pull", pull, station="LC00")
    statuses = []
    for worker in workers:
        request = urllib.request.Request(worker.url + "/api/v1/sync/pull", data=pull, headers=headers)
        try:
            statuses.append(urllib.request.urlopen(request, timeout=30).status)
        except urllib.error.HTTPError as error:
            statuses.append((error.code, json.loads(error.read())["error"]))
    assert statuses == [200, (401, "replayed_nonce")]
