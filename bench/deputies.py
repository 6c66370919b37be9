"""Deputy directory benchmarks.

1. ``deputies import`` of 1,221 deputies (Luoding's town deputies, as the
   demo spreads them over the 21 townships and their stations) with a photo
   each (generated portraits, 720x960 JPEG with EXIF), into a hub on SQLite
   with no deputies yet: the median of a few runs, each on a fresh copy of
   the hub. Floors measured in the same run: reading the spreadsheet alone,
   and reading it plus preparing every photo (decode, resize, strip), the
   work no import can skip. The ratio of the import to the second floor is
   the figure to compare between machines.
2. The pull that carries its deputies (with their photos) and duty roster
   to a fresh station just enrolled: bytes on the wire and time, for the
   station with the most deputies; then a second pull after one deputy's
   public phone changed, which must not carry the photos again.

Prints figures; exits non-zero only when the product errors.

Settings (environment): BENCH_DEPUTIES_ROUNDS, how many imports to time
(default 3); BENCH_DEPUTIES_COUNT (default 1,221).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import delete, func, select  # noqa: E402

from common import median, ms, ratio, report, timed  # noqa: E402
from kiosk.deputies import photos, services, sheets  # noqa: E402
from kiosk.demo import data as demo_data  # noqa: E402
from kiosk.demo.services import load_demo  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.models import Deputy, Station, station_deputies  # noqa: E402
from kiosk.sync import enrolment  # noqa: E402
from kiosk.sync import registry as hub_services  # noqa: E402
from kiosk.sync import station as station_sync  # noqa: E402
from tests.support.apps import copy_database, make_app  # noqa: E402
from tests.support.deputies import csv_bytes, portrait, row  # noqa: E402
from tests.support.inprocess import AppTransport  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_DEPUTIES_ROUNDS", "3"))
COUNT = int(os.environ.get("BENCH_DEPUTIES_COUNT", str(demo_data.DEPUTY_COUNT)))
KINDS = dict((name, kind) for name, kind, _prefix in demo_data.TOWNSHIPS)


def spreadsheet(folder: Path) -> tuple[bytes, Path]:
    """The directory as a township office's CSV, and a folder of one photo per deputy."""
    pictures = folder / "photos"
    pictures.mkdir()
    rows = []
    for n, deputy in enumerate(demo_data.deputies(demo_data.stations())[:COUNT]):
        mobile = f"139{n:08d}"
        # A 街道 has no congress of its own: its deputies sit in the city's.
        level = "罗定市" if KINDS[deputy.township] == "街道" else "镇"
        rows.append(row(deputy.name, deputy.township, level=level, occupation=deputy.occupation, mobile=mobile,
                        public_phone=f"0766-38{n:05d}", stations="、".join(deputy.station_codes)))  # fmt: skip
        (pictures / f"{deputy.name}-{mobile[-4:]}.jpg").write_bytes(portrait(n, size=(720, 960)))
    return csv_bytes(rows, "utf-8-sig"), pictures


def empty_hub(folder: Path) -> Path:
    """A migrated hub database with the demo's townships, stations and categories, and no deputies."""
    hub = make_app(folder, ROLE="hub")
    with hub.app_context():
        load_demo(role="hub")
        db.session.execute(delete(station_deputies))
        db.session.execute(delete(Deputy))
        db.session.commit()
        db.engine.dispose()
    return folder / "kiosk.sqlite3"


def import_once(seed: Path, folder: Path, data: bytes, pictures: Path):
    instance = copy_database(seed, folder)
    hub = make_app(instance, ROLE="hub", AUTO_MIGRATE=False)
    with hub.app_context():
        seconds, result = timed(services.import_file, data, services.photo_files(pictures))
        db.engine.dispose()
    return seconds, result, hub


def floors(data: bytes, pictures: Path) -> tuple[float, float]:
    parse, _sheet = timed(sheets.read, data)
    prepare, _done = timed(lambda: [photos.prepare(p.read_bytes()) for p in sorted(pictures.iterdir())])
    return parse, parse + prepare


def pull_to_a_fresh_station(hub, folder: Path) -> None:
    with hub.app_context():
        code, held = db.session.execute(
            select(station_deputies.c.station_code, func.count())
            .group_by(station_deputies.c.station_code)
            .order_by(func.count().desc(), station_deputies.c.station_code)
            .limit(1)
        ).one()
        token = hub_services.issue_token(code)
    received = []
    transport = AppTransport(hub, after=lambda reply: received.append(len(reply.body)))
    station = make_app(folder / "station", ROLE="station", SYNC_BACKGROUND=False)
    with station.app_context():
        enrolment.enroll("http://hub.test", token, transport=transport)
        transport.sent.clear()
        received.clear()
        seconds, result = timed(station_sync.sync_once, transport=transport)
        if not result.ok:
            raise SystemExit(f"the pull failed: {result.error}")
        shown = len(db.session.get(Station, code).deputies)
        sent = sum(size for _path, size in transport.sent)
        report(f"pull to a fresh station {code}", f"{shown} deputies", f"{held} attached", shown == held)
        report("  time (push + pull)", ms(seconds))
        report("  bytes received", f"{sum(received):,}")
        report("  bytes sent", f"{sent:,}")
        report("  per deputy", f"{sum(received) // max(shown, 1):,} B")
    with hub.app_context():
        deputy = db.session.get(Station, code).deputies[0]
        deputy.public_phone = "0766-3899999"
        db.session.commit()
    with station.app_context():
        received.clear()
        seconds, result = timed(station_sync.sync_once, transport=transport)
        answer_bytes = sum(received)
        report("second pull, one phone changed", f"{answer_bytes:,} B", "no photo again", answer_bytes < 20_000)
        report("  time", ms(seconds))
        db.engine.dispose()


def main() -> None:
    print(f"deputies: import of {COUNT:,} with photos, {ROUNDS} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, pictures = spreadsheet(tmp)
        seed = empty_hub(tmp / "seed")
        times, parse_floors, prepare_floors = [], [], []
        hub = None
        for n in range(ROUNDS):
            folder = tmp / f"hub-{n}"
            seconds, result, hub = import_once(seed, folder, data, pictures)
            if result.refused or result.added != COUNT:
                raise SystemExit(f"the import refused rows: {result.lines()[:5]}")
            parse, prepare = floors(data, pictures)
            times.append(seconds)
            parse_floors.append(parse)
            prepare_floors.append(prepare)
            if n < ROUNDS - 1:
                shutil.rmtree(folder)
        report("import (median)", ms(median(times)))
        report("floor: read the spreadsheet", ms(median(parse_floors)))
        report("floor: read it + prepare photos", ms(median(prepare_floors)))
        ratio("import / (read + photos)", median(times), median(prepare_floors))
        report("  per deputy", ms(median(times) / COUNT))
        with hub.app_context():
            again = services.import_file(data, services.photo_files(pictures))
            report("re-import", again.summary, f"0 added, 0 updated, {COUNT} unchanged",
                   (again.added, again.updated) == (0, 0))  # fmt: skip
        pull_to_a_fresh_station(hub, tmp)


if __name__ == "__main__":
    main()
