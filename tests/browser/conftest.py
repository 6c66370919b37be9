"""Browser tests: Debian's Chromium, driven by pytest-playwright, against a
real station box (waitress in its own process, as in the field).

Every test here is marked ``browser``. Contexts are touch screens
(``has_touch``) in the two shapes kiosks are mounted in, or the township
office's desk browser (``screens("desk")``); screenshots go to
``test-results/screens/`` (pytest-playwright's ``--output``) as artifacts.
"""

import sqlite3
from contextlib import closing

import pytest

from tests.support.servers import ROOT, station_box
from tests.support.touch import QUICK_SETTLE_MS

SCREENS = {
    "landscape": {"width": 1920, "height": 1080},
    "portrait": {"width": 1080, "height": 1920},
}
# The township office's desk computer: a common laptop screen, mouse and keyboard.
DESK = {"width": 1366, "height": 768}
# A villager's or a deputy's phone: a small one, touch only.
PHONE = {"width": 380, "height": 800}



@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright cannot download its own here."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


class Box:
    """A running station box and a look into its database."""

    def __init__(self, server):
        self.server = server
        self.url = server.url
        self.database = server.instance / "kiosk.sqlite3"

    def query(self, sql: str, *params):
        with closing(sqlite3.connect(self.database, timeout=10)) as conn:
            return conn.execute(sql, params).fetchall()

    def count(self, table: str) -> int:
        return self.query(f"SELECT count(*) FROM {table}")[0][0]

    def close(self, receipt_number: str, reply: str = "路灯已经修好。") -> None:
        """办结 the opinion, with the history a pull from the township brings: open for a rating."""
        steps = ["received", "accepted", "forwarded", "replied", "closed"]
        with closing(sqlite3.connect(self.database, timeout=10)) as conn, conn:
            conn.execute(
                "UPDATE opinions SET status = 'closed', public_reply = ? WHERE receipt_number = ?",
                (reply, receipt_number),
            )
            for status in steps:
                conn.execute(
                    "INSERT INTO opinion_events (opinion_uuid, status, at, note)"
                    " SELECT uuid, ?, datetime('now', '+1 hour'), ? FROM opinions WHERE receipt_number = ?",
                    (status, "已转交罗城街道城建办办理。" if status == "forwarded" else None, receipt_number),
                )


def _box(folder, seed, **settings):
    server = station_box(folder, seed=seed, SUBMIT_PER_MINUTE=1000, **settings).start()
    return server, Box(server)


@pytest.fixture(scope="session")
def box(tmp_path_factory, demo_database):
    """One station box for the walk tests (no submit limit to trip over)."""
    server, box = _box(tmp_path_factory.mktemp("browser-box"), demo_database, TAP_SETTLE_MS=QUICK_SETTLE_MS)
    yield box
    server.stop()


@pytest.fixture(scope="session")
def tap_guard_box(tmp_path_factory, demo_database):
    """A box that holds taps after a new screen as long as a box in the field does."""
    server, box = _box(tmp_path_factory.mktemp("tap-guard-box"), demo_database)
    yield box
    server.stop()


# The PIN of the sync admin screen on ``admin_box``.
ADMIN_PIN = "2468"


@pytest.fixture(scope="session")
def admin_box(tmp_path_factory, demo_database):
    """A station box with its sync admin screen switched on (PIN ``ADMIN_PIN``)."""
    # The value is read as JSON: quoted, the PIN stays a string.
    server, box = _box(
        tmp_path_factory.mktemp("admin-box"), demo_database, ADMIN_PIN=f'"{ADMIN_PIN}"', TAP_SETTLE_MS=QUICK_SETTLE_MS
    )
    yield box
    server.stop()


@pytest.fixture(scope="session")
def quick_idle_box(tmp_path_factory, demo_database):
    """A box whose idle timer runs out in seconds, not minutes, and whose
    receipt screen ends in seconds too (later than the idle timer would)."""
    server, box = _box(
        tmp_path_factory.mktemp("idle-box"), demo_database,
        IDLE_SECONDS=2, IDLE_COUNTDOWN_SECONDS=4, RECEIPT_SECONDS=4, TAP_SETTLE_MS=QUICK_SETTLE_MS,
    )
    yield box
    server.stop()


@pytest.fixture(scope="session")
def duty_idle_box(tmp_path_factory, demo_database):
    """A box whose deputy mode ends by itself after three seconds untouched."""
    server, box = _box(
        tmp_path_factory.mktemp("duty-idle-box"), demo_database, DEPUTY_IDLE_SECONDS=3, TAP_SETTLE_MS=QUICK_SETTLE_MS
    )
    yield box
    server.stop()


@pytest.fixture(params=list(SCREENS), ids=list(SCREENS))
def shape(request):
    return request.param


def _open_page(browser, pytestconfig, shape: str):
    """A page in a browser context of its own (its own cookies): a kiosk's
    touch screen for the shapes in SCREENS, a desk computer's browser for "desk"."""
    touch = shape in SCREENS or shape == "phone"
    viewport = PHONE if shape == "phone" else SCREENS.get(shape, DESK)
    context = browser.new_context(
        viewport=viewport, has_touch=touch, device_scale_factor=1,
        locale="zh-CN", timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Chromium reports what the Content-Security-Policy refused on the console:
    # every page visited must need no inline script or style, and no eval.
    page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(f"{page.url}: {message.text}"))
    page.js_errors = errors
    page.shape = shape
    page.screenshots = ROOT / pytestconfig.getoption("--output") / "screens"
    return page


@pytest.fixture
def kiosk(browser, shape, pytestconfig):
    """A touch screen page in the given shape, as the kiosk's browser is."""
    page = _open_page(browser, pytestconfig, shape)
    yield page
    page.context.close()
    assert not page.js_errors, page.js_errors


@pytest.fixture
def screens(browser, pytestconfig):
    """``screens(shape)`` opens one more page in a fresh context: "desk" for
    the township office's desk computer, "phone" for a villager's or a deputy's phone, or a kiosk shape. All are closed at
    the end, and none may have had a script error or a CSP violation."""
    pages = []

    def open_page(shape: str = "desk"):
        pages.append(_open_page(browser, pytestconfig, shape))
        return pages[-1]

    yield open_page
    for page in pages:
        page.context.close()
    errors = [error for page in pages for error in page.js_errors]
    assert not errors, errors
