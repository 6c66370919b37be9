"""Deputy file benchmarks: the public 履职档案 and the city table of every deputy.

A hub on SQLite with the demo's 1,221 deputies and a year of records
(2019): the Luoding opinions and deputies' work from ``demo history``,
each opinion addressed to one of its station's deputies, and for every
deputy a monthly duty shift, a check-in on most of them and a reception
entry on each check-in. Timed in-process, each request its own app context
as in production, interleaved with the floor (GET /healthz, the bare route):

- the public file of the busiest deputy (/d/<public_id>/file?year=2019),
- the city table of all 1,221 deputies (/staff/work/deputies?year=2019,
  sorted by activities), as city staff.

Prints medians, p95 and their ratios to the floor; exits non-zero only when
the product errors. Settings (environment): BENCH_FILE_ROUNDS (default 40).
"""

import os
import random
import sys
import tempfile
import uuid
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select, update  # noqa: E402

from common import median, ms, p95, ratio, report, timed  # noqa: E402
from kiosk.demo.history import load_history  # noqa: E402
from kiosk.demo.services import load_demo  # noqa: E402
from kiosk.demo.work import load_work  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Deputy, DutyCheckin, DutyShift, Opinion, ReceptionEntry, Role, Station, activity_deputies  # noqa: E402
from kiosk.sync.records import insert_many, naive_utc  # noqa: E402
from tests.support.apps import make_app  # noqa: E402
from tests.support.factories import make_user, sign_in  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_FILE_ROUNDS", "40"))
WARM_UP = 3
YEAR = 2019
LOCAL = ZoneInfo("Asia/Shanghai")


def a_year_of_duty(rng: random.Random) -> int:
    """Every deputy on duty once a month at their first station; most shifts attended and logged."""
    shifts, checkins, entries = [], [], []
    for deputy_id, code in db.session.execute(
        select(Deputy.id, func.min(Station.code)).join(Deputy.stations).group_by(Deputy.id)
    ):
        for month in range(1, 13):
            day = date(YEAR, month, rng.randrange(1, 28))
            shifts.append({"station_code": code, "deputy_id": deputy_id, "on": day})
            if rng.random() < 0.85:
                moment = datetime.combine(day, time(9), tzinfo=LOCAL).astimezone(timezone.utc)
                checkin = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                checkins.append({"uuid": checkin, "station_code": code, "deputy_id": deputy_id,
                                 "created_at": naive_utc(moment), "hub_received_at": naive_utc(moment)})  # fmt: skip
                entries.append({"uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "checkin_uuid": checkin,
                                "people": rng.randrange(1, 9), "created_at": naive_utc(moment + timedelta(hours=1)),
                                "hub_received_at": naive_utc(moment + timedelta(hours=1))})  # fmt: skip
    db.session.execute(DutyShift.__table__.insert(), shifts)
    insert_many(DutyCheckin.__table__, checkins)
    insert_many(ReceptionEntry.__table__, entries)
    return len(shifts)


def address_opinions(rng: random.Random) -> None:
    """Each demo opinion addressed to one of its station's deputies, as constituents choose at the kiosk."""
    deputies: dict[str, list[int]] = {}
    for code, deputy_id in db.session.execute(select(Station.code, Deputy.id).join(Station.deputies)):
        deputies.setdefault(code, []).append(deputy_id)
    for opinion_uuid, code in db.session.execute(select(Opinion.uuid, Opinion.station_code)).all():
        if deputies.get(code):
            db.session.execute(update(Opinion).where(Opinion.uuid == opinion_uuid).values(deputy_id=rng.choice(deputies[code])))


def main() -> None:
    rng = random.Random(YEAR)
    with tempfile.TemporaryDirectory(prefix="bench-file-") as folder:
        app = make_app(Path(folder), ROLE="hub")
        with app.app_context():
            load_demo(role="hub")
            load_history(YEAR)
            load_work(YEAR)
            shifts = a_year_of_duty(rng)
            address_opinions(rng)
            db.session.commit()
            busiest = db.session.scalar(
                select(Deputy.public_id).join(activity_deputies, activity_deputies.c.deputy_id == Deputy.id)
                .group_by(Deputy.id).order_by(func.count().desc(), Deputy.id).limit(1)
            )  # fmt: skip
            city_id = make_user(Role.CITY, username="bench-city").id
        print(f"-- 1,221 deputies, {YEAR}: {shifts:,} duty shifts, the Luoding opinions and deputies' work")
        client = sign_in(app.test_client(), SimpleNamespace(id=city_id))
        public = app.test_client()
        failed = False

        def get(via, path: str) -> float:
            nonlocal failed
            elapsed, response = timed(via.get, path)
            if response.status_code != 200:
                failed = True
                raise SystemExit(f"{path}: {response.status_code}\n{response.get_data(as_text=True)[:1000]}")
            return elapsed

        samples: dict[str, list[float]] = {"file": [], "table": [], "floor": []}
        for round_ in range(WARM_UP + ROUNDS):
            taken = [
                ("file", get(public, f"/d/{busiest}/file?year={YEAR}")),
                ("floor", get(public, "/healthz")),
                ("table", get(client, f"/staff/work/deputies?year={YEAR}&sort=activities")),
                ("floor", get(public, "/healthz")),
            ]
            if round_ >= WARM_UP:
                for name, seconds in taken:
                    samples[name].append(seconds)
        floor, file, table = samples["floor"], samples["file"], samples["table"]
        report("floor (GET /healthz) median", ms(median(floor)))
        report("floor (GET /healthz) p95", ms(p95(floor)))
        report("public file median", ms(median(file)))
        report("public file p95", ms(p95(file)))
        ratio("public file / floor, medians", median(file), median(floor))
        ratio("public file / floor, p95", p95(file), p95(floor))
        report("city table (1,221) median", ms(median(table)))
        report("city table (1,221) p95", ms(p95(table)))
        ratio("city table / floor, medians", median(table), median(floor))
        ratio("city table / floor, p95", p95(table), p95(floor))
        with app.app_context():
            db.engine.dispose()
        if failed:
            sys.exit(1)


if __name__ == "__main__":
    main()
