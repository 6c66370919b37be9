"""The staff queue and the dashboard over 1,000,000 opinions on PostgreSQL.

Targets: the queue page (GET /staff/?status=…, a township clerk, so
filtered by township and status) p95 at most 100 ms; the dashboard (GET
/staff/stats/, a township's and the whole city's) p95 at most 100 ms, read
from the rollup kept per township, station, category and month; text search's p95 reported beside them,
and the public Open311 list (GET /open311/v2/requests.json) too.

The data: a fresh database with the demo's 21 townships and 236 stations,
and BENCH_QUEUE_ROWS opinions (default 1,000,000) made by the database
itself (INSERT … SELECT over generate_series, no ORM, no round trips),
spread over three years of working hours, busier stations busier, with the
status mix of a real office: most older opinions finished (closed, a few
declined or merged), recent ones still being accepted, forwarded and
replied. Then VACUUM ANALYZE, as autovacuum would have done by then. The
opinions' triggers list every loaded day as stale; the first commit counts
the rollup's cells from them (its time is reported).

The fair comparison, and why: every page goes through the real Flask app
(its test client, a signed-in clerk's server-side session) against the real
PostgreSQL, and so does the floor, GET /healthz, interleaved with them so
that the machine's mood touches all alike. HTTP would add the same
constant to each; the subject here is what the queries cost.

When a target is missed the slowest statements of that page are shown
with EXPLAIN (ANALYZE, BUFFERS), so the plan says why.

BENCH_QUEUE_ROWS: how many opinions (fewer for a quick look).
BENCH_QUEUE_ROUNDS: how many timed rounds (default 80; the city's
dashboard is timed every fourth, so 20 samples by default).
BENCH_QUEUE_EXPLAIN=1: explain every page's slowest statements, not only
those over their target.
BENCH_QUEUE_DATABASE_URL: time an already generated database instead of
making one (BENCH_QUEUE_KEEP=1 keeps the one made and prints its URL).

Prints figures; exits non-zero only when the product errors.
"""

import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from flask import url_for  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from common import median, ms, p95, ratio, report, timed  # noqa: E402
from kiosk import create_app  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Role, Township  # noqa: E402
from tests.support.boxes import new_postgres_database  # noqa: E402
from tests.support.factories import make_user, sign_in  # noqa: E402

ROWS = int(os.environ.get("BENCH_QUEUE_ROWS", "1000000"))
YEARS_OF_DAYS = 3 * 365
WARM_UP = 5
ROUNDS = int(os.environ.get("BENCH_QUEUE_ROUNDS", "80"))
# The city's dashboard (every township at once) is timed every few rounds.
CITY_EVERY = 4
QUEUE_TARGET, DASHBOARD_TARGET = 0.100, 0.100
# What a clerk filters by, in turn: the tabs of the queue page.
QUEUE_VIEWS = [
    "status=open",
    "status=received",
    "status=accepted",
    "status=forwarded",
    "status=replied",
    "status=closed",
    "status=declined",
    "status=open&order=urgent",
]
# Words people type: common ones, a rarer one, one found nowhere, a receipt number's start.
SEARCHES = ["路灯", "水质", "低保申请进度", "没有这句话", "LC0"]
# Public Open311 lists (up to 1,000 requests each, the last 90 days by default).
OPEN311_VIEWS = ["", "status=open", "service_code=road&status=closed"]
failed = False

PHRASES = [
    "村口的路灯坏了三个月，晚上很黑",
    "水渠堵塞，农田灌溉困难",
    "垃圾清运不及时，环境卫生差",
    "学校门口上下学时交通拥堵",
    "医疗报销手续复杂，老人跑了几次",
    "村道坑洼不平，雨天积水",
    "希望增加到镇上的公交班次",
    "低保申请进度慢，不知道找谁",
    "河道有人倾倒建筑垃圾",
    "邻里宅基地纠纷需要调解",
    "敬老院床位紧张",
    "农村饮水水质差，有时发黄",
    "希望修建村文化广场",
    "集市占道经营严重",
    "危房改造补助迟迟没有到位",
    "就业培训机会少",
    "山区手机网络信号差",
    "山塘水库有安全隐患",
    "耕地撂荒问题突出",
    "村务公开不及时",
]
DEPARTMENTS = [
    "罗定市交通运输局",
    "罗定市水务局",
    "罗定市住房和城乡建设局",
    "罗定市教育局",
    "罗定市卫生健康局",
    "罗定市民政局",
    "罗定市人力资源和社会保障局",
    "罗定市农业农村局",
    "罗定市自然资源局",
    "罗定市公安局",
    "云浮市生态环境局罗定分局",
    "镇综合行政执法办",
]
CATEGORY_CODES = [
    "road", "water", "environment", "edu-health", "welfare", "jobs", "mediation", "village", "other"
]  # fmt: skip


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# One row per opinion: which station (busier ones first), which local day,
# the time of day, and independent dice for the rest.
RAW = """
CREATE TEMP TABLE raw AS
SELECT g.i,
       floor(power(random(), 1.4) * :stations)::int AS k,
       current_date - 1 - floor(random() * :days)::int AS day,
       -- 08:00 to 18:00 in China is 00:00 to 10:00 UTC, the stored clock
       (random() * 36000)::int AS secs,
       random() AS r_status, random() AS r_category, random() AS r_contact, random() AS r_days
FROM generate_series(1, :rows) AS g(i)
"""

STATUS = """
CASE
  WHEN current_date - r.day > 60 THEN CASE
    WHEN r.r_status < 0.86 THEN 'closed' WHEN r.r_status < 0.91 THEN 'declined'
    WHEN r.r_status < 0.93 THEN 'merged' WHEN r.r_status < 0.96 THEN 'replied'
    WHEN r.r_status < 0.98 THEN 'forwarded' WHEN r.r_status < 0.99 THEN 'reopened' ELSE 'accepted' END
  WHEN current_date - r.day > 15 THEN CASE
    WHEN r.r_status < 0.55 THEN 'closed' WHEN r.r_status < 0.60 THEN 'declined'
    WHEN r.r_status < 0.62 THEN 'merged' WHEN r.r_status < 0.75 THEN 'replied'
    WHEN r.r_status < 0.92 THEN 'forwarded' WHEN r.r_status < 0.97 THEN 'accepted'
    WHEN r.r_status < 0.98 THEN 'reopened' ELSE 'received' END
  ELSE CASE
    WHEN r.r_status < 0.25 THEN 'received' WHEN r.r_status < 0.50 THEN 'accepted'
    WHEN r.r_status < 0.80 THEN 'forwarded' WHEN r.r_status < 0.88 THEN 'replied'
    WHEN r.r_status < 0.98 THEN 'closed' ELSE 'declined' END
END
"""

# The opinions, numbered per station and local day as receipts are.
OPINIONS = f"""
INSERT INTO opinions (
  uuid, receipt_number, secret, station_code, category_code, content,
  consent_version, contact_name, contact_phone, created_at, status, public_reply,
  satisfaction, reopen_count, township_id, department_id, topic_id, merged_into_uuid,
  key_supervision, accept_due_on, close_due_on, accepted_at, closed_at, updated_at, hub_received_at
)
SELECT
  md5('bench' || o.i)::uuid::text,
  o.code || '-' || to_char(o.day, 'YYMMDD') || '-'
    || lpad((row_number() OVER (PARTITION BY o.code, o.day ORDER BY o.created, o.i))::text, 4, '0'),
  'ABCDEF', o.code, o.category, o.content,
  CASE WHEN o.r_contact < 0.3 THEN '2026-11' END,
  CASE WHEN o.r_contact < 0.3
       THEN substr('陈李黄梁林张何罗吴刘', 1 + o.i % 10, 1) || substr('伟芳敏强军勇杰明华英', 1 + o.i / 10 % 10, 1) END,
  CASE WHEN o.r_contact < 0.3 THEN '13' || lpad((o.i::bigint * 7919 % 1000000000)::text, 9, '0') END,
  o.created, o.status,
  CASE WHEN o.status = 'closed' THEN '已办结：' || o.content || '的问题已处理。'
       WHEN o.status = 'declined' THEN '不予受理：该事项不属于本镇人大办职责范围。' END,
  CASE WHEN o.status = 'closed' THEN CASE
    WHEN o.i % 100 < 70 THEN 'satisfied' WHEN o.i % 100 < 88 THEN 'basic'
    WHEN o.i % 100 < 92 THEN 'unsatisfied' END
  END,
  CASE WHEN o.status = 'reopened' THEN 1 ELSE 0 END,
  o.township_id,
  CASE WHEN o.status IN ('forwarded', 'replied', 'reopened') OR (o.status = 'closed' AND o.i % 10 < 7)
       THEN ((SELECT array_agg(id ORDER BY id) FROM departments))[1 + o.i % {len(DEPARTMENTS)}] END,
  CASE WHEN o.i % 101 = 0 THEN (SELECT min(id) FROM topics WHERE topics.township_id = o.township_id) END,
  CASE WHEN o.status = 'merged' THEN md5('bench' || (1 + o.i % :rows))::uuid::text END,
  o.i % 97 = 0,
  o.day + 2, o.day + 21,
  CASE WHEN o.status <> 'received' THEN o.created + interval '1 day' * o.r_days * 2 END,
  CASE WHEN o.status IN ('closed', 'merged') THEN o.created + interval '1 day' * (2 + o.r_days * 25)
       WHEN o.status = 'declined' THEN o.created + interval '1 day' * o.r_days END,
  CASE WHEN o.status IN ('closed', 'merged') THEN o.created + interval '1 day' * (2 + o.r_days * 25)
       WHEN o.status = 'received' THEN o.created + interval '10 minutes'
       ELSE o.created + interval '1 day' * (1 + o.r_days * 10) END,
  o.created + interval '10 minutes'
FROM (
  SELECT r.i, r.day, s.code, s.township_id,
         r.day + make_interval(secs => r.secs) AS created,
         ({STATUS}) AS status,
         ({sql_array(CATEGORY_CODES)})[1 + floor(r.r_category * {len(CATEGORY_CODES)})::int] AS category,
         ({sql_array(PHRASES)})[1 + r.i % {len(PHRASES)}] || '，'
           || ({sql_array(PHRASES)})[1 + r.i / {len(PHRASES)} % {len(PHRASES)}] || '，希望有关部门尽快处理。' AS content,
         r.r_contact, r.r_days
  FROM raw r
  JOIN (SELECT code, township_id, row_number() OVER (ORDER BY md5(code)) - 1 AS k FROM stations) s
    ON s.k = r.k
) o
"""


def generate(url: str) -> None:
    """The demo's places, departments, a topic per township, then ``ROWS`` opinions."""
    from kiosk.demo.services import load_demo

    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        app = create_app({"ROLE": "hub", "DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench"})
        with app.app_context():
            load_demo(role="hub")
            db.engine.dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        departments = [{"name": name} for name in DEPARTMENTS]
        conn.execute(sa.text("INSERT INTO departments (name, active) VALUES (:name, true)"), departments)
        conn.execute(
            sa.text(
                "INSERT INTO topics (township_id, title, created_at) "
                "SELECT id, name || '农村道路安全专题', now() AT TIME ZONE 'UTC' FROM townships"
            )
        )
        conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))  # numbering receipts sorts every row
        conn.execute(sa.text("SELECT setseed(0.2019)"))
        conn.execute(sa.text(RAW), {"stations": 236, "days": YEARS_OF_DAYS, "rows": ROWS})
        # The rows are consistent by construction; checking a million
        # foreign keys one row at a time would double the generation.
        if conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(OPINIONS), {"rows": ROWS})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    fill_rollup(url)


def fill_rollup(url: str) -> None:
    """Count the rollup's cells for every day the load listed stale, as the app's first commit would."""
    from kiosk.stats import rollup

    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        app = create_app({"ROLE": "hub", "DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench"})
        with app.app_context():
            elapsed, _ = timed(rollup.catch_up)
            cells = db.session.scalar(sa.text("SELECT count(*) FROM opinion_figures"))
            print(f"-- rollup: {cells:,} cells counted in {elapsed:.1f} s")
            db.session.execute(sa.text("ANALYZE opinion_figures"))
            db.session.commit()
            db.engine.dispose()


class StatementLog:
    """The SQL each kind of page runs, with its time, for EXPLAIN when a target is missed."""

    def __init__(self, engine):
        self.kind = None
        self.seen: dict[str, dict[tuple, list]] = defaultdict(dict)
        self.sql_seconds: dict[str, float] = defaultdict(float)
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        if self.kind is None:
            return
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.sql_seconds[self.kind] += elapsed
        entry = self.seen[self.kind].setdefault(statement, [0.0, 0, parameters])
        entry[0] += elapsed
        entry[1] += 1

    def slowest(self, kind: str, n: int = 2) -> list[tuple[float, str, object]]:
        found = [(total / n, statement, params) for statement, (total, n, params) in self.seen[kind].items()]
        return sorted(found, key=lambda item: item[0], reverse=True)[:n]


def explain(engine, log: StatementLog, kind: str) -> None:
    print(f"  -- {kind}: the slowest statements, explained")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for mean, statement, params in log.slowest(kind):
            print(f"  mean {ms(mean)}:\n    " + " ".join(statement.split())[:600])
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            for (line,) in cursor.fetchall():
                print("    " + line)
        raw.rollback()
    finally:
        raw.close()


@dataclass
class Visitors:
    """Who asks for the pages: a clerk of the busiest township, city staff, and anyone."""

    clerk: FlaskClient
    city: FlaskClient
    public: FlaskClient
    township: str
    opinions: int


def sign_in_visitors(app) -> Visitors:
    with app.app_context():
        # The clerk of the township with the most opinions: the heaviest queue.
        township_id, count = db.session.execute(
            sa.text("SELECT township_id, count(*) FROM opinions GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
        ).one()
        township = db.session.get(Township, township_id).name
        clerk = make_user(Role.TOWNSHIP, township, username=f"bench-{os.getpid()}")
        city = make_user(Role.CITY, None, username=f"bench-city-{os.getpid()}")
        clerk_client, city_client = sign_in(app.test_client(), clerk), sign_in(app.test_client(), city)
        return Visitors(clerk_client, city_client, app.test_client(), township, count)


def measure(url: str) -> None:
    """Time the pages; each request gets its own app context, session and user, as in production."""
    with tempfile.TemporaryDirectory(prefix="bench-queue-app-") as folder:
        app = create_app({"ROLE": "hub", "DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench"})
        for rule in ("staff.queue", "stats.dashboard"):
            if rule not in app.view_functions:
                print(f"  {rule} does not exist yet: nothing to time")
                return
        visitors = sign_in_visitors(app)
        print(f"-- {ROWS:,} opinions; a clerk of {visitors.township} ({visitors.opinions:,} of them)")
        with app.test_request_context():
            queue_url, dashboard_url = url_for("staff.queue"), url_for("stats.dashboard")
            open311_url = url_for("open311.service_requests")
            engine = db.engine
        log = StatementLog(engine)

        def get(kind: str, path: str, via: FlaskClient = visitors.clerk) -> float:
            global failed
            log.kind = kind
            elapsed, response = timed(via.get, path)
            log.kind = None
            if response.status_code != 200:
                failed = True
                raise SystemExit(f"{path}: {response.status_code}\n{response.get_data(as_text=True)[:1000]}")
            return elapsed

        samples: dict[str, list[float]] = defaultdict(list)
        by_view: dict[str, list[float]] = defaultdict(list)
        for round_ in range(WARM_UP + ROUNDS):
            if round_ == WARM_UP:
                log.sql_seconds.clear()
            view = QUEUE_VIEWS[round_ % len(QUEUE_VIEWS)]
            word = SEARCHES[round_ % len(SEARCHES)]
            open311_view = OPEN311_VIEWS[round_ % len(OPEN311_VIEWS)]
            taken = [
                ("queue", get("queue", f"{queue_url}?{view}")),
                ("floor", get("floor", "/healthz")),
                ("search", get("search", f"{queue_url}?text={word}")),
                ("floor", get("floor", "/healthz")),
                ("dashboard", get("dashboard", dashboard_url)),
                ("floor", get("floor", "/healthz")),
                ("open311", get("open311", f"{open311_url}?{open311_view}", visitors.public)),
            ]
            if round_ % CITY_EVERY == 0:
                taken.append(("city", get("city", dashboard_url, visitors.city)))
            if round_ >= WARM_UP:
                for name, seconds in taken:
                    samples[name].append(seconds)
                by_view[view].append(taken[0][1])
        summarise(samples, by_view, log)
        explain_misses(engine, log, samples)
        engine.dispose()


def summarise(samples: dict[str, list[float]], by_view: dict[str, list[float]], log: StatementLog) -> None:
    queue, search, dashboard, floor = (samples[k] for k in ("queue", "search", "dashboard", "floor"))
    print(f"  through the Flask app on PostgreSQL, {ROUNDS} rounds, interleaved:")
    report("floor (GET /healthz) median", ms(median(floor)))
    report("floor (GET /healthz) p95", ms(p95(floor)))
    report("queue page median", ms(median(queue)))
    sql_share(log, samples, "queue")
    report("queue page p95", ms(p95(queue)), "≤ 100 ms", p95(queue) <= QUEUE_TARGET)
    ratio("queue / floor, medians", median(queue), median(floor))
    for view, seconds in by_view.items():
        report(f"  {view} max", ms(max(seconds)))
    report("text search median", ms(median(search)))
    sql_share(log, samples, "search")
    report("text search p95", ms(p95(search)))
    ratio("text search / floor, medians", median(search), median(floor))
    report("dashboard median", ms(median(dashboard)))
    sql_share(log, samples, "dashboard")
    report("dashboard p95", ms(p95(dashboard)), "≤ 100 ms", p95(dashboard) <= DASHBOARD_TARGET)
    ratio("dashboard / floor, medians", median(dashboard), median(floor))
    ratio("dashboard / floor, p95", p95(dashboard), p95(floor))
    city = samples["city"]
    report(f"dashboard, whole city median (n={len(city)})", ms(median(city)))
    sql_share(log, samples, "city")
    report("dashboard, whole city p95", ms(p95(city)), "≤ 100 ms", p95(city) <= DASHBOARD_TARGET)
    ratio("whole city / floor, medians", median(city), median(floor))
    ratio("whole city / floor, p95", p95(city), p95(floor))
    open311 = samples["open311"]
    report("Open311 requests.json median", ms(median(open311)))
    sql_share(log, samples, "open311")
    report("Open311 requests.json p95", ms(p95(open311)))
    ratio("Open311 / floor, medians", median(open311), median(floor))


def sql_share(log: StatementLog, samples: dict[str, list[float]], kind: str) -> None:
    """Mean time in SQL per request against mean time per request: the rest is Python and templates."""
    sql, total = log.sql_seconds[kind], sum(samples[kind])
    report(f"  of which SQL, mean ({sql / total:.0%})", ms(sql / len(samples[kind])))


def explain_misses(engine, log: StatementLog, samples: dict[str, list[float]]) -> None:
    """EXPLAIN the slowest statements of each page over its target (every page's with BENCH_QUEUE_EXPLAIN)."""
    targets = {"queue": QUEUE_TARGET, "dashboard": DASHBOARD_TARGET, "city": DASHBOARD_TARGET}
    everything = bool(os.environ.get("BENCH_QUEUE_EXPLAIN"))
    for kind in ("queue", "dashboard", "city", "search", "open311"):
        if everything or (kind in targets and p95(samples[kind]) > targets[kind]):
            explain(engine, log, kind)


def main() -> int:
    given = os.environ.get("BENCH_QUEUE_DATABASE_URL")
    if given:
        measure(given)
        return 1 if failed else 0
    admin_url = os.environ.get("KIOSK_TEST_POSTGRES_URL")
    if not admin_url:
        print("KIOSK_TEST_POSTGRES_URL not set: the queue benchmark needs PostgreSQL; skipped")
        return 0
    url, _name, drop = new_postgres_database(admin_url, "kiosk_bench_queue")
    try:
        elapsed, _ = timed(generate, url)
        print(f"-- generated {ROWS:,} opinions in {elapsed:.0f} s")
        measure(url)
    finally:
        if os.environ.get("BENCH_QUEUE_KEEP"):
            print(f"kept: BENCH_QUEUE_DATABASE_URL={url}")
        else:
            drop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
