"""An opinion sent from a phone, at a hub holding 1,000,000 opinions on PostgreSQL.

What is timed: POST /d/<public id> (a deputy's phone page) through the
real Flask app against the real PostgreSQL: the form checked, the limits
per page and per address read and noted, the township's online station's
receipt counter moved, the opinion and its first two steps written, the
dashboard's rollup cells of that township's month recounted before the
commit (as for every write), and the receipt page rendered. The page
itself (GET, the form a phone opens) is timed beside it.

The floor, and why: GET /healthz, the bare route, through the same app
and interleaved with the others, so that the machine's mood touches all
alike; HTTP would add the same constant to each. Every submit is from
another deputy's page and another address, as a village's phones are.

The data: the queue benchmark's database (bench/staff_queue.py: the demo's
townships and stations, BENCH_PHONE_ROWS opinions, default 1,000,000,
made by the database itself), plus an online station per township.

BENCH_PHONE_ROWS: how many opinions (fewer for a quick look).
BENCH_PHONE_ROUNDS: how many timed submits (default 200).
BENCH_PHONE_DATABASE_URL: time an already generated database (e.g. one the
queue benchmark kept) instead of making one.

Prints figures; exits non-zero only when the product errors.
"""

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

import staff_queue  # noqa: E402
from common import median, ms, p95, ratio, report, timed  # noqa: E402
from kiosk import create_app  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from tests.support.boxes import new_postgres_database  # noqa: E402

ROWS = int(os.environ.get("BENCH_PHONE_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_PHONE_ROUNDS", "200"))
WARM_UP = 10
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')
RECEIPT = re.compile(r'data-testid="receipt-number">([^<]+)<')
CONTENTS = staff_queue.PHRASES


def add_online_stations(url: str) -> None:
    """Each township's online station, code <prefix>WS, as city staff register it."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO stations (code, name, level, township_id) "
                "SELECT left(min(s.code), 2) || 'WS', t.name || '人大代表网上联络站', 'online', t.id "
                "FROM townships t JOIN stations s ON s.township_id = t.id "
                "WHERE NOT EXISTS (SELECT 1 FROM stations o WHERE o.township_id = t.id AND o.level = 'online') "
                "GROUP BY t.id, t.name"
            )
        )
    engine.dispose()


def measure(url: str) -> bool:
    """Time the submits; returns False when the product errs."""
    with tempfile.TemporaryDirectory(prefix="bench-phone-") as folder:
        app = create_app(
            {
                "ROLE": "hub", "DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                "PUBLIC_BASE_URL": "https://rd.example.cn",
                # The cost of the checks is timed, not their refusals.
                "PHONE_SUBMITS_PER_HOUR_PER_PAGE": 1_000_000, "PHONE_SUBMITS_PER_HOUR_PER_ADDRESS": 1_000_000,
            }
        )  # fmt: skip
        if "phone.deputy_page" not in app.view_functions:
            print("  phone.deputy_page does not exist yet: nothing to time")
            return True
        with app.app_context():
            pages = db.session.execute(
                sa.text("SELECT public_id FROM deputies WHERE NOT retired ORDER BY id")
            ).scalars().all()
            opinions = db.session.scalar(sa.text("SELECT count(*) FROM opinions"))
        print(f"-- {opinions:,} opinions at the hub; {len(pages):,} deputies' pages")
        with app.app_context():
            log = staff_queue.StatementLog(db.engine)
        client = app.test_client()
        floor, page_times, submits = [], [], []
        numbers = set()
        for round_ in range(WARM_UP + ROUNDS):
            path = f"/d/{pages[round_ % len(pages)]}"
            address = {"REMOTE_ADDR": f"10.{round_ // 250 % 250}.{round_ % 250}.7"}
            shown_in, page = timed(client.get, path, environ_base=address)
            html = page.get_data(as_text=True)
            form = {
                "csrf_token": CSRF.search(html).group(1), "submission": SUBMISSION.search(html).group(1),
                "category": staff_queue.CATEGORY_CODES[round_ % len(staff_queue.CATEGORY_CODES)],
                "content": CONTENTS[round_ % len(CONTENTS)] + "，希望尽快解决。", "consent": "",
            }  # fmt: skip
            log.kind = "submit" if round_ >= WARM_UP else None
            saved_in, answer = timed(client.post, path, data=form, environ_base=address)
            log.kind = None
            found = RECEIPT.search(answer.get_data(as_text=True))
            if answer.status_code != 200 or found is None:
                print(f"{path}: {answer.status_code}\n{answer.get_data(as_text=True)[:1000]}")
                return False
            numbers.add(found.group(1))
            bare_in, _ = timed(client.get, "/healthz")
            if round_ >= WARM_UP:
                floor.append(bare_in)
                page_times.append(shown_in)
                submits.append(saved_in)
        if len(numbers) != WARM_UP + ROUNDS:
            print(f"  {WARM_UP + ROUNDS} submits gave {len(numbers)} receipt numbers")
            return False
    print(f"  through the Flask app on PostgreSQL, {ROUNDS} submits, interleaved:")
    report("floor (GET /healthz) median", ms(median(floor)))
    report("floor (GET /healthz) p95", ms(p95(floor)))
    report("phone page (GET /d/…) median", ms(median(page_times)))
    report("phone page (GET /d/…) p95", ms(p95(page_times)))
    report("phone submit (POST /d/…) median", ms(median(submits)))
    report("phone submit (POST /d/…) p95", ms(p95(submits)))
    ratio("submit / floor, medians", median(submits), median(floor))
    ratio("submit / floor, p95", p95(submits), p95(floor))
    ratio("page / floor, medians", median(page_times), median(floor))
    sql = log.sql_seconds["submit"]
    report(f"  submit: of which SQL, mean ({sql / sum(submits):.0%})", ms(sql / len(submits)))
    for mean, statement, _params in log.slowest("submit", 4):
        print(f"    {ms(mean):>9}  {' '.join(statement.split())[:110]}")
    return True


def main() -> int:
    given = os.environ.get("BENCH_PHONE_DATABASE_URL")
    if given:
        add_online_stations(given)
        return 0 if measure(given) else 1
    admin_url = os.environ.get("KIOSK_TEST_POSTGRES_URL")
    if not admin_url:
        print("KIOSK_TEST_POSTGRES_URL not set: the phone benchmark needs PostgreSQL; skipped")
        return 0
    url, _name, drop = new_postgres_database(admin_url, "kiosk_bench_phone")
    try:
        staff_queue.ROWS = ROWS
        elapsed, _ = timed(staff_queue.generate, url)
        print(f"-- generated {ROWS:,} opinions in {elapsed:.0f} s")
        add_online_stations(url)
        return 0 if measure(url) else 1
    finally:
        drop()


if __name__ == "__main__":
    sys.exit(main())
