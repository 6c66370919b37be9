"""Loading the demo data into the database, idempotently."""

import logging

from sqlalchemy import delete, select, text

from ..extensions import db
from ..models import (
    TOWNSHIP_LEVEL,
    BoxIdentity,
    Category,
    Department,
    Deputy,
    Station,
    StationLevel,
    Township,
    station_deputies,
)
from . import data

log = logging.getLogger(__name__)

COUNTY_LEVEL = "罗定市"


def load_demo(station_code: str | None = None, role: str = "station") -> dict[str, int]:
    """Insert or update every demo row by its natural key; return counts.

    On a station box, also make this box ``station_code`` (default: the
    first township's centre station).
    """
    townships = _load_townships()
    _load_categories()
    demo_stations = data.stations()
    for s in demo_stations:
        db.session.merge(
            Station(code=s.code, name=s.name, level=s.level, township_id=townships[s.township].id)
        )
    demo_deputies = data.deputies(demo_stations)
    for d in demo_deputies:
        township = townships[d.township]
        # A 街道 has no congress of its own: its deputies sit in the city's.
        level = COUNTY_LEVEL if township.is_subdistrict else TOWNSHIP_LEVEL
        db.session.merge(
            Deputy(id=d.id, name=d.name, township_id=township.id, occupation=d.occupation, level=level)
        )
    db.session.flush()
    departments = _load_township_departments(townships, demo_stations)
    ids = [d.id for d in demo_deputies]
    db.session.execute(delete(station_deputies).where(station_deputies.c.deputy_id.in_(ids)))
    db.session.execute(
        station_deputies.insert(),
        [{"station_code": code, "deputy_id": d.id} for d in demo_deputies for code in d.station_codes],
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # The demo's ids are given, not drawn: move the counter past them, so the
        # next deputy staff add or import gets a free one.
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('deputies', 'id'), (SELECT max(id) FROM deputies))"))
    if role == "station":
        code = station_code or demo_stations[0].code
        if db.session.get(Station, code) is None:
            raise ValueError(f"no demo station has the code {code}")
        db.session.merge(BoxIdentity(id=1, station_code=code))
    db.session.commit()
    log.info("demo data loaded")
    return {
        "townships": len(townships),
        "stations": len(demo_stations),
        "deputies": len(demo_deputies),
        "categories": len(data.CATEGORIES),
        "township departments": departments,
    }


def _load_township_departments(townships: dict[str, Township], demo_stations) -> int:
    """Each township's own departments, by township and name (a name is unique there)."""
    existing = {(d.township_id, d.name): d for d in db.session.scalars(select(Department).where(Department.township_id.is_not(None)))}
    made = data.township_departments(demo_stations)
    for item in made:
        township_id = townships[item.township].id
        department = existing.get((township_id, item.name)) or Department(township_id=township_id, name=item.name, active=True)
        department.contact_person, department.contact_phone = item.contact_person, item.contact_phone
        db.session.add(department)
    return len(made)


def _load_townships() -> dict[str, Township]:
    existing = {t.name: t for t in db.session.scalars(select(Township))}
    for index, (name, kind, _prefix) in enumerate(data.TOWNSHIPS):
        township = existing.get(name) or Township(name=name)
        township.kind = kind
        township.office_phone = data.office_phone(index)
        db.session.add(township)
        existing[name] = township
    db.session.flush()
    return existing


def _load_categories() -> None:
    for position, (code, name, icon, days) in enumerate(data.CATEGORIES):
        db.session.merge(Category(code=code, name=name, icon=icon, position=position, active=True, answer_days=days))


def load_online_stations() -> int:
    """Each demo township's online station (its phone opinions' numbers), code <prefix>WS; safe to repeat.

    Kept out of ``load_demo``: the demo network is the Luoding report's 236
    stations with boxes, and a hub that has not opened phone opinions has none.
    """
    added = 0
    for name, _kind, prefix in data.TOWNSHIPS:
        township = db.session.scalar(select(Township).where(Township.name == name))
        if township is None or db.session.scalar(
            select(Station.code).where(Station.township_id == township.id, Station.level == StationLevel.ONLINE)
        ):
            continue
        db.session.add(Station(code=f"{prefix}WS", name=f"{name}人大代表网上联络站", level=StationLevel.ONLINE, township_id=township.id))
        added += 1
    db.session.commit()
    log.info("demo online stations: %d added", added)
    return added
