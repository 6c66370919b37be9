"""Real hub and station processes, enrolled the way an installer would."""

import sqlite3
from pathlib import Path

from kiosk.demo.services import load_demo
from kiosk.extensions import db
from tests.support.apps import make_app
from tests.support.factories import make_opinion
from tests.support.servers import ServerProcess, flask_command


def run(instance: Path, *args, env=None, ok=True):
    result = flask_command(instance, *args, env=env)
    if ok and result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    return result


def hub_box(instance: Path, database_url: str | None = None, **settings) -> ServerProcess:
    """A hub with the demo data, not yet started."""
    instance.mkdir(parents=True, exist_ok=True)
    settings = {"ROLE": "hub", **settings}
    if database_url:
        settings["DATABASE_URL"] = database_url
    read(instance, lambda: load_demo(role="hub"), **settings)
    return ServerProcess(instance, settings)


def hub_token(hub: ServerProcess, code: str) -> str:
    from kiosk.sync import registry as hub_services

    return read(hub.instance, lambda: hub_services.issue_token(code), **hub.settings)


def enrolled_station(
    instance: Path,
    hub: ServerProcess,
    code: str = "LC00",
    hub_url: str | None = None,
    cli: bool = False,
    seed: Path | None = None,
    token: str | None = None,
    **settings,
) -> ServerProcess:
    """A station box with demo data, enrolled with ``hub``; not started.

    ``cli``: load and enrol through ``flask`` commands, as an installer
    would (slower); otherwise the same services in this process, starting
    from a copy of ``seed`` (a demo station database) when given."""
    instance.mkdir(parents=True, exist_ok=True)
    settings = {"SYNC_BACKGROUND": "false", **settings}
    if seed is not None and not cli:
        with sqlite3.connect(seed) as source, sqlite3.connect(instance / "kiosk.sqlite3") as copy:
            source.backup(copy)
    if cli:
        run(instance, "demo", "load", "--station", code, env=settings)
        token = run(hub.instance, "stations", "token", code, env=hub.settings).stdout.strip().splitlines()[-1]
        run(instance, "station", "enroll", "--hub", hub_url or hub.url, "--token", token, env=settings)
    else:
        from kiosk.sync import enrolment as station_sync

        token = token or hub_token(hub, code)

        def load_and_enrol():
            if seed is None or code != "LC00":
                load_demo(code)
            station_sync.enroll(hub_url or hub.url, token)

        read(instance, load_and_enrol, **settings)
    return ServerProcess(instance, settings)


def submit_opinions(instance: Path, n: int, code: str = "LC00", contact: bool = True) -> list[str]:
    """Opinions made by the intake service in the station's own database."""
    app = make_app(instance)
    with app.app_context():
        uuids = []
        for i in range(n):
            answers = {"content": f"第{i}条：村口的路灯坏了三个月，晚上很黑。"}
            if contact and i % 2 == 0:
                answers.update(anonymous=False, name="陈大文", phone="13800000000", consent_version="2026-11")
            uuids.append(make_opinion(code, **answers).uuid)
        db.engine.dispose()
    return uuids


def read(instance: Path, fn, **settings):
    """Run ``fn()`` in an app context on a box's database (hub or station)."""
    settings = {k.removeprefix("KIOSK_"): v for k, v in settings.items() if k.removeprefix("KIOSK_") in ("ROLE", "DATABASE_URL", "SYNC_CA_FILE")}
    app = make_app(instance, **settings)
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()
            db.engine.dispose()


CONTENT_CHARS = "村口道路灯坏了三个月晚上很黑老人小孩出行不便希望尽快修好水渠堵塞农田灌溉困难垃圾清运不及时环境卫生差学校门口交通拥堵医疗报销手续复杂"


def bulk_opinions(instance: Path, n: int, code: str = "LC00", days: int = 14, seed: int = 1) -> None:
    """``n`` opinions of about 100 Chinese characters, half with contact
    details, spread over ``days`` days, written straight into a station's
    database with their receipt counters (a backlog, quickly)."""
    import random
    import uuid as uuidlib
    from datetime import timedelta

    from kiosk.receipts.numbers import format_receipt_number, make_secret
    from kiosk.clock import to_local
    from kiosk.models import Opinion, OpinionEvent, ReceiptCounter, utcnow

    rng = random.Random(seed)
    app = make_app(instance)
    with app.app_context():
        start = utcnow() - timedelta(days=days)
        serials: dict[str, int] = {}
        rows, events = [], []
        for i in range(n):
            created = start + timedelta(seconds=i * days * 86400 / max(n, 1))
            day = to_local(created).strftime("%y%m%d")
            serials[day] = serials.get(day, 0) + 1
            contact = i % 2 == 0
            uuid = str(uuidlib.UUID(int=rng.getrandbits(128), version=4))
            rows.append(
                {
                    "uuid": uuid,
                    "receipt_number": format_receipt_number(code, day, serials[day]),
                    "secret": make_secret(),
                    "station_code": code,
                    "category_code": rng.choice(["road", "water", "environment", "other"]),
                    "content": "".join(rng.choice(CONTENT_CHARS) for _ in range(100)),
                    "deputy_id": None,
                    "consent_version": "2026-11" if contact else None,
                    "contact_name": "陈大文" if contact else None,
                    "contact_phone": f"138{rng.randrange(10**8):08d}" if contact else None,
                    "created_at": created,
                    "status": "submitted",
                }
            )
            events.append({"opinion_uuid": uuid, "status": "submitted", "at": created})
        db.session.execute(db.insert(Opinion), rows)
        db.session.execute(db.insert(OpinionEvent), events)
        for day, serial in serials.items():
            db.session.add(ReceiptCounter(station_code=code, day=day, last_serial=serial))
        db.session.commit()
        db.engine.dispose()


def new_postgres_database(admin_url: str, prefix: str = "kiosk_sync", template: str | None = None):
    """A new PostgreSQL database (a copy of ``template`` if given): its URL, its name and a function dropping it."""
    import uuid

    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False), name, drop
